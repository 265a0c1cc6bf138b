"""The day's figures per service and counter for managers (JSON and CSV, with a report token: ``report_tokens``),
and the ticket view of a phone.

The tracking view is public (anyone with the QR): number, service, state, counter, people ahead and the wait,
never the kiosk, the priority category or anything about the person. It follows a transferred ticket to its
successor, so the phone shows where the citizen should go now.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from starlette.datastructures import QueryParams
from starlette.responses import Response

from config.localtime import LOCAL_TZ
from contracts.http import Call, Endpoint, Param
from queueing.server.branch import Branch
from queueing.server.http import answer
from queueing.server.schemas import BadRequest

MAX_TRANSFER_HOPS = 10
REPORT_COLUMNS = ("tickets", "no_shows", "waiting", "transferred_out", "wait_avg_s", "wait_p90_s",
                  "service_avg_s", "service_p90_s")
DAY = Param("day", {"type": "string", "format": "date"}, "local day, default today")


def _day(query: QueryParams, today: date) -> date:
    text = query.get("day")
    if not text:
        return today
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadRequest(400, f"day must be a date like 2026-11-24, got {text!r}", "invalid_day") from None


def report_csv(report: dict[str, Any]) -> str:
    """The daily report as CSV (one row per service, then per counter), with a BOM so spreadsheets read UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["date", "scope", "key", *REPORT_COLUMNS])
    for scope, key in (("services", "service"), ("counters", "counter")):
        for row in report[scope]:
            writer.writerow([report["date"], scope[:-1], row[key], *(row[c] for c in REPORT_COLUMNS)])
    return "\ufeff" + out.getvalue()


def report_endpoints(branch: Branch) -> list[Endpoint]:
    engine = branch.engine

    async def track(call: Call) -> Response:
        found = branch.find(call.path["ticket_id"])
        for _ in range(MAX_TRANSFER_HOPS):
            successor = branch.views.successor(found.issued_at.astimezone(LOCAL_TZ).date(), found.id) \
                if found.state == "transferred" else None
            if successor is None:
                break
            found = engine.ticket(successor)
        return answer({"number": found.number, "service": found.service,
                       "service_name": branch.service_name(found.service), "state": found.state,
                       "counter": found.counter, "people_ahead": found.people_ahead,
                       "estimated_wait_s": found.estimated_wait_s, "issued_at": found.issued_at, "at": branch.now()})

    async def report(call: Call) -> Response:
        return answer(engine.report(_day(call.query, branch.today())))

    async def report_as_csv(call: Call) -> Response:
        day = _day(call.query, branch.today())
        return Response(report_csv(engine.report(day)), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="bao-cao-{day.isoformat()}.csv"'})

    return [
        Endpoint("GET", "/api/track/{ticket_id}", track, "Public tracking view (no personal data), follows transfers",
                 errors=(404,)),
        Endpoint("GET", "/api/report", report, "Daily report per service and counter (report token)",
                 auth="report", errors=(400,), params=(DAY,)),
        Endpoint("GET", "/api/report.csv", report_as_csv, "Daily report as CSV (report token)", auth="report",
                 errors=(400,), params=(DAY,), produces="text/csv"),
    ]
