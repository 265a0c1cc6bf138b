"""``backend serve``: the reference backend (dossiers, catalogue, bookings, payments, content, fleet).

Its own module so that a server process imports the backend, the contracts and the config, and nothing of the
kiosk (``tests/test_server_imports.py`` checks the running process).

Secrets come from the environment or from files (``contracts.secrets``), never from defaults: the admin, kiosk and
report tokens configured at a start are the only configured ones (a token taken out stops working), and without a
payment secret or a bank account the payment routes refuse and the server says so here, at start.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import uvicorn

from backend.app import BackendSettings, create_app
from backend.server import open_store
from contracts.content.signing import KeyFileError, load_public_keys, load_signing_key
from contracts.secrets import SecretError, secret, secret_list
from kiosk.cli import EXIT_CONFIG
from kiosk.cli.db_path import DbPathError, sqlite_path
from kiosk.cli.tls import TlsError, tls_options

DEFAULT_DB = Path("backend-data/backend.db")  # created when missing, unlike the directory of a --db
CONFIGURED_KIOSK = "cli"  # the kiosk id of tokens from BACKEND_KIOSK_TOKEN / --kiosk-token(-file)


def _secrets(args: argparse.Namespace) -> tuple[list[str], list[str], list[str], str | None]:
    """(admin tokens, kiosk tokens, report tokens, payment secret); the development flags add to the environment's."""
    admin = secret_list("BACKEND_ADMIN_TOKEN", args.admin_token_file) + ([args.admin_token] if args.admin_token else [])
    kiosk = secret_list("BACKEND_KIOSK_TOKEN", args.kiosk_token_file) + ([args.kiosk_token] if args.kiosk_token else [])
    report = secret_list("BACKEND_REPORT_TOKEN", args.report_token_file)
    if set(report) & set(admin + kiosk):  # the store keeps one role per token: it would silently change roles
        raise SecretError("a BACKEND_REPORT_TOKEN is also an admin or kiosk token: give reports their own token")
    return admin, kiosk, report, secret("BACKEND_PAYMENT_SECRET", args.payment_secret_file)


def _bank(args: argparse.Namespace) -> tuple[str | None, str | None]:
    bank_bin = args.bank_bin or os.environ.get("BACKEND_BANK_BIN", "").strip() or None
    account = args.bank_account or os.environ.get("BACKEND_BANK_ACCOUNT", "").strip() or None
    return bank_bin, account


def run_serve(args: argparse.Namespace) -> int:
    try:
        signing_key = load_signing_key(args.signing_key) if args.signing_key else None
        trusted_keys = load_public_keys(args.trusted_key, "BACKEND_CONTENT_TRUSTED_KEYS")
        admin, kiosk, report, payment_secret = _secrets(args)
        ssl = tls_options(args)
        db = sqlite_path(args.db) if args.db else DEFAULT_DB
    except (KeyFileError, SecretError, TlsError, DbPathError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    bank_bin, account = _bank(args)
    if bool(bank_bin) != bool(account):
        print("give both the bank BIN and the account (--bank-bin/--bank-account or BACKEND_BANK_BIN/"
              "BACKEND_BANK_ACCOUNT)", file=sys.stderr)
        return EXIT_CONFIG
    store = open_store(db)
    store.replace_tokens("admin", None, admin)
    store.replace_tokens("kiosk", CONFIGURED_KIOSK, kiosk)
    store.replace_tokens("report", None, report)
    scheme = "https" if ssl else "http"
    print(f"Reference backend on {scheme}://{args.host}:{args.port} (OpenAPI: /openapi.json), data: {db}",
          file=sys.stderr)
    for missing, effect in ((not admin, "BACKEND_ADMIN_TOKEN is not set: the admin pages and API refuse everyone"),
                            (not report, "BACKEND_REPORT_TOKEN is not set: only an admin token reads the survey "
                                         "reports"),
                            (payment_secret is None, "BACKEND_PAYMENT_SECRET is not set: bank payment callbacks "
                                                     "are refused"),
                            (account is None, "BACKEND_BANK_ACCOUNT is not set: payments not configured, kiosks "
                                              "get no fee QR code")):
        if missing:
            print(effect, file=sys.stderr)
    settings = BackendSettings.beside(db, signing_key=signing_key, trusted_keys=trusted_keys,
                                      payment_secret=payment_secret,
                                      bank_bin=bank_bin, bank_account=account,
                                      lookups_per_token_per_min=args.lookup_rate_per_token,
                                      lookups_per_address_per_min=args.lookup_rate_per_address)
    uvicorn.run(create_app(store, settings), host=args.host, port=args.port, log_level="warning", **ssl)
    return 0
