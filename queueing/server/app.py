"""The branch queue server: one ``QueueEngine`` shared over HTTP by a centre's kiosks, counters and display boards.

Kiosks list services, take tickets (idempotent per request id), lease number blocks and report tickets they
issued offline; counters log in with their password and call, recall, start, finish, skip and transfer; display
boards follow ``/api/events`` (Server-Sent Events); phones follow ``/track/<ticket id>``. Every refusal is a 4xx
JSON ``{"error": "<one-line message>", "code": "<machine code>"}`` (queue refusals use the codes of ``wire``).

Handlers call the engine directly on the event loop: an engine call is a sub-millisecond SQLite transaction under
the engine's lock, cheaper than the hop to a worker thread. Only the scrypt password check of a login goes to a
thread. The server must be the only process writing its queue file (it keeps the display board in memory).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from config.localtime import LOCAL_TZ
from contracts.voice import wav_bytes
from queueing.engine import QueueEngine
from queueing.errors import QueueError, UnknownService, UnknownTicket
from queueing.models import Ticket
from queueing.priority import PRIORITY_CATEGORIES
from queueing.server.counters import CounterLogins, LoginRefused
from queueing.server.events import Board, Call, EventHub
from queueing.server.openapi import OPENAPI
from queueing.server.schemas import (
    BadRequest,
    BlockRequest,
    CallNextRequest,
    LoginRequest,
    OfflineTicketRequest,
    TicketRequest,
    TransferRequest,
    parse,
)
from queueing.server.views import ReadViews
from queueing.server.wire import OFFLINE_PREFIX, refusal, to_json

STATIC = Path(__file__).with_name("static")
PAGES = {"counter": "counter.html", "display": "display.html", "report": "report.html", "track": "track.html"}
MAX_TRANSFER_HOPS = 10
COUNTER_WAITING_SHOWN = 50
REPORT_COLUMNS = ("tickets", "no_shows", "waiting", "transferred_out", "wait_avg_s", "wait_p90_s",
                  "service_avg_s", "service_p90_s")
_ZERO_FIGURES = {column: 0 for column in REPORT_COLUMNS[:4]}


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(to_json(data), status_code=status)


ANNOUNCED_NUMBER = re.compile(r"^[A-Z]{1,2}[0-9]{3,4}$")


@lru_cache(maxsize=256)
def spoken_call(number: str, counter: int) -> bytes | None:
    """"Mời công dân có số A 0 1 2 đến quầy số 3": digits one by one, as staff call them."""
    return wav_bytes(f"Mời công dân có số {' '.join(number)} đến quầy số {counter}")


def _error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse({"error": message, "code": code}, status_code=status)


def _day(request: Request, today: date) -> date:
    text = request.query_params.get("day")
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


def create_app(engine: QueueEngine, *, counter_passwords: Mapping[int, str],
               clock: Callable[[], datetime] | None = None, title: str = "", announcements: Sequence[str] = ()) \
        -> Starlette:
    """:param counter_passwords: counter number → salted scrypt hash (``contracts.pin.hash_pin``).
    :param clock: aware local time for call stamps and "today" (default: the wall clock); give the engine's.
    :param title: the display board's heading (the centre's name); ``announcements``: texts it scrolls."""
    now = clock or (lambda: datetime.now(LOCAL_TZ))
    logins = CounterLogins(counter_passwords)
    hub = EventHub()
    views = ReadViews(engine)
    board = Board.from_rows(engine.rows_for_day(now().astimezone(LOCAL_TZ).date()))
    counters = sorted({n for s in engine.services.values() for n in s.counters} | set(counter_passwords))

    def today() -> date:
        return now().astimezone(LOCAL_TZ).date()

    def find(ticket_id: str) -> Ticket:
        """A ticket by its id, or an offline-issued one by the request id it was reported under (the id in its
        QR)."""
        try:
            return engine.ticket(ticket_id)
        except UnknownTicket:
            found = views.by_request(ticket_id) if ticket_id.startswith(OFFLINE_PREFIX) else None
            if found is None:
                raise
            return engine.ticket(found)

    def snapshot() -> dict[str, Any]:
        status = engine.status()
        day = today()
        current = {c.counter: c for c in status.counters}
        last = board.last_per_counter(day)
        names = {code: service.name_vi for code, service in engine.services.items()}
        return {
            "at": status.at, "day": day, "title": title, "announcements": list(announcements),
            "services": [{**to_json(s), "name_vi": names.get(s.code, s.code)} for s in status.services],
            "counters": [{"counter": n, "current": current.get(n), "last": last.get(n)} for n in counters],
            "last_calls": board.recent(day),
        }

    def announce(ticket: Ticket, counter: int, recall: bool) -> None:
        call = Call(counter, ticket.number, ticket.service, now(), recall)
        board.record(call)
        service = engine.services.get(ticket.service)
        hub.publish("call", {**to_json(call), "service_name": service.name_vi if service else ticket.service})

    # -- kiosks ---------------------------------------------------------------------------------------------
    async def services(_request: Request) -> Response:
        estimates = {s.code: s.estimated_wait_s for s in engine.status().services}
        return _json({"at": now(), "services": [
            {**to_json(s), "estimated_wait_s": estimates.get(s.code, 0),
             "definition": engine.services[s.code].model_dump(mode="json")}
            for s in engine.services_overview()]})

    async def waiting(request: Request) -> Response:
        code = request.path_params["code"]
        if code not in engine.services:
            raise UnknownService(f"unknown service {code!r}; known: {', '.join(engine.services)}")
        return _json({"service": code, "tickets": engine.waiting(code)})

    async def estimate(request: Request) -> Response:
        try:
            ahead = int(request.query_params.get("ahead", "0"))
        except ValueError:
            raise BadRequest(400, "ahead must be a whole number of people") from None
        if not 0 <= ahead <= 100_000:
            raise BadRequest(400, "ahead must be between 0 and 100000")
        code = request.path_params["code"]
        return _json({"service": code, "ahead": ahead, "estimated_wait_s": engine.estimate_wait_s(code, ahead)})

    async def issue(request: Request) -> Response:
        body = parse(await request.body(), TicketRequest)
        return _json(engine.issue(body.service, request_id=body.request_id, priority=body.priority,
                                  kiosk_id=body.kiosk_id, booking_code=body.booking_code))

    async def ticket(request: Request) -> Response:
        return _json(find(request.path_params["ticket_id"]))

    async def block(request: Request) -> Response:
        body = parse(await request.body(), BlockRequest)
        return _json(engine.reserve_block(body.service, body.size, holder=body.holder, day=body.day))

    async def offline_ticket(request: Request) -> Response:
        body = parse(await request.body(), OfflineTicketRequest)
        return _json(engine.record_offline(body.block_id, body.service, body.seq, request_id=body.request_id,
                                           issued_at=body.issued_at, priority=body.priority,
                                           booking_code=body.booking_code))

    # -- phones ---------------------------------------------------------------------------------------------
    async def track(request: Request) -> Response:
        """What the citizen's phone shows: no kiosk, no priority category, nothing about the person."""
        found = find(request.path_params["ticket_id"])
        for _ in range(MAX_TRANSFER_HOPS):
            successor = views.successor(found.issued_at.astimezone(LOCAL_TZ).date(), found.id) \
                if found.state == "transferred" else None
            if successor is None:
                break
            found = engine.ticket(successor)
        service = engine.services.get(found.service)
        return _json({"number": found.number, "service": found.service,
                      "service_name": service.name_vi if service else found.service, "state": found.state,
                      "counter": found.counter, "people_ahead": found.people_ahead,
                      "estimated_wait_s": found.estimated_wait_s, "issued_at": found.issued_at, "at": now()})

    # -- counters -------------------------------------------------------------------------------------------
    def authorize(request: Request) -> int:
        counter = request.path_params["counter"]
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        owner = logins.counter_for(token) if token else None
        if owner is None:
            raise LoginRefused(401, f"log in at counter {counter} first (send Authorization: Bearer <token>)")
        if owner != counter:
            raise LoginRefused(403, f"this login is for counter {owner}, not counter {counter}")
        return counter

    async def login(request: Request) -> Response:
        counter = request.path_params["counter"]
        body = parse(await request.body(), LoginRequest)
        token = await run_in_threadpool(logins.login, counter, body.password)
        return _json({"counter": counter, "token": token})

    async def counter_view(request: Request) -> Response:
        counter = authorize(request)
        codes = [s.code for s in engine.services.values() if counter in s.counters]
        day = today()
        line, waiting_total = views.line(day, codes, COUNTER_WAITING_SHOWN)
        return _json({"counter": counter, "services": codes, "current": engine.current(counter),
                      "waiting": line, "waiting_total": waiting_total,
                      "today": views.figures(day, counter) or {"counter": counter, **_ZERO_FIGURES},
                      "all_services": [{"code": s.code, "name_vi": s.name_vi} for s in engine.services.values()],
                      "priority_labels": {c.code: c.label_vi for c in PRIORITY_CATEGORIES}})

    moves: dict[str, Callable[[str], Ticket]] = {
        "recall": engine.recall, "start": engine.start, "finish": engine.finish, "no-show": engine.no_show,
        "skip": engine.skip}

    async def counter_action(request: Request) -> Response:
        counter = authorize(request)
        action = request.path_params["action"]
        raw = await request.body()
        if action == "call-next":
            body = parse(raw, CallNextRequest, optional=True)
            called = engine.call_next(counter, body.services)
            if called is not None:
                announce(called, counter, recall=False)
            return _json({"counter": counter, "ticket": called})
        if action not in moves and action != "transfer":
            raise BadRequest(404, f"unknown counter action {action!r}; use call-next, "
                                  f"{', '.join(moves)} or transfer", "unknown_action")
        target = parse(raw, TransferRequest).to_service if action == "transfer" else None
        current = engine.current(counter)
        if current is None:
            raise BadRequest(409, f"counter {counter} has no called or serving ticket; call the next number "
                                  "first", "no_current_ticket")
        if target is not None:
            return _json({"counter": counter, "ticket": engine.transfer(current.id, target)})
        moved = moves[action](current.id)
        if action == "recall":
            announce(moved, counter, recall=True)
        return _json({"counter": counter, "ticket": moved})

    # -- boards and reports ---------------------------------------------------------------------------------
    async def status(_request: Request) -> Response:
        return _json(snapshot())

    async def announcement(request: Request) -> Response:
        """The call spoken in Vietnamese by this server's espeak-ng, for boards on TVs with no local voice."""
        number, counter = request.query_params.get("number", ""), request.query_params.get("counter", "")
        if not ANNOUNCED_NUMBER.match(number) or not counter.isdigit() or not 1 <= int(counter) <= 999:
            return _error(422, "number must look like A012 and counter be 1-999", "bad_announcement")
        audio = await run_in_threadpool(spoken_call, number, int(counter))
        if audio is None:
            return _error(404, "no local Vietnamese voice on the server (install espeak-ng)", "no_voice")
        return Response(audio, media_type="audio/wav", headers={"Cache-Control": "public, max-age=86400"})

    async def events(_request: Request) -> Response:
        return StreamingResponse(hub.stream(snapshot), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def report(request: Request) -> Response:
        return _json(engine.report(_day(request, today())))

    async def report_as_csv(request: Request) -> Response:
        day = _day(request, today())
        return Response(report_csv(engine.report(day)), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="bao-cao-{day.isoformat()}.csv"'})

    async def health(_request: Request) -> Response:
        return _json({"ok": True, "at": now(), "board_streams": hub.subscribers})

    async def openapi(_request: Request) -> Response:
        return JSONResponse(OPENAPI)

    def page(name: str) -> Callable[[Request], Any]:
        async def serve(_request: Request) -> Response:
            return FileResponse(STATIC / PAGES[name], headers={"Cache-Control": "no-cache"})
        return serve

    # -- errors ---------------------------------------------------------------------------------------------
    async def queue_refused(_request: Request, exc: Exception) -> Response:
        status_code, body = refusal(exc)  # type: ignore[arg-type]
        return JSONResponse(body, status_code=status_code)

    async def bad_request(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, (BadRequest, LoginRefused))
        return _error(exc.status, str(exc), exc.code if isinstance(exc, BadRequest) else "login_refused")

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = f"no such endpoint: {request.method} {request.url.path}" if exc.status_code in (404, 405) \
            else str(exc.detail)
        return _error(exc.status_code, message, "not_found" if exc.status_code == 404 else "http_error")

    routes = [
        Route("/health", health), Route("/openapi.json", openapi),
        Route("/api/services", services), Route("/api/services/{code}/waiting", waiting),
        Route("/api/services/{code}/estimate", estimate),
        Route("/api/tickets", issue, methods=["POST"]), Route("/api/tickets/{ticket_id}", ticket),
        Route("/api/track/{ticket_id}", track),
        Route("/api/blocks", block, methods=["POST"]),
        Route("/api/offline-tickets", offline_ticket, methods=["POST"]),
        Route("/api/counters/{counter:int}/login", login, methods=["POST"]),
        Route("/api/counters/{counter:int}", counter_view),
        Route("/api/counters/{counter:int}/{action}", counter_action, methods=["POST"]),
        Route("/api/status", status), Route("/api/events", events), Route("/api/announce.wav", announcement),
        Route("/api/report", report), Route("/api/report.csv", report_as_csv),
        Route("/counter", page("counter")), Route("/display", page("display")), Route("/report", page("report")),
        Route("/track/{ticket_id}", page("track")), Route("/t/{ticket_id}", page("track")),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes, exception_handlers={
        QueueError: queue_refused, BadRequest: bad_request, LoginRefused: bad_request, HTTPException: http_error})
