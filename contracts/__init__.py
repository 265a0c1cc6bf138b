"""What the kiosk, the backend and the branch queue server agree on: formats, limits and shared rules.

Every module here is a contract between two sides (a bundle the backend signs and the kiosk verifies, a form the
kiosk fills and the backend checks, a heartbeat the kiosk sends and the backend caps), so both sides import the
same code instead of copies that drift apart. Modules here import only the standard library, third-party
libraries and :mod:`config`; never kiosk/, screens/, devices/, queueing/ or backend/ (see docs/architecture.md).
"""
