"""The queue server's link to the city: a snapshot of the centre's figures every interval, delivered to the backend.

``queue serve --report-to BACKEND_URL`` runs one :class:`CitySender` per server process, on a thread of its own
started and stopped with the app (its lifespan). Each turn, at the start of every report slot:

1. the snapshot of the slot (``queueing.city_figures``) is committed to the outbox (``queueing.city_outbox``):
   one per slot however many processes serve the database;
2. everything unsent is POSTed, oldest first, in batches of at most :data:`BATCH` snapshots and
   :data:`BATCH_BYTES`, to ``BACKEND_URL/api/city/reports`` with ``Authorization: Bearer QUEUE_REPORT_TOKEN``;
   a snapshot is marked delivered only when the backend answered 200.

When it is not 200:

* no answer, 5xx, 429: try again after a back-off that starts at the interval and doubles to :data:`MAX_BACKOFF_S`;
  the first failure of an outage and the recovery are logged, not every try;
* 401/403: the token is wrong on one side: logged at most once an hour, snapshots kept, tried again as above;
* 400/413/422: a snapshot the backend will not take. The batch is sent one snapshot at a time to find it; one
  refused :data:`~queueing.city_outbox.DEAD_AFTER` times alone is set aside (logged), so it never blocks the rest.

The clock is injectable (``clock``, aware local time) and :meth:`CitySender.step` is one turn, so tests drive a
whole outage without waiting for it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import ssl
import threading
from collections.abc import Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from config.localtime import LOCAL_TZ
from contracts.sqldb import StoreBusy, StoreUnavailable
from queueing.city_figures import Centre, branch_figures
from queueing.city_outbox import CityOutbox, Pending
from queueing.engine import QueueEngine

log = logging.getLogger(__name__)
PATH = "/api/city/reports"
BATCH = 200  # the backend takes 1..200 reports a request
BATCH_BYTES = 1024 * 1024  # well under the backend's 4 MiB cap for a batch
MAX_BACKOFF_S = 60.0
AUTH_LOG_EVERY_S = 3600.0
TIMEOUT_S = 10.0
BATCHES_PER_TURN = 50  # a week's backlog (20,160 snapshots at 30 s) drains in two turns, snapshots keep coming
REFUSED = (400, 413, 422)


@dataclass(frozen=True)
class CityLink:
    """Where the branch reports to and as whom: the backend's base URL, the report token, the centre, the
    interval and the CA that signed an https:// backend's certificate (None: the system's CAs)."""

    url: str
    token: str
    centre: Centre
    interval_s: float = 30.0
    ca_file: Path | None = None

    def client(self) -> httpx.Client:
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else True
        return httpx.Client(base_url=self.url.rstrip("/"), timeout=TIMEOUT_S, verify=verify,
                            headers={"Authorization": f"Bearer {self.token}"})


class CitySender:
    def __init__(self, link: CityLink, engine: QueueEngine, *, clock: Callable[[], datetime],
                 kiosks: Iterable[str] = (), displays_online: Callable[[], int] = lambda: 0,
                 online_within: timedelta = timedelta(seconds=60), client: httpx.Client | None = None) -> None:
        """:param kiosks: the kiosks with a token on this server; ``displays_online``: board streams now;
        ``online_within``: how recently a kiosk must have been heard to be online (``kiosks.Presence.GAP``)."""
        self.link = link
        self.engine = engine
        self.outbox = CityOutbox(engine.db)
        self._clock = clock
        self._kiosks = tuple(kiosks)
        self._displays = displays_online
        self._online_within = online_within
        self._client = client or link.client()
        self._next_send_s = -math.inf
        self._backoff_s = 0.0
        self._isolate_until = 0  # seqs up to this one go alone: a batch holding them was refused
        self._auth_logged_s = -math.inf
        self._failing_since: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one turn ----------------------------------------------------------------------------------------------
    def step(self) -> None:
        """Take this slot's snapshot, then deliver what is due. A database that does not answer is logged and
        tried again next turn (the snapshot of a slot the database missed is lost; the earlier ones are kept)."""
        try:
            self.snapshot()
            self.deliver()
        except (StoreUnavailable, StoreBusy) as exc:
            log.warning("branch report turn skipped, the queue database is not answering: %s", exc)
        except Exception:  # the thread must outlive any one turn; the traceback is in the log
            log.exception("branch report turn failed; trying again at the next interval")

    def snapshot(self) -> int | None:
        """Record the current slot's snapshot; its seq, or None when a process already took the slot."""
        now = self._clock()
        slot = str(math.floor(now.timestamp() / self.link.interval_s))
        report = branch_figures(self.engine, self.link.centre, now, kiosks=self._kiosks,
                                online_within=self._online_within, displays_online=self._displays())
        return self.outbox.record(slot, report, now.timestamp())

    def deliver(self) -> None:
        now_s = self._clock().timestamp()
        if now_s < self._next_send_s:
            return
        lost = self.outbox.trim(now_s)
        if lost:
            log.error("dropped %d branch reports the backend did not take in 7 days: the city view lacks them", lost)
        for _ in range(BATCHES_PER_TURN):
            with self.outbox.sending() as mine:
                if not mine:
                    return  # another process of this server is sending
                batch = self.outbox.pending(BATCH, BATCH_BYTES)
                if batch and batch[0].seq <= self._isolate_until:
                    batch = batch[:1]
                if not batch or not self._send(batch, now_s):
                    return

    def _send(self, batch: list[Pending], now_s: float) -> bool:
        """POST ``batch``; True when the next batch may follow at once."""
        try:
            response = self._client.post(PATH, json={"reports": [item.report for item in batch]})
        except httpx.HTTPError as exc:
            return self._failed(now_s, f"{type(exc).__name__}: {exc}")
        status = response.status_code
        if status == 200:
            self.outbox.delivered([item.seq for item in batch], now_s)
            if self._failing_since is not None:
                log.warning("backend %s answers again: delivering the branch reports kept since %s", self.link.url,
                            datetime.fromtimestamp(self._failing_since, LOCAL_TZ).isoformat(timespec="seconds"))
            self._failing_since, self._backoff_s, self._next_send_s = None, 0.0, -math.inf
            return True
        if status in REFUSED:
            return self._refused(batch, response, now_s)
        if status in (401, 403):
            if now_s - self._auth_logged_s >= AUTH_LOG_EVERY_S:
                self._auth_logged_s = now_s
                log.error("backend %s refuses this server's report token (%d): give it QUEUE_REPORT_TOKEN's value "
                          "in BACKEND_REPORT_TOKEN; reports are kept meanwhile", self.link.url, status)
            self._back_off(now_s)
            return False
        return self._failed(now_s, f"HTTP {status}")

    def _refused(self, batch: list[Pending], response: httpx.Response, now_s: float) -> bool:
        if len(batch) > 1:
            self._isolate_until = batch[-1].seq  # find the one refused: send them one at a time
            return True
        message = _message(response)
        if self.outbox.refused(batch[0].seq):
            log.error("branch report %d set aside: the backend refuses it (%s)", batch[0].seq, message)
            return True
        log.warning("backend refused branch report %d (%s); trying it again", batch[0].seq, message)
        self._back_off(now_s)
        return False

    def _failed(self, now_s: float, why: str) -> bool:
        if self._failing_since is None:
            self._failing_since = now_s
            log.warning("backend %s unreachable (%s): branch reports are kept and sent when it answers",
                        self.link.url, why)
        self._back_off(now_s)
        return False

    def _back_off(self, now_s: float) -> None:
        self._backoff_s = min(MAX_BACKOFF_S, max(self.link.interval_s, self._backoff_s * 2))
        self._next_send_s = now_s + self._backoff_s

    # -- running on a thread -----------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="city-sender", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = TIMEOUT_S + 5) -> None:
        """Stop after the current turn (a POST in flight ends within its timeout), then close the client."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.step()
            interval = self.link.interval_s
            # wake just after the next slot starts, so no slot is skipped by a turn that ran late
            self._stop.wait(interval - self._clock().timestamp() % interval + interval / 100)

    @asynccontextmanager
    async def lifespan(self, _app: Any) -> Any:
        """The app's lifespan: sending while the server serves."""
        self.start()
        try:
            yield
        finally:
            await asyncio.to_thread(self.stop)


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", ""))[:200]
    except ValueError:
        return f"HTTP {response.status_code}"
