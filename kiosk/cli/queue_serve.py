"""``queue serve``, ``queue migrate`` and ``queue backup``: the branch queue server for a centre's kiosks, counters
and display boards, and its database's upkeep.

Its own module so that a server process imports the queue engine, the server and the config, and nothing of the
kiosk (``tests/test_server_imports.py`` checks the running process).

The database is ``--db`` (a SQLite file or a ``postgresql://`` URL), else ``QUEUE_DATABASE_URL``, else
``DATA_DIR/queue-server.db`` (``kiosk.cli.serving.database_target``). ``serve`` checks it once (one line and exit
2 when it cannot be used: nothing is created), migrates it, then serves from one process or ``--workers N`` (on
PostgreSQL only), each building the app with :func:`build_app`.

``--report-to BACKEND_URL`` sends the centre's figures to the backend's city view every ``--report-interval``
seconds, as ``branch.id``, authenticated with the first report token (``QUEUE_REPORT_TOKEN`` or
``--report-token-file``, which the backend must list in ``BACKEND_REPORT_TOKEN``); an https backend is trusted
through ``backend.ca_file`` when the config names one, else the system's CAs (``queueing.server.city_sender``).
"""

from __future__ import annotations

import argparse
import atexit
import re
import sys
from pathlib import Path
from typing import Any

from config.schema import KioskConfig
from contracts.secrets import SecretError, secret_list
from contracts.sms import SIM_DIR_NAME, SmsGateway, gateway_from_options
from contracts.sqldb import DatabaseTargetError, SqliteDatabase, StoreUnavailable, is_url, open_database
from kiosk.cli import EXIT_CONFIG, config_from_args
from kiosk.cli.serving import check_workers, database_target, run
from kiosk.cli.tls import TlsError, tls_options
from queueing.city_figures import Centre
from queueing.db import connect, schema
from queueing.engine import QueueEngine
from queueing.server import create_app
from queueing.server.city_sender import CityLink
from queueing.server.kiosks import ENV as TOKEN_ENV
from queueing.server.kiosks import BadKioskToken, KioskTokens
from queueing.server.report_tokens import ENV as REPORT_ENV
from queueing.server.report_tokens import BadReportToken, ReportTokens

EXIT_REFUSED = 1
DATABASE_ENV = "QUEUE_DATABASE_URL"
DEFAULT_NAME = "queue-server.db"
REPORT_INTERVAL_S = (0.1, 3600.0)  # --report-interval bounds: tests compress time; an hour is the coarsest useful
_BACKEND_URL = re.compile(r"^https?://[^\s/?#@]+(/[^\s?#]*)?$")


class CityLinkError(ValueError):
    """--report-to cannot work as given; the message is the one line to print."""


def _target(args: argparse.Namespace, config: KioskConfig) -> tuple[str | Path, bool]:
    return database_target(args, DATABASE_ENV, config.data_dir / DEFAULT_NAME)


def _tokens(args: argparse.Namespace) -> tuple[KioskTokens, ReportTokens]:
    """:raises SecretError, BadKioskToken, BadReportToken:"""
    return (KioskTokens(secret_list(TOKEN_ENV, args.kiosk_token_file)),
            ReportTokens(secret_list(REPORT_ENV, args.report_token_file)))


def _city_link(args: argparse.Namespace, config: KioskConfig) -> CityLink | None:
    """Where the centre's figures go (None without ``--report-to``). :raises CityLinkError, SecretError:"""
    if args.report_to is None:
        return None
    if not _BACKEND_URL.match(args.report_to):
        raise CityLinkError(f"--report-to {args.report_to[:80]!r}: give the backend's base URL, e.g. "
                            "https://backend.example.vn")
    low, high = REPORT_INTERVAL_S
    if not low <= args.report_interval <= high:
        raise CityLinkError(f"--report-interval {args.report_interval:g}: between {low:g} and {high:g} seconds")
    tokens = secret_list(REPORT_ENV, args.report_token_file)
    if not tokens:
        raise CityLinkError(f"--report-to needs the report token the backend accepts: set {REPORT_ENV} (or "
                            "--report-token-file) to a token listed in the backend's BACKEND_REPORT_TOKEN")
    branch = config.branch
    return CityLink(args.report_to, tokens[0], Centre(branch.id, branch.name, branch.target_wait_min),
                    args.report_interval, config.backend.ca_file)


def _sms(args: argparse.Namespace, config: KioskConfig) -> SmsGateway:
    """The phone queue's SMS gateway (``--sms-url``; the simulator by default). :raises SecretError:"""
    return gateway_from_options(args.sms_url, config.data_dir / SIM_DIR_NAME, key_file=args.sms_key_file)


def run_serve(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    try:
        ssl = tls_options(args)
        kiosk_tokens, report_tokens = _tokens(args)
        city = _city_link(args, config)
        sms = _sms(args, config)
        target, default_location = _target(args, config)
        check_workers(args.workers, target)
    except (TlsError, SecretError, BadKioskToken, BadReportToken, CityLinkError, DatabaseTargetError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    if not config.queue.services:
        print("queue.services is empty: the server has nothing to queue for", file=sys.stderr)
        return EXIT_REFUSED
    if default_location:  # the default location is ours to create
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    try:  # once, before any worker: a target that cannot be used is one line, and migrations run once
        db = connect(target)
    except (DatabaseTargetError, StoreUnavailable) as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    where = db.describe()
    db.close()
    print(f"Kiosk tokens for {', '.join(kiosk_tokens.kiosks)}" if kiosk_tokens.kiosks else
          f"No kiosk tokens ({TOKEN_ENV} or --kiosk-token-file): every kiosk call is refused", file=sys.stderr)
    if not report_tokens:
        print(f"No report token ({REPORT_ENV} or --report-token-file): the daily report refuses everyone",
              file=sys.stderr)
    if not config.queue.counters:
        print("No counter passwords in queue.counters: the counter page cannot log in", file=sys.stderr)
    print(f"Numbers from phones: SMS via {sms}" if config.queue.phone.enabled else
          "Numbers from phones are off (queue.phone.enabled = false)", file=sys.stderr)
    scheme = "https" if ssl else "http"
    processes = f", {args.workers} processes" if args.workers > 1 else ""
    print(f"Branch queue server on {scheme}://{args.host}:{args.port} (counter page /counter, display /display, "
          f"OpenAPI /openapi.json), data: {where}{processes}", file=sys.stderr)
    if city is not None:
        print(f"Figures of centre {city.centre.id} every {city.interval_s:g} s to {city.url.rstrip('/')}/api/city/"
              "reports (kept in the database until the backend has them)", file=sys.stderr)
    run("kiosk.cli.queue_serve:build_app", args, **ssl)
    return 0


def build_app(args: argparse.Namespace) -> Any:
    """The app of one serving process on the database :func:`run_serve` checked (run in each worker)."""
    config = config_from_args(args)
    kiosk_tokens, report_tokens = _tokens(args)
    target, _default = _target(args, config)
    engine = QueueEngine(target, config.queue.services, max_priority_in_row=config.queue.max_priority_in_row)
    atexit.register(engine.close)  # the last WAL checkpoint on SQLite, the call feed's connection on PostgreSQL
    return create_app(engine, counter_passwords={c.number: c.pin_hash for c in config.queue.counters},
                      kiosk_tokens=kiosk_tokens, report_tokens=report_tokens, title=config.branch.name,
                      announcements=[a.text for a in config.announcements], city=_city_link(args, config),
                      sms=_sms(args, config), phone=config.queue.phone, public_url=config.queue.public_url)


def run_migrate(args: argparse.Namespace) -> int:
    """Bring the queue database's tables up to this version (``serve`` does it too, at start)."""
    target, default_location = _target(args, config_from_args(args))
    try:
        db = open_database(target, create_dir=default_location)
        try:
            applied = db.migrate(schema)
            where = db.describe()
        finally:
            db.close()
    except (DatabaseTargetError, StoreUnavailable) as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    print(f"{where}: applied {', '.join(applied)}" if applied else f"{where}: up to date", file=sys.stderr)
    return 0


def run_backup(args: argparse.Namespace) -> int:
    """A consistent copy of the queue's SQLite file while the server runs (SQLite's online backup)."""
    target, _default = _target(args, config_from_args(args))
    if is_url(target):
        print("a PostgreSQL queue database is backed up with PostgreSQL's tools: pg_dump -Fc -f queue.dump "
              "'<the URL>' (or base backups of the cluster)", file=sys.stderr)
        return EXIT_CONFIG
    if not Path(target).is_file():
        print(f"{target}: no queue database there to back up", file=sys.stderr)
        return EXIT_CONFIG
    if not args.target.parent.is_dir():
        print(f"{args.target}: the directory {args.target.parent} does not exist; create it first", file=sys.stderr)
        return EXIT_CONFIG
    try:
        db = open_database(target)
    except DatabaseTargetError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    try:
        assert isinstance(db, SqliteDatabase)
        db.backup(args.target)
    finally:
        db.close()
    print(f"{target} backed up to {args.target}", file=sys.stderr)
    return 0
