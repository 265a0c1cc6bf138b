"""``queue services|take|status|report``: the queue from the command line, on the configured queue and printer.

In branch mode ``queue report`` reads the queue server's report with a report token (``QUEUE_REPORT_TOKEN`` or
``--report-token-file``), which a kiosk's own token is not. The branch queue server (``queue serve``) is
:mod:`kiosk.cli.queue_serve`, which loads none of this."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import threading

from config.localtime import LOCAL_TZ
from contracts.secrets import SecretError, secret
from contracts.text import fold
from devices.errors import DeviceError
from devices.factory import open_printer
from kiosk.cli import EXIT_CONFIG, config_from_args
from kiosk.i18n import tr
from kiosk.printing import Done, PrintQueue
from kiosk.queue_flow import QueueFlow, QueueRefused
from kiosk.queue_source import open_queue
from queueing.engine import QueueEngine
from queueing.errors import QueueError
from queueing.report import day_report

EXIT_REFUSED = 1
EXIT_NOT_PRINTED = 3
REPORT_TOKEN_ENV = "QUEUE_REPORT_TOKEN"  # the queue server's variable (queueing.server.report_tokens)


def _dump(data: object) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=None))


def _match_service(flow: QueueFlow, wanted: str) -> str | None:
    """Accept a code in any case, or a service name typed with or without accents."""
    services = flow.services()
    for item in services:
        if item.code.lower() == wanted.lower():
            return item.code
    folded = fold(wanted)
    hits = [item.code for item in services if folded and folded in fold(item.name_vi + " " + item.name_en)]
    return hits[0] if len(hits) == 1 else None


def run_services(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    engine = open_queue(config)
    items = [
        {"code": s.code, "name": s.name_vi, "name_en": s.name_en, "waiting": s.waiting, "open": s.open_now,
         "next_opening": s.next_opening.isoformat() if s.next_opening else None}
        for s in engine.services_overview()
    ]
    if args.json:
        _dump(items)
    else:
        for item in items:
            state = f"đang chờ {item['waiting']} người" if item["open"] else "đã đóng"
            print(f"{item['code']:4s} {item['name']} — {state}")
    return 0


def run_take(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    printer = open_printer(config)
    print_queue = PrintQueue(printer)
    outcome: dict[str, DeviceError | None] = {}
    printed = threading.Event()

    def print_and_remember(job: bytes, done: Done) -> None:
        def finished(error: DeviceError | None) -> None:
            outcome["error"] = error
            done(error)
            printed.set()

        print_queue.submit(job, finished)

    flow = QueueFlow(config, open_queue(config), print_and_remember, lambda _name, **_payload: None,
                     lambda: config.kiosk.language)
    code = _match_service(flow, args.service)
    if code is None:
        known = ", ".join(f"{s.code} ({s.name_vi})" for s in flow.services())
        print(f"Unknown service {args.service!r}. Known: {known}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        ticket = flow.take(code, priority=args.priority)
    except QueueRefused as refusal:
        print(tr(refusal.message_key, config.kiosk.language, **refusal.values), file=sys.stderr)
        return EXIT_REFUSED
    printed.wait(timeout=30)
    print_queue.close()
    error = outcome.get("error")
    data = {**ticket.as_json(), "printed": printed.is_set() and error is None,
            "print_error": error.status if error else (None if printed.is_set() else "timeout")}
    if args.json:
        _dump(data)
    else:
        print(f"{ticket.number}  {ticket.service_vi}  — {ticket.people_ahead} người đang chờ trước, "
              f"khoảng {ticket.estimated_wait_s // 60} phút")
    if not data["printed"]:
        print(f"Ticket {ticket.number} issued but not printed: {data['print_error']}", file=sys.stderr)
        return EXIT_NOT_PRINTED
    return 0


def run_status(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    engine = open_queue(config)
    data = []
    for s in engine.services_overview():
        waiting = engine.waiting(s.code)
        data.append({"code": s.code, "name": s.name_vi, "open": s.open_now, "waiting": s.waiting,
                     "next": waiting[0].number if waiting else None,
                     "estimated_wait_s": engine.estimate_wait_s(s.code, s.waiting)})
    if args.json:
        _dump(data)
    else:
        for row in data:
            print(f"{row['code']:4s} chờ {row['waiting']:3d}  số tiếp theo {row['next'] or '-':6s} {row['name']}")
    return 0


def run_report(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    day = dt.date.fromisoformat(args.date) if args.date else dt.datetime.now(LOCAL_TZ).date()
    queue = open_queue(config)
    if isinstance(queue, QueueEngine):
        report = day_report(queue, day)
    else:
        try:
            token = secret(REPORT_TOKEN_ENV, args.report_token_file)
            if token is None:
                raise SecretError(f"the queue server's report needs a report token: set {REPORT_TOKEN_ENV} or "
                                  "pass --report-token-file FILE")
        except SecretError as exc:
            print(exc, file=sys.stderr)
            return EXIT_CONFIG
        try:
            report = queue.report(day, token)
        except QueueError as exc:
            print(f"the queue server refused the report: {exc}", file=sys.stderr)
            return EXIT_REFUSED
    if args.json:
        _dump(report)
        return 0
    print(f"Báo cáo ngày {day.isoformat()}")
    for row in report["services"]:
        print(f"{row['service']:4s} số đã cấp {row['tickets']:4d}  vắng {row['no_shows']:3d}  "
              f"chờ TB {row['wait_avg_s'] or 0:6.0f}s p90 {row['wait_p90_s'] or 0:6.0f}s  "
              f"phục vụ TB {row['service_avg_s'] or 0:6.0f}s p90 {row['service_p90_s'] or 0:6.0f}s")
    return 0
