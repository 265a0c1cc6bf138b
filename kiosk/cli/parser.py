"""Every command of ``python main.py`` and its arguments, declared without importing what the commands run.

A command's handler is named as ``"module:function"`` and imported only when that command runs (see
:func:`kiosk.cli.main`), and choices that live in another package are read only when they are checked or shown
(:class:`LazyChoices`). So building the parser costs nothing, ``--help`` lists every command, and a server process
(``queue serve``, ``backend serve``) loads the server and nothing of the kiosk.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
from collections.abc import Iterator
from pathlib import Path

from kiosk.cli.tls import add_tls_flags

SET_EXAMPLE = "printer.connection=file:out/ticket.bin"  # a test runs it, so the help never shows a broken example


class LazyChoices:
    """Argparse ``choices`` read from ``module.name`` the first time a value is checked or the help is printed."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def _values(self) -> tuple[str, ...]:
        return tuple(getattr(importlib.import_module(self.module), self.name))

    def __contains__(self, value: object) -> bool:
        return value in self._values()

    def __iter__(self) -> Iterator[str]:
        return iter(self._values())


def _add_common(parser: argparse.ArgumentParser, *, root: bool) -> None:
    # Subparsers use SUPPRESS so a value given before the command is not reset by the subparser's default.
    default_set = [] if root else argparse.SUPPRESS
    parser.add_argument(
        "--config", type=Path, metavar="PATH", default=None if root else argparse.SUPPRESS,
        help="site config (TOML) merged over config/default.toml",
    )
    parser.add_argument(
        "--set", dest="overrides", action="append", metavar="KEY=VALUE", default=default_set,
        help=f"override one key for this run, e.g. --set {SET_EXAMPLE} (repeatable; a device's kind follows its "
             "connection)",
    )


def _add_common_everywhere(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _add_common(sub, root=False)
                _add_common_everywhere(sub)


def _actions(subparsers: argparse._SubParsersAction, name: str, help: str) -> argparse._SubParsersAction:
    """A command made of actions (``queue take``, ``queue serve`` …); one of them is required."""
    command = subparsers.add_parser(name, help=help)
    return command.add_subparsers(dest=f"{name}_command", metavar="ACTION", required=True)


def _date(text: str) -> str:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None
    return text


def _per_minute(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of look-ups a minute, 1 or more, got {text!r}")
    return value


def _config(subparsers: argparse._SubParsersAction) -> None:
    actions = _actions(subparsers, "config", "check and show configuration")
    check = actions.add_parser("check", help="validate a config file: prints OK or one line per problem (exit 2)")
    check.add_argument("path", type=Path, metavar="PATH")
    check.set_defaults(handler="kiosk.cli.config_cmd:run_check")
    actions.add_parser("show", help="print the effective config with secrets masked").set_defaults(
        handler="kiosk.cli.config_cmd:run_show")
    pin_hash = actions.add_parser("pin-hash", help="read a PIN (stdin or prompt) and print its salted hash")
    pin_hash.add_argument("--counter", action="store_true",
                          help="a counter password for queue.counters (at least 6 digits or 8 characters)")
    pin_hash.set_defaults(handler="kiosk.cli.config_cmd:run_pin_hash")


def _content(subparsers: argparse._SubParsersAction) -> None:
    actions = _actions(subparsers, "content", "signed content bundles: keys, build, apply, publish")
    keygen = actions.add_parser("keygen", help="make a signing key pair; prints the public key for trusted_keys")
    keygen.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                        help="folder for content-signing.key (mode 0600) and content-signing.pub")
    keygen.set_defaults(handler="kiosk.cli.content:run_keygen")
    build = actions.add_parser("build", help="check a content folder, sign it and write a bundle")
    build.add_argument("dir", type=Path, metavar="DIR")
    build.add_argument("--key", type=Path, required=True, metavar="KEYFILE")
    build.add_argument("--version", type=int, required=True, metavar="N", help="must grow with every bundle")
    build.add_argument("--target", default="all", help="all (default), group:NAME or kiosk:ID")
    build.add_argument("--expires-days", type=int, metavar="N",
                       help="kiosks refuse the bundle N days from now (default: 365)")
    build.add_argument("--out", type=Path, required=True, metavar="BUNDLE")
    build.set_defaults(handler="kiosk.cli.content:run_build")
    apply = actions.add_parser("apply", help="verify and apply a bundle (exit 1 and the reason when refused)")
    apply.add_argument("bundle", type=Path, metavar="BUNDLE")
    apply.set_defaults(handler="kiosk.cli.content:run_apply")
    actions.add_parser("show", help="the active content version").set_defaults(handler="kiosk.cli.content:run_show")
    publish = actions.add_parser("publish", help="upload a bundle to the backend (admin token)")
    publish.add_argument("bundle", type=Path, metavar="BUNDLE")
    publish.add_argument("--to", required=True, metavar="URL", help="the backend, e.g. https://kiosk.hanoi.gov.vn")
    publish.add_argument("--token", required=True, metavar="T", help="an admin token of that backend")
    publish.set_defaults(handler="kiosk.cli.content:run_publish")


def _devices(subparsers: argparse._SubParsersAction) -> None:
    actions = _actions(subparsers, "devices", "printers and scanners: list, test print, test scan")
    actions.add_parser("list", help="configured devices with status, serial ports, USB devices").set_defaults(
        handler="kiosk.cli.devices:run_list")
    test_print = actions.add_parser("test-print", help="print the Vietnamese test ticket")
    test_print.add_argument("--printer", metavar="CONNECTION", help="another printer, e.g. tcp:192.168.1.50:9100")
    test_print.set_defaults(handler="kiosk.cli.devices:run_test_print")
    status = actions.add_parser("status", help="configured printer and scanner with their status (exit 1: not ready)")
    status.add_argument("--json", action="store_true", help="one JSON object")
    status.set_defaults(handler="kiosk.cli.devices:run_status")
    test_scan = actions.add_parser("test-scan", help="wait for one scan and print what it is")
    test_scan.add_argument("--scanner", metavar="CONNECTION",
                           help="another scanner, e.g. serial:/dev/ttyACM0?baudrate=9600 or hid:0c2e:0b61")
    test_scan.add_argument("--timeout", type=float, default=30.0)
    test_scan.set_defaults(handler="kiosk.cli.devices:run_test_scan")
    scan_sim = actions.add_parser("scan-sim", help="send a payload to a running kiosk's scanner simulator")
    scan_sim.add_argument("payload", metavar="PAYLOAD", help="the payload, or - for raw stdin bytes")
    scan_sim.set_defaults(handler="kiosk.cli.devices:run_scan_sim")
    fault = actions.add_parser("sim-fault", help="make the simulated printer fail (or clear)")
    fault.add_argument("fault", metavar="FAULT", choices=LazyChoices("kiosk.cli.devices", "SIM_FAULTS"),
                       help="one of %(choices)s")
    fault.set_defaults(handler="kiosk.cli.devices:run_sim_fault")


def _backend(subparsers: argparse._SubParsersAction) -> None:
    actions = _actions(subparsers, "backend", "the reference backend")
    serve = actions.add_parser("serve", help="serve the reference backend (OpenAPI at /openapi.json)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8600)
    _database(serve, "BACKEND_DATABASE_URL", "backend-data/backend.db")
    _workers(serve)
    serve.add_argument("--kiosk-token-file", type=Path, metavar="FILE",
                       help="kiosk bearer tokens, comma-separated (default: $BACKEND_KIOSK_TOKEN)")
    serve.add_argument("--admin-token-file", type=Path, metavar="FILE",
                       help="admin tokens, comma-separated (default: $BACKEND_ADMIN_TOKEN)")
    serve.add_argument("--report-token-file", type=Path, metavar="FILE",
                       help="tokens that read the survey reports and nothing else, comma-separated "
                            "(default: $BACKEND_REPORT_TOKEN)")
    serve.add_argument("--payment-secret-file", type=Path, metavar="FILE",
                       help="the bank callbacks' HMAC key (default: $BACKEND_PAYMENT_SECRET)")
    serve.add_argument("--kiosk-token", help="development only, shows in `ps`: also accept this kiosk token")
    serve.add_argument("--admin-token", help="development only, shows in `ps`: also accept this admin token")
    serve.add_argument("--bank-bin", metavar="BIN", help="fee QR codes' bank (default: $BACKEND_BANK_BIN)")
    serve.add_argument("--bank-account", metavar="ACCOUNT",
                       help="fee QR codes' account (default: $BACKEND_BANK_ACCOUNT)")
    serve.add_argument("--signing-key", type=Path, metavar="FILE",
                       help="content signing key (from `content keygen`) for publishing on the admin pages")
    serve.add_argument("--trusted-key", type=Path, action="append", default=[], metavar="FILE",
                       help="also accept bundles signed by this public key (content-signing.pub; repeatable; or "
                            "BACKEND_CONTENT_TRUSTED_KEYS=k1,k2)")
    # the defaults are BackendSettings' (tests/test_backend.py checks they agree; importing it here would load
    # the server into every command)
    serve.add_argument("--lookup-rate-per-token", type=_per_minute, default=30, metavar="N",
                       help="dossier, fee and booking look-ups a minute per kiosk token; past it 429 "
                            "(default: %(default)s)")
    serve.add_argument("--lookup-rate-per-address", type=_per_minute, default=120, metavar="N",
                       help="the same per client address, whatever the token (default: %(default)s)")
    serve.add_argument("--sms-url", metavar="URL",
                       help="send status SMS through the eSMS.vn JSON API at URL (keys: SMS_API_KEY, "
                            "SMS_SECRET_KEY, SMS_BRANDNAME; default: the simulator, writing each message to "
                            "sms-sim/ beside the database)")
    serve.add_argument("--sms-key-file", type=Path, metavar="FILE",
                       help="SMS_API_KEY=, SMS_SECRET_KEY=, SMS_BRANDNAME= lines (mode 600) instead of the "
                            "environment")
    add_tls_flags(serve)
    serve.set_defaults(handler="kiosk.cli.backend_serve:run_serve")
    _upkeep(actions, "BACKEND_DATABASE_URL", "backend-data/backend.db", "kiosk.cli.backend_data", "the backend",
            ("DIR", "an existing directory; the copies keep their file names"))
    copy = actions.add_parser("copy-data", help="move a site's SQLite data into a (new, empty) PostgreSQL database")
    copy.add_argument("--from", dest="source", required=True, type=Path, metavar="SQLITE",
                      help="the site's backend.db (content.db, fleet.db and survey.db beside it come along)")
    copy.add_argument("--to", dest="target", required=True, metavar="URL", help="postgresql://USER@HOST/DATABASE")
    copy.set_defaults(handler="kiosk.cli.backend_data:run_copy_data")


def _dossier(subparsers: argparse._SubParsersAction) -> None:
    actions = _actions(subparsers, "dossier", "dossier look-ups")
    status = actions.add_parser("status", help="the status of a dossier by code (or a lookup URL)")
    status.add_argument("code", metavar="CODE")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler="kiosk.cli.dossier:run_status")


def _doctor(subparsers: argparse._SubParsersAction) -> None:
    doctor = subparsers.add_parser("doctor", help="check the installation: one PASS/FAIL line per check")
    doctor.add_argument("--secret-file", type=Path, action="append", default=[], metavar="FILE",
                        help="also check that other users cannot read FILE (signing key, token file, TLS key)")
    doctor.set_defaults(handler="kiosk.cli.doctor:run_doctor")


def _outbox(subparsers: argparse._SubParsersAction) -> None:
    actions = _actions(subparsers, "outbox", "submissions waiting for the backend")
    listing = actions.add_parser("list", help="references, states and errors (no personal data)")
    listing.add_argument("--state", choices=("pending", "dead", "delivered"))
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler="kiosk.cli.outbox:run_list")
    actions.add_parser("send", help="deliver pending items now (exit 1 if some remain)").set_defaults(
        handler="kiosk.cli.outbox:run_send")
    actions.add_parser("retry", help="queue rejected (dead) items again").set_defaults(
        handler="kiosk.cli.outbox:run_retry")
    purge = actions.add_parser("purge", help="forget delivered items")
    purge.add_argument("--older-than-days", type=int, default=30)
    purge.set_defaults(handler="kiosk.cli.outbox:run_purge")


def _queue(subparsers: argparse._SubParsersAction) -> None:
    actions = _actions(subparsers, "queue", "queue numbers: services, take, status, report, serve")
    services = actions.add_parser("services", help="list services with waiting counts")
    services.add_argument("--json", action="store_true")
    services.set_defaults(handler="kiosk.cli.queue:run_services")
    take = actions.add_parser("take", help="issue a ticket and print it on the configured printer")
    take.add_argument("service", metavar="SERVICE", help="service code (e.g. HT) or name")
    take.add_argument("--priority", metavar="KIND", choices=LazyChoices("queueing.priority", "PRIORITY_CODES"),
                      help="priority group: %(choices)s")
    take.add_argument("--json", action="store_true")
    take.set_defaults(handler="kiosk.cli.queue:run_take")
    status = actions.add_parser("status", help="waiting counts and the next number per service")
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler="kiosk.cli.queue:run_status")
    report = actions.add_parser("report", help="tickets, no-shows, wait and service times for a day")
    report.add_argument("--date", type=_date, metavar="YYYY-MM-DD")
    report.add_argument("--json", action="store_true")
    report.add_argument("--report-token-file", type=Path, metavar="FILE",
                        help="branch mode: the queue server's report token (default: the QUEUE_REPORT_TOKEN "
                             "variable)")
    report.set_defaults(handler="kiosk.cli.queue:run_report")
    serve = actions.add_parser("serve", help="run the branch queue server (OpenAPI at /openapi.json)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700)
    _database(serve, "QUEUE_DATABASE_URL", "DATA_DIR/queue-server.db")
    _workers(serve)
    serve.add_argument("--kiosk-token-file", type=Path, metavar="FILE",
                       help="kiosk tokens '<kiosk id>:<secret>,…' (default: the QUEUE_KIOSK_TOKEN variable)")
    serve.add_argument("--report-token-file", type=Path, metavar="FILE",
                       help="tokens that read the daily report, comma-separated (default: the QUEUE_REPORT_TOKEN "
                            "variable); the first one also sends --report-to reports")
    serve.add_argument("--report-to", metavar="BACKEND_URL",
                       help="send the centre's figures to the city view of the backend at this base URL, with the "
                            "first report token (an https backend is trusted through backend.ca_file, else the "
                            "system's CAs)")
    serve.add_argument("--report-interval", type=float, default=30.0, metavar="S",
                       help="seconds between two snapshots of the figures (default: %(default)s)")
    serve.add_argument("--sms-url", metavar="URL",
                       help="the eSMS gateway of the phone queue's messages (keys: SMS_API_KEY, SMS_SECRET_KEY, "
                            "SMS_BRANDNAME or --sms-key-file; default: the simulator, spooling to DATA_DIR/sms-sim/)")
    serve.add_argument("--sms-key-file", type=Path, metavar="FILE",
                       help="NAME=value lines of the SMS gateway's keys (mode 600)")
    add_tls_flags(serve)
    serve.set_defaults(handler="kiosk.cli.queue_serve:run_serve")
    _upkeep(actions, "QUEUE_DATABASE_URL", "DATA_DIR/queue-server.db", "kiosk.cli.queue_serve", "the queue",
            ("FILE", "the copy (its directory must exist; an existing file is replaced)"))


def _database(parser: argparse.ArgumentParser, env: str, default: str) -> None:
    parser.add_argument("--db", metavar="PATH|URL",
                        help=f"a SQLite file (its directory must exist) or a postgresql:// URL (default: ${env}, "
                             f"else {default})")


def _upkeep(actions: argparse._SubParsersAction, env: str, default: str, module: str, what: str,
            backup_to: tuple[str, str]) -> None:
    """``migrate`` and ``backup``, alike for both servers; ``backup_to`` is the ``--to`` metavar and help."""
    migrate = actions.add_parser("migrate", help=f"bring {what}'s tables up to this version, then exit")
    _database(migrate, env, default)
    migrate.set_defaults(handler=f"{module}:run_migrate")
    backup = actions.add_parser("backup", help=f"a consistent copy of {what}'s SQLite data while the server runs")
    _database(backup, env, default)
    backup.add_argument("--to", dest="target", required=True, type=Path, metavar=backup_to[0], help=backup_to[1])
    backup.set_defaults(handler=f"{module}:run_backup")


def _workers(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="serve from N processes (uvicorn's); more than one needs a postgresql:// --db "
                             "(default: %(default)s)")


def _scan_parse(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("scan-parse", help="classify a scanned payload (- reads raw bytes from stdin)")
    # the words after the command reach the handler verbatim as args.words (see kiosk.cli.VERBATIM_COMMANDS),
    # so a payload starting with "-" is data, not an option
    parser.add_argument("payload", metavar="PAYLOAD", nargs="?", help="the payload, or - for raw stdin bytes")
    parser.set_defaults(handler="kiosk.cli.scan:run_scan_parse")


def _telex(subparsers: argparse._SubParsersAction) -> None:
    # the words after the command reach the handler verbatim as args.words (see kiosk.cli.VERBATIM_COMMANDS)
    parser = subparsers.add_parser("telex", help="convert Telex keystrokes to Vietnamese (spaces separate words)")
    parser.add_argument("text", metavar="TEXT", nargs="*")
    parser.set_defaults(handler="kiosk.cli.telex:run_telex")


COMMANDS = (_config, _content, _devices, _backend, _dossier, _doctor, _outbox, _queue, _scan_parse, _telex)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python main.py",
        description="Self-service kiosk for Vietnamese public-service centres. Without a command: run the kiosk.",
    )
    _add_common(parser, root=True)
    parser.add_argument("--windowed", action="store_true", help="run in a window instead of full screen")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add_command in COMMANDS:
        add_command(subparsers)
    _add_common_everywhere(parser)
    return parser
