"""How the branch queue server speaks HTTP: its error shape, counter logins as the one role, queue refusals.

Every refusal is a 4xx JSON ``{"error": "<one-line message>", "code": "<machine code>"}``; queue refusals use the
codes of ``wire`` (and a closed service adds ``service`` and ``next_opening``), so a kiosk in branch mode raises
the same exception the engine raised here. Three roles: ``counter``, a counter's login token bound to the counter
in the path (counter 1's token cannot call numbers at counter 2; a route without a counter in its path takes any
counter's login, e.g. checking in a number from a phone); ``kiosk``, a kiosk's configured token
(``kiosks``), whose caller is the kiosk id the token names; and ``report``, a manager's report token
(``report_tokens``), which reads the daily report and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from contracts.http import HttpStyle, Refused, Role, bearer, unstorable
from contracts.sqldb import StoreBusy, StoreUnavailable
from queueing.errors import QueueError
from queueing.server.counters import CounterLogins, LoginRefused
from queueing.server.schemas import MAX_BODY, invalid_body
from queueing.server.wire import refusal, to_json

ERROR_SCHEMA = {"type": "object", "required": ["error", "code"], "properties": {
    "error": {"type": "string", "description": "one-line message for people"},
    "code": {"type": "string", "description": "machine code, e.g. unknown_service, service_closed"}}}


def answer(data: Any, status: int = 200) -> JSONResponse:
    """Engine snapshots (dataclasses, datetimes) as JSON."""
    return JSONResponse(to_json(data), status_code=status)


def error_body(refused: Refused) -> dict[str, Any]:
    return {"error": refused.message, "code": refused.code, **refused.extra}


def queue_refused(exc: Exception) -> Refused:
    status, body = refusal(exc)  # type: ignore[arg-type]
    return Refused(status, body.pop("code"), body.pop("error"), **body)


def store_refused(exc: Exception) -> Refused:
    """The database cannot answer now (PostgreSQL down, the SQLite file locked by a stuck process): 503, retry."""
    if isinstance(exc, StoreBusy):
        return Refused(503, "store_busy", "the queue's database is busy; try again in a moment",
                       headers={"Retry-After": "2"})
    return Refused(503, "store_unavailable", "the queue's database cannot be reached; try again in a moment",
                   headers={"Retry-After": "5"})


def queue_style(logins: CounterLogins, kiosk_for: Callable[[str], str], report_for: Callable[[str], str],
                data_errors: tuple[type[Exception], ...] = ()) -> HttpStyle:
    """The style of every queue API route; counters authenticate against ``logins``, kiosks with ``kiosk_for``
    (bearer token → kiosk id, or :class:`Refused`), report readers with ``report_for`` (likewise); the store's
    ``data_errors`` are the caller's input (a 422)."""

    def authenticate(request: Request, role: str) -> int | str:
        if role == "kiosk":
            return kiosk_for(bearer(request))
        if role == "report":
            return report_for(bearer(request))
        counter = request.path_params.get("counter")  # none in the path: any counter's login will do
        token = bearer(request)
        owner = logins.counter_for(token) if token else None
        if owner is None:
            where = f"counter {counter}" if counter is not None else "a counter"
            raise LoginRefused(401, f"log in at {where} first (send Authorization: Bearer <token>)")
        if counter is not None and owner != counter:
            raise LoginRefused(403, f"this login is for counter {owner}, not counter {counter}")
        return owner

    return HttpStyle(error_body=error_body, error_schema=ERROR_SCHEMA, authenticate=authenticate,
                     roles={"counter": Role("counterToken", (401, 403)), "kiosk": Role("kioskToken"),
                            "report": Role("reportToken")},
                     invalid_body=invalid_body,
                     body_errors=(400, 422), too_large="body_too_large", max_body=MAX_BODY,
                     errors={QueueError: queue_refused, StoreUnavailable: store_refused, StoreBusy: store_refused,
                             **dict.fromkeys(data_errors, unstorable("bad_request"))})

