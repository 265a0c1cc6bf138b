"""HTTPS to the site's own servers: trust the site CA named in the config (``backend.ca_file``, ``queue.ca_file``).

A centre's backend and branch queue server usually carry certificates from a local CA (docs/operations.md), which
no system trust store knows. The kiosk trusts that CA for that server only, and names the fix when the
certificate is not trusted instead of reporting a bare connection error.

Every kiosk HTTP client (backend, content sync, heartbeat, branch queue) is made by :func:`client`, whose TLS
context comes from one cache: a context loads its whole CA set (certifi's bundle by default, ~0.6 MiB of RSS each),
and httpx would build one per client. Clients that trust the same CA file (and present the same client
certificate) share one :class:`ssl.SSLContext`; a CA file replaced on disk gets a fresh one.
"""

from __future__ import annotations

import ssl
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx

ClientCert = tuple[Path, Path]  # (certificate chain PEM, private key PEM)


def ssl_context(ca_file: Path | None = None, client_cert: ClientCert | None = None) -> ssl.SSLContext:
    """The shared context that trusts only ``ca_file`` (None: httpx's default CAs) and presents ``client_cert``.

    :raises OSError, ssl.SSLError: a file that is missing or not PEM (as ``ssl`` itself would).
    """
    mtime = ca_file.stat().st_mtime_ns if ca_file else None
    cert = (str(client_cert[0]), str(client_cert[1])) if client_cert else None
    return _context(str(ca_file) if ca_file else None, mtime, cert)


@lru_cache(maxsize=8)  # the kiosk uses one or two; a few more only when CA files are replaced while it runs
def _context(ca_file: str | None, _mtime_ns: int | None, client_cert: tuple[str, str] | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_file) if ca_file else httpx.create_ssl_context()
    if client_cert:
        context.load_cert_chain(*client_cert)
    return context


def transport_for(ca_file: Path | None, client_cert: ClientCert | None = None) -> httpx.HTTPTransport:
    """A transport on the shared context for ``ca_file`` (None: the default CAs); one per client (closing a client
    closes its transport), the context under it shared."""
    return httpx.HTTPTransport(verify=ssl_context(ca_file, client_cert))


def client(*, transport: httpx.BaseTransport | None = None, **settings: Any) -> httpx.Client:
    """An ``httpx.Client`` with ``settings``, on ``transport`` or else on the shared default context."""
    return httpx.Client(transport=transport or transport_for(None), **settings)


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
