"""What display boards follow: the board's snapshot, its live events (Server-Sent Events) and spoken calls.

A board opens ``/api/events`` once and gets a snapshot, every call the moment a counter makes it, and a fresh
snapshot every heartbeat (see ``events``). Boards on TVs with no local Vietnamese voice fetch each call as a WAV
spoken by this server's espeak-ng; the same call is cached, as staff recall numbers often.
"""

from __future__ import annotations

import re
from functools import lru_cache

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from contracts.http import Call, Endpoint, Param
from contracts.voice import wav_bytes
from queueing.server.branch import Branch
from queueing.server.http import answer
from queueing.server.schemas import BadRequest

ANNOUNCED_NUMBER = re.compile(r"^[A-Z]{1,2}[0-9]{3,4}$")


@lru_cache(maxsize=256)
def spoken_call(number: str, counter: int) -> bytes | None:
    """"Mời công dân có số A 0 1 2 đến quầy số 3": digits one by one, as staff call them."""
    return wav_bytes(f"Mời công dân có số {' '.join(number)} đến quầy số {counter}")


def board_endpoints(branch: Branch) -> list[Endpoint]:
    async def status(_call: Call) -> Response:
        return answer(branch.snapshot())

    async def events(_call: Call) -> Response:
        return StreamingResponse(branch.hub.stream(branch.snapshot), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def announcement(call: Call) -> Response:
        number, counter = call.query.get("number", ""), call.query.get("counter", "")
        # ASCII digits only: "²".isdigit() is true, and int("²") raises
        if not ANNOUNCED_NUMBER.match(number) or not (counter.isascii() and counter.isdigit()) \
                or not 1 <= int(counter) <= 999:
            raise BadRequest(422, "number must look like A012 and counter be 1-999", "bad_announcement")
        audio = await run_in_threadpool(spoken_call, number, int(counter))
        if audio is None:
            raise BadRequest(404, "no local Vietnamese voice on the server (install espeak-ng)", "no_voice")
        return Response(audio, media_type="audio/wav", headers={"Cache-Control": "public, max-age=86400"})

    return [
        Endpoint("GET", "/api/status", status, "Board snapshot: services, counters, last calls"),
        Endpoint("GET", "/api/events", events, "Server-Sent Events: status snapshots and calls",
                 produces="text/event-stream"),
        Endpoint("GET", "/api/announce.wav", announcement, "A call spoken in Vietnamese (espeak-ng on the server)",
                 errors=(404, 422), produces="audio/wav",
                 params=(Param("number", {"type": "string", "pattern": ANNOUNCED_NUMBER.pattern},
                              "ticket number, e.g. A012"),
                        Param("counter", {"type": "integer", "minimum": 1, "maximum": 999}, "counter number"))),
    ]
