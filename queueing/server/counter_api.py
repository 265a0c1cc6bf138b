"""What counter staff do: log in, see their line, call the next number, recall, start, finish, skip, transfer.

Every route but the login needs the counter's own token (the ``counter`` role). Calls and recalls are announced
to the display boards. The page polls ``GET /api/counters/{n}``, so it reads the head of the line and the day's
figures from the cheap read views, never the whole day. Moves run on worker threads: each waits for its commit
to reach the disk.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from contracts.http import Call, Endpoint, Handler
from queueing.models import Ticket
from queueing.priority import PRIORITY_CATEGORIES
from queueing.server.branch import Branch
from queueing.server.http import answer
from queueing.server.report_api import REPORT_COLUMNS
from queueing.server.schemas import BadRequest, CallNextRequest, LoginRequest, TransferRequest

COUNTER_WAITING_SHOWN = 50
# action → what it does; each is the engine method of the same name (no-show: no_show) on the current ticket
MOVES = {"recall": "Call the current ticket again", "start": "The citizen arrived: start serving",
         "finish": "Finish the current ticket", "no-show": "The called citizen did not come",
         "skip": "Same as no-show"}
ZERO_FIGURES = {column: 0 for column in REPORT_COLUMNS[:4]}  # a counter's figures before its first call
COUNTER = "/api/counters/{counter:int}"


def counter_endpoints(branch: Branch) -> list[Endpoint]:
    engine = branch.engine
    moves: dict[str, Callable[[str], Ticket]] = {action: getattr(engine, action.replace("-", "_")) for action in MOVES}

    def current(counter: int) -> Ticket:
        ticket = engine.current(counter)
        if ticket is None:
            raise BadRequest(409, f"counter {counter} has no called or serving ticket; call the next number first",
                             "no_current_ticket")
        return ticket

    async def login(call: Call) -> Response:
        counter = call.path["counter"]
        address = call.request.client.host if call.request.client else ""
        token = await run_in_threadpool(branch.logins.login, counter, call.body.password, address)  # scrypt: a thread
        return answer({"counter": counter, "token": token})

    async def view(call: Call) -> Response:
        counter = call.caller
        codes = [s.code for s in engine.services.values() if counter in s.counters]
        day = branch.today()
        line, waiting_total = branch.views.line(day, codes, COUNTER_WAITING_SHOWN)
        return answer({"counter": counter, "services": codes, "current": engine.current(counter),
                       "waiting": line, "waiting_total": waiting_total,
                       "today": branch.views.figures(day, counter) or {"counter": counter, **ZERO_FIGURES},
                       "all_services": [{"code": s.code, "name_vi": s.name_vi} for s in engine.services.values()],
                       "priority_labels": {c.code: c.label_vi for c in PRIORITY_CATEGORIES}})

    async def call_next(call: Call) -> Response:
        counter = call.caller
        called = await run_in_threadpool(engine.call_next, counter, call.body.services)
        if called is not None:
            branch.announce(called, counter, recall=False)
        return answer({"counter": counter, "ticket": called})

    def move(action: str) -> Handler:
        async def handler(call: Call) -> Response:
            counter = call.caller
            moved = await run_in_threadpool(moves[action], current(counter).id)
            if action == "recall":
                branch.announce(moved, counter, recall=True)
            return answer({"counter": counter, "ticket": moved})
        return handler

    async def transfer(call: Call) -> Response:
        counter = call.caller
        moved = await run_in_threadpool(engine.transfer, current(counter).id, call.body.to_service)
        return answer({"counter": counter, "ticket": moved})

    async def unknown_action(call: Call) -> Response:
        raise BadRequest(404, f"unknown counter action {call.path['action']!r}; use call-next, "
                              f"{', '.join(moves)} or transfer", "unknown_action")

    return [
        Endpoint("POST", f"{COUNTER}/login", login, "Log a counter in with its password; returns a bearer token",
                 body=LoginRequest, errors=(401, 404, 422, 429)),
        Endpoint("GET", COUNTER, view, "Current ticket, waiting list and today's figures", auth="counter"),
        Endpoint("POST", f"{COUNTER}/call-next", call_next,
                 "Call the next ticket under the priority policy ({ticket: null} when nobody waits)",
                 auth="counter", body=CallNextRequest, optional_body=True, errors=(404, 409)),
        *(Endpoint("POST", f"{COUNTER}/{action}", move(action), summary, auth="counter", errors=(409,))
          for action, summary in MOVES.items()),
        Endpoint("POST", f"{COUNTER}/transfer", transfer,
                 "Transfer the current ticket to another service (same number, original place)", auth="counter",
                 body=TransferRequest, errors=(404, 409)),
        Endpoint("POST", f"{COUNTER}/{{action}}", unknown_action, "Any other action: 404 naming the known ones",
                 auth="counter", documented=False),
    ]
