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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.app import BackendSettings, create_app
from backend.server import open_store
from backend.store import BackendStore
from contracts.content.signing import KeyFileError, load_public_keys, load_signing_key
from contracts.secrets import SecretError, secret, secret_list
from contracts.sms import SIM_DIR_NAME, SmsGateway, gateway_from_options
from contracts.sqldb import DatabaseTargetError, StoreUnavailable, is_url, open_database
from kiosk.cli import EXIT_CONFIG
from kiosk.cli.serving import check_workers, database_target, run
from kiosk.cli.tls import TlsError, tls_options

DEFAULT_DB = Path("backend-data/backend.db")  # created when missing, unlike the directory of a --db
DATABASE_ENV = "BACKEND_DATABASE_URL"
CONFIGURED_KIOSK = "cli"  # the kiosk id of tokens from BACKEND_KIOSK_TOKEN / --kiosk-token(-file)


class BankError(ValueError):
    pass


@dataclass(frozen=True)
class Startup:
    """Everything ``backend serve`` reads from its arguments, environment and files, checked."""

    target: str | Path
    default_location: bool  # the built-in default file, whose directory may be created
    admin: list[str]
    kiosk: list[str]
    report: list[str]
    settings: BackendSettings
    ssl: dict[str, Any]


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
    if bool(bank_bin) != bool(account):
        raise BankError("give both the bank BIN and the account (--bank-bin/--bank-account or BACKEND_BANK_BIN/"
                        "BACKEND_BANK_ACCOUNT)")
    return bank_bin, account


def _sms_gateway(args: argparse.Namespace, target: str | Path) -> SmsGateway:
    """The status SMS gateway of ``--sms-url``; without it the simulator, spooling beside the SQLite file (or in
    the default data directory for a PostgreSQL database).

    :raises contracts.sms.SmsConfigError: (a SecretError) a bad URL or a missing key.
    """
    data_dir = DEFAULT_DB.parent if is_url(target) else Path(target).parent
    return gateway_from_options(args.sms_url, data_dir / SIM_DIR_NAME, key_file=args.sms_key_file)


def _startup(args: argparse.Namespace) -> Startup:
    """:raises KeyFileError, SecretError, TlsError, BankError, DatabaseTargetError: the one line to print."""
    signing_key = load_signing_key(args.signing_key) if args.signing_key else None
    trusted_keys = load_public_keys(args.trusted_key, "BACKEND_CONTENT_TRUSTED_KEYS")
    admin, kiosk, report, payment_secret = _secrets(args)
    ssl = tls_options(args)
    target, default_location = database_target(args, DATABASE_ENV, DEFAULT_DB)
    check_workers(args.workers, target)
    bank_bin, account = _bank(args)
    settings = BackendSettings.beside(target, signing_key=signing_key, trusted_keys=trusted_keys,
                                      payment_secret=payment_secret, bank_bin=bank_bin, bank_account=account,
                                      sms=_sms_gateway(args, target),
                                      lookups_per_token_per_min=args.lookup_rate_per_token,
                                      lookups_per_address_per_min=args.lookup_rate_per_address)
    return Startup(target, default_location, admin, kiosk, report, settings, ssl)


def run_serve(args: argparse.Namespace) -> int:
    """Check everything, migrate and seed the database and set its tokens once, then serve (``--workers``
    processes each build the app with :func:`build_app`)."""
    try:
        startup = _startup(args)
        store = open_store(startup.target, create_dir=startup.default_location)
    except (KeyFileError, SecretError, TlsError, BankError, DatabaseTargetError, StoreUnavailable) as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    try:
        store.replace_tokens("admin", None, startup.admin)
        store.replace_tokens("kiosk", CONFIGURED_KIOSK, startup.kiosk)
        store.replace_tokens("report", None, startup.report)
        where = store.db.describe()
    finally:
        store.close()
    scheme = "https" if startup.ssl else "http"
    processes = f", {args.workers} processes" if args.workers > 1 else ""
    print(f"Reference backend on {scheme}://{args.host}:{args.port} (OpenAPI: /openapi.json), data: {where}"
          f"{processes}", file=sys.stderr)
    settings = startup.settings
    print(f"Status SMS: {settings.sms}", file=sys.stderr)
    for missing, effect in ((not startup.admin, "BACKEND_ADMIN_TOKEN is not set: the admin pages and API refuse "
                                                "everyone"),
                            (not startup.report, "BACKEND_REPORT_TOKEN is not set: only an admin token reads the "
                                                 "survey reports or sends branch figures"),
                            (settings.payment_secret is None, "BACKEND_PAYMENT_SECRET is not set: bank payment "
                                                              "callbacks are refused"),
                            (settings.bank_account is None, "BACKEND_BANK_ACCOUNT is not set: payments not "
                                                            "configured, kiosks get no fee QR code")):
        if missing:
            print(effect, file=sys.stderr)
    run("kiosk.cli.backend_serve:build_app", args, **startup.ssl)
    return 0


def build_app(args: argparse.Namespace) -> Any:
    """The app of one serving process, on the database :func:`run_serve` prepared (run in each worker)."""
    startup = _startup(args)
    return create_app(BackendStore(open_database(startup.target)), startup.settings)
