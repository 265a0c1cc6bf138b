"""The city pages' live feed: Server-Sent Events that follow the stores, not this process's memory.

A stream polls :meth:`backend.city_view.CityView.version` every :data:`POLL_S`; when the version changed (a branch
report arrived, through whichever backend process) or :data:`~backend.city_view.REFRESH_S` passed, it sends the
page what it shows: ``event: city`` with the ENTRY list then ``event: changes`` with the entries that changed
(:func:`city_message`), or ``event: centre`` with one centre's drill-down (only when that centre's figures
changed). Because it asks the database, a page connected to one backend process sees reports received by any
other. Between events a ``: keep-alive`` comment every :data:`KEEPALIVE_S` keeps proxies
from closing the idle connection, and the admin session is checked before each message, so logging out (anywhere)
ends the stream. A stream ends after :data:`LIFETIME_S` and the browser reconnects by itself (``retry``), so no
connection lives for days. When the database stops answering the stream says so (``event: unavailable``) and ends;
the page keeps its last figures, marked out of date, and reconnects.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

from backend.city_view import CityView
from contracts.sqldb import StoreBusy, StoreUnavailable

POLL_S = 1.0
KEEPALIVE_S = 10.0
LIFETIME_S = 300.0
RETRY_MS = 2000


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def city_message(live: dict[str, Any], sent: dict[str, dict[str, Any]] | None) -> str:
    """``city`` (every ENTRY) for a page that has none yet, then ``changes``: only the entries that differ from what
    the page has, and the centres gone. Hundreds of centres reporting every 30 s change a few entries a second; the
    whole list each time would be ~1 MB a second per wall screen, the changes are a few KB. A ``changes`` with no
    entry still tells the page its figures are current."""
    if sent is None:
        return sse("city", live)
    ids = {entry["centre"] for entry in live["centres"]}
    return sse("changes", {"at": live["at"], "version": live["version"],
                           "centres": [entry for entry in live["centres"] if sent.get(entry["centre"]) != entry],
                           "removed": [centre for centre in sent if centre not in ids]})


async def city_stream(view: CityView, session_alive: Callable[[], bool], centre: str | None = None, *,
                      poll_s: float = POLL_S, keepalive_s: float = KEEPALIVE_S,
                      lifetime_s: float = LIFETIME_S) -> AsyncIterator[str]:
    """The text of one stream: the city's ENTRY list (``centre`` None) or that centre's drill-down."""
    loop = asyncio.get_running_loop()
    ends = loop.time() + lifetime_s
    shown: Any = None  # the last snapshot sent on (the city), or the centre's entry in it
    sent: dict[str, dict[str, Any]] = {}  # the city: centre → the entry the page has
    quiet_since = loop.time()
    yield f"retry: {RETRY_MS}\n\n"
    try:
        while loop.time() < ends:
            live = await run_in_threadpool(view.live, await run_in_threadpool(view.version))
            message = None
            if centre is None:
                if live is not shown:
                    message = city_message(live, sent if shown is not None else None)
                    shown, sent = live, {entry["centre"]: entry for entry in live["centres"]}
            else:
                entry = next((e for e in live["centres"] if e["centre"] == centre), None)
                if entry != shown:
                    shown = entry
                    message = sse("centre", await run_in_threadpool(view.centre, centre))
            if message is None and loop.time() - quiet_since >= keepalive_s:
                message = ": keep-alive\n\n"
            if message is not None:
                if not await run_in_threadpool(session_alive):
                    yield sse("logged_out", {})
                    return
                yield message
                quiet_since = loop.time()
            await asyncio.sleep(poll_s)
    except (StoreUnavailable, StoreBusy):
        yield sse("unavailable", {"message": "Cơ sở dữ liệu của backend không trả lời; trang đang thử kết nối lại."})
