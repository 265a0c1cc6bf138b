"""``--certfile/--keyfile`` of ``backend serve`` and ``queue serve``: uvicorn's own TLS, checked before it starts.

Both flags or neither; the private key must not be exposed to other users (``contracts.secrets.exposure``), and a
certificate uvicorn cannot load is reported in one line instead of a traceback.
"""

from __future__ import annotations

import argparse
import ssl
from pathlib import Path

from contracts.secrets import exposure


class TlsError(Exception):
    """The TLS flags cannot be used; the message says what to fix."""


def add_tls_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--certfile", type=Path, metavar="PEM", help="serve HTTPS with this certificate (chain)")
    parser.add_argument("--keyfile", type=Path, metavar="PEM", help="the certificate's private key (mode 0600)")


def tls_options(args: argparse.Namespace) -> dict[str, str]:
    """uvicorn's ``ssl_certfile``/``ssl_keyfile`` from the flags, or {} for plain HTTP.

    :raises TlsError: one flag without the other, an exposed key, or files that do not make a certificate pair.
    """
    if args.certfile is None and args.keyfile is None:
        return {}
    if args.certfile is None or args.keyfile is None:
        raise TlsError("--certfile and --keyfile go together: give both for HTTPS, or neither")
    try:
        exposed = exposure(args.keyfile)
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(args.certfile, args.keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise TlsError(f"cannot use {args.certfile} with {args.keyfile}: {getattr(exc, 'strerror', None) or exc}") \
            from None
    if exposed:
        raise TlsError(f"{args.keyfile} is {exposed}: run `chmod 600 {args.keyfile}`")
    return {"ssl_certfile": str(args.certfile), "ssl_keyfile": str(args.keyfile)}
