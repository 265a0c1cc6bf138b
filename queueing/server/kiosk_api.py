"""What kiosks ask the branch queue: services, lines and estimates, a ticket, and numbers for offline use.

Taking a ticket is idempotent per ``request_id`` (one per citizen tap), so a kiosk retrying after a lost answer
gets the same ticket. A kiosk that loses the server keeps issuing from a leased block of numbers and reports those
tickets afterwards under ``o-<its request id>``, the id printed in their QR.
"""

from __future__ import annotations

from starlette.responses import Response

from contracts.http import Call, Endpoint, Param
from queueing.errors import UnknownService
from queueing.models import NumberBlock, Ticket
from queueing.server.branch import Branch
from queueing.server.http import answer
from queueing.server.schemas import BadRequest, BlockRequest, OfflineTicketRequest, TicketRequest
from queueing.server.wire import to_json

MAX_AHEAD = 100_000


def kiosk_endpoints(branch: Branch) -> list[Endpoint]:
    engine = branch.engine

    async def services(_call: Call) -> Response:
        estimates = {s.code: s.estimated_wait_s for s in engine.status().services}
        return answer({"at": branch.now(), "services": [
            {**to_json(s), "estimated_wait_s": estimates.get(s.code, 0),
             "definition": engine.services[s.code].model_dump(mode="json")}
            for s in engine.services_overview()]})

    async def waiting(call: Call) -> Response:
        code = call.path["code"]
        if code not in engine.services:
            raise UnknownService(f"unknown service {code!r}; known: {', '.join(engine.services)}")
        return answer({"service": code, "tickets": engine.waiting(code)})

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
        return answer(engine.issue(body.service, request_id=body.request_id, priority=body.priority,
                                   kiosk_id=body.kiosk_id, booking_code=body.booking_code))

    async def ticket(call: Call) -> Response:
        return answer(branch.find(call.path["ticket_id"]))

    async def block(call: Call) -> Response:
        body: BlockRequest = call.body
        return answer(engine.reserve_block(body.service, body.size, holder=body.holder, day=body.day))

    async def offline_ticket(call: Call) -> Response:
        body: OfflineTicketRequest = call.body
        return answer(engine.record_offline(body.block_id, body.service, body.seq, request_id=body.request_id,
                                            issued_at=body.issued_at, priority=body.priority,
                                            booking_code=body.booking_code))

    return [
        Endpoint("GET", "/api/services", services, "Services with waiting counts, estimates and definitions"),
        Endpoint("GET", "/api/services/{code}/waiting", waiting, "Waiting tickets of a service in call order",
                 errors=(404,)),
        Endpoint("GET", "/api/services/{code}/estimate", estimate,
                 "Estimated wait for a given number of people ahead", errors=(400, 404),
                 params=(Param("ahead", {"type": "integer", "minimum": 0, "maximum": MAX_AHEAD}, "people ahead"),)),
        Endpoint("POST", "/api/tickets", issue, "Take a ticket (idempotent per request_id)", body=TicketRequest,
                 errors=(404, 409), ok={200: "the Ticket"}, returns=Ticket),
        Endpoint("GET", "/api/tickets/{ticket_id}", ticket,
                 "A ticket by id (or by the request id of an offline ticket)", errors=(404,), ok={200: "the Ticket"},
                 returns=Ticket),
        Endpoint("POST", "/api/blocks", block, "Lease a block of numbers to a kiosk for offline use",
                 body=BlockRequest, errors=(404, 409), ok={200: "the NumberBlock"}, returns=NumberBlock),
        Endpoint("POST", "/api/offline-tickets", offline_ticket, "Report a ticket issued offline from a leased block",
                 body=OfflineTicketRequest, errors=(404, 409), ok={200: "the Ticket"}, returns=Ticket),
    ]
