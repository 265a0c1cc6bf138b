"""Citizens following a number from a phone, as the load benches (``phone_load``, ``city_load``) make them.

What the benches share: the phone page's poll interval and request, the phone numbers they use (valid Vietnamese
mobile prefixes, one per citizen), the ``[queue.phone]`` limits a bench raises, and the real way to take a number
from a phone — ask a one-time code (``POST /api/phone/otp``), read it where the SMS simulator of ``queue serve``
spooled it (``DATA_DIR/sms-sim/``, ``contracts.sms.read_simulated``), trade it (``POST /api/phone/tickets``).

Why the limits are raised: every phone of a bench comes from 127.0.0.1, one client address, where a real centre's
phones come from many (or from behind a few carrier NATs). The defaults — 20 codes per address an hour, 6,000 page
reads per address a minute — would refuse a bench's set-up and its polls at a few times the real rate. The per-phone
limits (3 codes an hour, a resend pause) and the per-token read limit (30 a minute) are left as they are: a bench's
phone asks once and polls at the page's interval.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

from bench._http import HttpFailure, Pool
from contracts.sms import read_simulated

POLL_S = 20.0  # the phone page's interval
CODES_PER_ADDRESS_HOUR = 10_000  # the schema's highest: one address asks every phone's code
MAX_PER_DEPLOYMENT = CODES_PER_ADDRESS_HOUR // 2  # a code and a number each count against the writes a minute
SETUP_CONCURRENCY = 16
CODE_WAIT_S = 120.0  # the server's SMS sender spools a batch of 20 per turn; 2,000 codes on a busy machine
_CODE = re.compile(r"(\d{6}) ")  # a code message starts with its six digits (queueing.server.phone_codes.code_text)


class PhoneSetupFailed(RuntimeError):
    """A phone could not take its number; the message says which step answered what."""


def phone_number(n: int) -> str:
    """The ``n``-th citizen's phone: 091 and seven digits (``0910000042``), a valid VinaPhone number."""
    return f"091{n:07d}"


def poll_path(token: str) -> str:
    return f"/api/phone/tickets/{token}"


def bench_limits() -> list[str]:
    """The ``[queue.phone]`` lines of a bench's queue config: limits per client address raised (module docstring)."""
    return ["[queue.phone]", "max_per_day = 100000", f"codes_per_address_hour = {CODES_PER_ADDRESS_HOUR}",
            "reads_per_address_min = 1000000"]


async def take_numbers(pool: Pool, spool: Path, wanted: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A number for each (phone, service) through the real one-time-code flow; [(view token, number)] in order.

    :param pool: to the queue server (no token: the phone routes are public).
    :param spool: that server's SMS simulator directory, where the codes arrive.
    :raises PhoneSetupFailed: an answer other than the flow's, or a code that never arrived.
    """
    limit = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def post(path: str, body: dict[str, str], expected: int) -> dict:
        try:
            async with limit:
                answer = await pool.request("POST", path, json=body)
        except HttpFailure as exc:
            raise PhoneSetupFailed(f"POST {path}: no answer ({exc})") from None
        if answer.status != expected:
            raise PhoneSetupFailed(f"POST {path}: {answer.status} {answer.body[:200].decode(errors='replace')}")
        return answer.json()

    await asyncio.gather(*(post("/api/phone/otp", {"phone": phone, "service": service}, 202)
                           for phone, service in wanted))
    codes = await spooled_codes(spool, {phone for phone, _service in wanted})
    taken = await asyncio.gather(*(post("/api/phone/tickets", {"phone": phone, "otp": codes[phone],
                                                               "service": service}, 201)
                                   for phone, service in wanted))
    return [(answer["token"], answer["ticket"]["number"]) for answer in taken]


async def spooled_codes(spool: Path, phones: set[str], wait_s: float = CODE_WAIT_S) -> dict[str, str]:
    """The latest code spooled for each of ``phones``, waiting (up to ``wait_s``) until all have one.

    :raises PhoneSetupFailed: some never arrived.
    """
    deadline = time.monotonic() + wait_s
    while True:
        codes = {}
        for message in await asyncio.to_thread(read_simulated, spool):
            found = _CODE.match(message.get("text", ""))
            if found and message.get("phone") in phones:
                codes[message["phone"]] = found.group(1)
        if len(codes) == len(phones):
            return codes
        if time.monotonic() > deadline:
            raise PhoneSetupFailed(f"{len(phones) - len(codes)} of {len(phones)} one-time codes did not reach the "
                                   f"SMS simulator's spool {spool} in {wait_s:g} s")
        await asyncio.sleep(0.2)
