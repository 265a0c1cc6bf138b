"""Numbers taken from a phone (contracts E): the public routes of the phone page, and check-in at a kiosk or counter.

A citizen picks a service, asks for a one-time code by SMS (``phone_codes``: limits per phone, per address and per
centre), and trades it for a virtual number (``queueing.virtual``) plus a secret view token: the page polls
``GET /api/phone/tickets/{token}`` for its place (2,000 phones every 20 s: one indexed look-up on the reading
connection, the place from its line's keys kept for a second, ``virtual.Places``) and shows its check-in QR,
``{public_url}/phone/c/{code}``. A kiosk that scans it sends the code (``POST /api/checkin``, kiosk role); a counter
can type the number instead (``POST /api/counter/checkin``, any counter's login). The view never shows the phone,
only the number and the place. Every public route is throttled: reads per client address and per token in memory,
codes in the database.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from config.localtime import LOCAL_TZ
from config.schema import PhoneQueueSection
from contracts.http import Call, Endpoint, Refused, refusal
from contracts.ratelimit import TokenBuckets
from contracts.sms import SmsGateway
from queueing import virtual
from queueing.errors import (
    AlreadyCheckedIn,
    CheckInExpired,
    HasActiveNumber,
    NotCheckable,
    PhoneCapReached,
    UnknownCheckIn,
)
from queueing.models import PhoneTicket, Ticket
from queueing.server.branch import Branch
from queueing.server.http import answer
from queueing.server.phone_codes import PhoneCodes, too_many
from queueing.server.phone_notify import PhoneNotices
from queueing.server.phone_schemas import CheckInRequest, CodeRequest, CounterCheckInRequest, PhoneTicketRequest
from queueing.server.phone_sms import SmsSender

COME_EARLY = timedelta(minutes=10)  # "come by" is this much before the expected call
TOKEN_READS_PER_MIN = 30            # a page polls every 20 s; a reload or two on top
MAX_TOKEN = 64
STATES = {"no_show": "skipped", "transferred": "done"}  # engine state → what the page shows (others as they are)
CHECK_IN_REFUSALS = {UnknownCheckIn: refusal(404, "unknown_code"), AlreadyCheckedIn: refusal(409, "already_checked_in"),
                     NotCheckable: refusal(409, "not_waiting"), CheckInExpired: refusal(410, "expired")}


@dataclass
class PhoneDesk:
    """What the phone routes share: the codes, the SMS sender (woken after each change), the URL the QR points at."""

    branch: Branch
    settings: PhoneQueueSection
    codes: PhoneCodes
    sender: SmsSender
    public_url: str


def phone_desk(branch: Branch, settings: PhoneQueueSection, gateway: SmsGateway, public_url: str,
               clock: Callable[[], float]) -> PhoneDesk:
    """The phone queue of ``branch``: its codes, its upkeep and its SMS sender thread (stopped with the engine)."""
    engine = branch.engine
    today = lambda: branch.today().isoformat()  # noqa: E731
    codes = PhoneCodes(engine.db, settings, branch.title, clock)
    notices = PhoneNotices(engine, settings, branch.title, today, clock)

    def upkeep() -> None:
        notices.upkeep()
        codes.forget_expired()

    sender = SmsSender(engine.db, gateway, today, clock=clock, upkeep=upkeep)
    engine.when_closed(sender.close)
    branch.after_call.append(sender.wake)  # skips and "near" messages right after each call
    sender.start()
    return PhoneDesk(branch, settings, codes, sender, public_url)


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


def _minutes(seconds: int) -> int:
    return math.ceil(seconds / 60)


def view(desk: PhoneDesk, ticket: PhoneTicket) -> dict[str, Any]:
    """The page's VIEW of contracts E: number and place, never the phone."""
    come_by = None
    if ticket.state == "virtual":
        now = desk.branch.now().astimezone(LOCAL_TZ)
        come_by = max(now, now + timedelta(seconds=ticket.estimated_wait_s) - COME_EARLY).strftime("%H:%M")
    return {"number": ticket.number, "service": ticket.service,
            "service_name": desk.branch.service_name(ticket.service), "state": STATES.get(ticket.state, ticket.state),
            "people_ahead": ticket.people_ahead, "estimate_min": _minutes(ticket.estimated_wait_s),
            "come_by": come_by, "counter": ticket.counter, "requeue_allowed": ticket.requeue_allowed,
            "checkin_url": f"{desk.public_url}/phone/c/{ticket.checkin_code}"}


def _checked_in(ticket: Ticket) -> dict[str, Any]:
    return {"number": ticket.number, "service": ticket.service, "state": ticket.state,
            "people_ahead": ticket.people_ahead, "estimate_min": _minutes(ticket.estimated_wait_s)}


def _until_midnight(now: datetime) -> int:
    local = now.astimezone(LOCAL_TZ)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), LOCAL_TZ)
    return max(1, math.ceil((midnight - local).total_seconds()))


def _throttle(per_address: TokenBuckets, per_token: TokenBuckets | None = None) -> Callable[[Request, Any], None]:
    def check(request: Request, _caller: Any) -> None:
        wait = per_address.take(_address(request))
        if not wait and per_token is not None:
            wait = per_token.take(str(request.path_params.get("token", ""))[:MAX_TOKEN])
        if wait:
            raise too_many(wait, "too many requests")
    return check


def phone_endpoints(desk: PhoneDesk) -> list[Endpoint]:
    branch, engine, settings = desk.branch, desk.branch.engine, desk.settings
    reads = TokenBuckets(settings.reads_per_address_min)
    per_token = TokenBuckets(TOKEN_READS_PER_MIN)
    # writes per client address a minute (codes asked and traded, cancels, re-queues); the hourly code limits
    # are counted in the database besides
    writes = TokenBuckets(max(10, settings.codes_per_address_hour))
    cap_refusals = {HasActiveNumber: refusal(409, "already_has_number"),
                    PhoneCapReached: lambda exc: Refused(429, "daily_limit", str(exc), headers={
                        "Retry-After": str(_until_midnight(branch.now()))})}

    def digest_of(call: Call) -> str:
        token = call.path["token"]
        if len(token) > MAX_TOKEN:
            raise Refused(404, "unknown_ticket", "no number from a phone with that token")
        return virtual.digest(token)

    async def services(_call: Call) -> Response:
        with engine.db.reading() as conn:
            phones = virtual.virtual_counts(conn, branch.today().isoformat())
        listed = []
        for overview in engine.services_overview():
            waiting = overview.waiting + phones.get(overview.code, 0)  # printed and checked in, then not yet
            listed.append({"code": overview.code, "name_vi": overview.name_vi, "name_en": overview.name_en,
                           "waiting": waiting, "estimate_min": _minutes(engine.estimate_wait_s(overview.code, waiting)),
                           "open": overview.open_now})
        return answer({"centre": branch.title, "services": listed})

    async def ask_code(call: Call) -> Response:
        body: CodeRequest = call.body
        engine.ensure_open(body.service)
        await run_in_threadpool(desk.codes.request, body.phone, body.service, _address(call.request),
                                branch.today().isoformat())
        desk.sender.wake()
        return answer({"sent": True, "expires_in_s": settings.otp_ttl_s,
                       "resend_after_s": settings.resend_after_s}, 202)

    async def take(call: Call) -> Response:
        body: PhoneTicketRequest = call.body
        engine.ensure_open(body.service)
        await run_in_threadpool(desk.codes.redeem, body.phone, body.otp, body.service)
        token = virtual.new_view_token()
        ticket = await run_in_threadpool(partial(engine.issue_virtual, body.service, phone=body.phone,
                                                 view_digest=virtual.digest(token),
                                                 max_per_day=settings.max_per_day))
        desk.sender.wake()  # a number taken with few ahead is near at once
        return answer({"token": token, "ticket": view(desk, ticket)}, 201)

    async def show(call: Call) -> Response:
        return answer(view(desk, engine.phone_ticket(digest_of(call))))

    async def cancel(call: Call) -> Response:
        return answer(view(desk, await run_in_threadpool(engine.cancel_virtual, digest_of(call))))

    async def requeue(call: Call) -> Response:
        ticket = await run_in_threadpool(engine.requeue_virtual, digest_of(call))
        desk.sender.wake()
        return answer(view(desk, ticket))

    async def kiosk_check_in(call: Call) -> Response:
        ticket = await run_in_threadpool(partial(engine.check_in, code=call.body.code))
        desk.sender.wake()
        return answer(_checked_in(ticket))

    async def counter_check_in(call: Call) -> Response:
        ticket = await run_in_threadpool(partial(engine.check_in, number=call.body.number))
        desk.sender.wake()
        return answer(_checked_in(ticket))

    public = _throttle(reads)
    by_token = _throttle(reads, per_token)
    written = _throttle(writes)
    token_writes = _throttle(writes, per_token)
    return [
        Endpoint("GET", "/api/phone/services", services, "Services a number can be taken for from a phone, with "
                 "their lines and estimates", throttle=public, errors=(429,)),
        Endpoint("POST", "/api/phone/otp", ask_code, "Send a one-time code by SMS to take a number",
                 body=CodeRequest, throttle=written, refusals=cap_refusals, errors=(404, 409, 429),
                 ok={202: "{sent, expires_in_s, resend_after_s}"}),
        Endpoint("POST", "/api/phone/tickets", take, "Trade the one-time code for a number; returns the page's "
                 "token and the number's view", body=PhoneTicketRequest, throttle=written, refusals=cap_refusals,
                 errors=(404, 409, 422, 429), ok={201: "{token, ticket}"}),
        Endpoint("GET", "/api/phone/tickets/{token}", show, "A number from a phone: place, estimate, check-in link",
                 throttle=by_token, errors=(404, 429)),
        Endpoint("POST", "/api/phone/tickets/{token}/cancel", cancel, "Give the number up (before it is called)",
                 throttle=token_writes, errors=(404, 409, 429)),
        Endpoint("POST", "/api/phone/tickets/{token}/requeue", requeue, "Back to the end of the line once, after "
                 "a skip for not checking in", throttle=token_writes, errors=(404, 409, 429)),
        Endpoint("POST", "/api/checkin", kiosk_check_in, "Check in a number from a phone by its QR code",
                 auth="kiosk", body=CheckInRequest, refusals=CHECK_IN_REFUSALS, errors=(404, 409, 410)),
        Endpoint("POST", "/api/counter/checkin", counter_check_in, "Check in a number from a phone by its number "
                 "(any counter's login)", auth="counter", body=CounterCheckInRequest, refusals=CHECK_IN_REFUSALS,
                 errors=(404, 409, 410)),
    ]
