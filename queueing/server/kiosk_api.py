"""What kiosks ask the branch queue: services, lines and estimates, a ticket, and numbers for offline use.

Taking a ticket is idempotent per ``request_id`` (one per citizen tap), so a kiosk retrying after a lost answer
gets the same ticket. A kiosk that loses the server keeps issuing from a leased block of numbers and reports those
tickets afterwards under ``o-<its request id>``, the id printed in their QR.

Every write needs a kiosk token (the ``kiosk`` role); the kiosk it names is the one a ticket is recorded under and a
block is leased to, whatever the body says, and only that kiosk may report tickets from its block. Reads stay
public, and a waiting list shows no priority category and no kiosk (``public_ticket``).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from contracts.http import Call, Endpoint, Param, bearer
from queueing.errors import UnknownService
from queueing.models import NumberBlock, Ticket
from queueing.server.branch import Branch
from queueing.server.http import answer
from queueing.server.schemas import BadRequest, BlockRequest, OfflineTicketRequest, TicketRequest
from queueing.server.wire import to_json

MAX_AHEAD = 100_000


def public_ticket(ticket: Ticket) -> Ticket:
    """What anyone may see of a ticket: not its priority category (e.g. "pregnant") nor the kiosk that issued it."""
    return replace(ticket, priority=None, kiosk_id=None)


def kiosk_endpoints(branch: Branch) -> list[Endpoint]:
    engine = branch.engine

    async def services(call: Call) -> Response:
        branch.notice(bearer(call.request))
        estimates = {s.code: s.estimated_wait_s for s in engine.status().services}
        return answer({"at": branch.now(), "services": [
            {**to_json(s), "estimated_wait_s": estimates.get(s.code, 0),
             "definition": engine.services[s.code].model_dump(mode="json")}
            for s in engine.services_overview()]})

    async def waiting(call: Call) -> Response:
        code = call.path["code"]
        if code not in engine.services:
            raise UnknownService(f"unknown service {code!r}; known: {', '.join(engine.services)}")
        return answer({"service": code, "tickets": [public_ticket(t) for t in engine.waiting(code)]})

    async def estimate(call: Call) -> Response:
        try:
            ahead = int(call.query.get("ahead", "0"))
        except ValueError:
            raise BadRequest(400, "ahead must be a whole number of people") from None
        if not 0 <= ahead <= MAX_AHEAD:
            raise BadRequest(400, f"ahead must be between 0 and {MAX_AHEAD}")
        code = call.path["code"]
        return answer({"service": code, "ahead": ahead, "estimated_wait_s": engine.estimate_wait_s(code, ahead)})

    async def issue(call: Call) -> Response:
        body: TicketRequest = call.body
        return answer(await run_in_threadpool(  # waits for its fsync: off the event loop, batched with others'
            partial(engine.issue, body.service, request_id=body.request_id, priority=body.priority,
                    kiosk_id=call.caller, booking_code=body.booking_code)))

    async def ticket(call: Call) -> Response:
        return answer(public_ticket(branch.find(call.path["ticket_id"])))

    async def block(call: Call) -> Response:
        body: BlockRequest = call.body
        return answer(await run_in_threadpool(partial(engine.reserve_block, body.service, body.size,
                                                      holder=call.caller, day=body.day)))

    async def offline_ticket(call: Call) -> Response:
        body: OfflineTicketRequest = call.body
        late = branch.presence.late(call.caller, body.issued_at, branch.now())
        return answer(await run_in_threadpool(partial(
            engine.record_offline, body.block_id, body.service, body.seq, request_id=body.request_id,
            issued_at=body.issued_at, priority=body.priority, booking_code=body.booking_code, kiosk=call.caller,
            late=late)))

    return [
        Endpoint("GET", "/api/services", services, "Services with waiting counts, estimates and definitions"),
        Endpoint("GET", "/api/services/{code}/waiting", waiting, "Waiting tickets of a service in call order",
                 errors=(404,)),
        Endpoint("GET", "/api/services/{code}/estimate", estimate,
                 "Estimated wait for a given number of people ahead", errors=(400, 404),
                 params=(Param("ahead", {"type": "integer", "minimum": 0, "maximum": MAX_AHEAD}, "people ahead"),)),
        Endpoint("POST", "/api/tickets", issue, "Take a ticket (idempotent per request_id)", auth="kiosk",
                 body=TicketRequest, errors=(404, 409), ok={200: "the Ticket"}, returns=Ticket),
        Endpoint("GET", "/api/tickets/{ticket_id}", ticket, "A ticket by id (or by the request id of an offline "
                 "ticket), without priority or kiosk", errors=(404,), ok={200: "the Ticket"}, returns=Ticket),
        Endpoint("POST", "/api/blocks", block, "Lease a block of today's numbers to the calling kiosk for offline "
                 "use", auth="kiosk", body=BlockRequest, errors=(404, 409, 422), ok={200: "the NumberBlock"},
                 returns=NumberBlock),
        Endpoint("POST", "/api/offline-tickets", offline_ticket, "Report a ticket issued offline from the calling "
                 "kiosk's block", auth="kiosk", body=OfflineTicketRequest, errors=(403, 404, 409, 422),
                 ok={200: "the Ticket"}, returns=Ticket),
    ]
