"""HTTPS to the site's own servers: trust the site CA named in the config (``backend.ca_file``, ``queue.ca_file``).

A centre's backend and branch queue server usually carry certificates from a local CA (docs/operations.md), which
no system trust store knows. The kiosk trusts that CA for that server only, and names the fix when the
certificate is not trusted instead of reporting a bare connection error.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx


def transport_for(ca_file: Path | None) -> httpx.HTTPTransport | None:
    """A transport that trusts only the CA certificates in ``ca_file``; None keeps httpx's default (system CAs)."""
    return httpx.HTTPTransport(verify=ssl.create_default_context(cafile=str(ca_file))) if ca_file else None


def untrusted_certificate(exc: BaseException) -> bool:
    """Whether a connection failed because the server's certificate did not verify."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def untrusted_message(url: str, key: str) -> str:
    """The one-line fix for an untrusted certificate, ``key`` being the config key of the CA file."""
    return f"{url}: its TLS certificate is not trusted; set {key} to the site CA's certificate (PEM)"
