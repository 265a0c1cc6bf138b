"""``queue serve``: the branch queue server for a centre's kiosks, counters and display boards.

Its own module so that a server process imports the queue engine, the server and the config, and nothing of the
kiosk (``tests/test_server_imports.py`` checks the running process).
"""

from __future__ import annotations

import argparse
import sys

import uvicorn

from contracts.secrets import SecretError, secret_list
from kiosk.cli import EXIT_CONFIG, config_from_args
from kiosk.cli.db_path import DbPathError, sqlite_path
from kiosk.cli.tls import TlsError, tls_options
from queueing.engine import QueueEngine
from queueing.server import create_app
from queueing.server.kiosks import ENV as TOKEN_ENV
from queueing.server.kiosks import BadKioskToken, KioskTokens
from queueing.server.report_tokens import ENV as REPORT_ENV
from queueing.server.report_tokens import BadReportToken, ReportTokens

EXIT_REFUSED = 1


def run_serve(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    try:
        ssl = tls_options(args)
        kiosk_tokens = KioskTokens(secret_list(TOKEN_ENV, args.kiosk_token_file))
        report_tokens = ReportTokens(secret_list(REPORT_ENV, args.report_token_file))
        db = sqlite_path(args.db) if args.db else None
    except (TlsError, SecretError, BadKioskToken, BadReportToken, DbPathError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    if not config.queue.services:
        print("queue.services is empty: the server has nothing to queue for", file=sys.stderr)
        return EXIT_REFUSED
    if db is None:  # the default location is ours to create
        db = config.data_dir / "queue-server.db"
        db.parent.mkdir(parents=True, exist_ok=True)
    engine = QueueEngine(db, config.queue.services, max_priority_in_row=config.queue.max_priority_in_row)
    app = create_app(engine, counter_passwords={c.number: c.pin_hash for c in config.queue.counters},
                     kiosk_tokens=kiosk_tokens, report_tokens=report_tokens, title=config.branch.name,
                     announcements=[a.text for a in config.announcements])
    print(f"Kiosk tokens for {', '.join(kiosk_tokens.kiosks)}" if kiosk_tokens.kiosks else
          f"No kiosk tokens ({TOKEN_ENV} or --kiosk-token-file): every kiosk call is refused", file=sys.stderr)
    if not report_tokens:
        print(f"No report token ({REPORT_ENV} or --report-token-file): the daily report refuses everyone",
              file=sys.stderr)
    if not config.queue.counters:
        print("No counter passwords in queue.counters: the counter page cannot log in", file=sys.stderr)
    scheme = "https" if ssl else "http"
    print(f"Branch queue server on {scheme}://{args.host}:{args.port} (counter page /counter, display /display, "
          f"OpenAPI /openapi.json), data: {db}", file=sys.stderr)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=2, **ssl)
    finally:
        engine.close()
    return 0
