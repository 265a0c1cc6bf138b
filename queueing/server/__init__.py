"""The branch queue server: one queue on the LAN for a centre's kiosks, counter pages, display boards and phones.

``app.create_app`` builds the Starlette app over a ``QueueEngine``; ``backend.server.serve_in_thread`` runs it on a
thread (tests, benchmarks); ``python main.py queue serve`` runs it standalone. ``wire`` is the JSON format kiosks share.
"""

from queueing.server.app import create_app

__all__ = ["create_app"]
