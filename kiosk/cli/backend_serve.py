"""``backend serve``: the reference backend (dossiers, catalogue, bookings, payments, content, fleet).

Its own module so that a server process imports the backend, the contracts and the config, and nothing of the
kiosk (``tests/test_server_imports.py`` checks the running process).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import uvicorn

from backend.app import BackendSettings, create_app
from backend.server import open_store
from contracts.content.signing import KeyFileError, load_signing_key
from kiosk.cli import EXIT_CONFIG


def run_serve(args: argparse.Namespace) -> int:
    try:
        signing_key = load_signing_key(args.signing_key) if args.signing_key else None
    except KeyFileError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    store = open_store(Path(args.db))
    if args.kiosk_token:
        store.add_token("kiosk", "cli", args.kiosk_token)
    if args.admin_token:
        store.add_token("admin", None, args.admin_token)
    print(f"Reference backend on http://{args.host}:{args.port} (OpenAPI: /openapi.json), data: {args.db}",
          file=sys.stderr)
    payment_secret = os.environ.get("BACKEND_PAYMENT_SECRET") or None
    if payment_secret is None:
        print("BACKEND_PAYMENT_SECRET is not set: bank payment callbacks are refused", file=sys.stderr)
    settings = BackendSettings.beside(Path(args.db), signing_key=signing_key, payment_secret=payment_secret)
    uvicorn.run(create_app(store, settings), host=args.host, port=args.port, log_level="warning")
    return 0
