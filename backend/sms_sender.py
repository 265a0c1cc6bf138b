"""The backend's status SMS sender: a task in each serving process that empties the outbox through the gateway.

Why a task and not a send inside the request: the officer's status change (or the kiosk's filing) must not wait
for, nor fail with, an SMS provider that is slow or down. The change commits with its message in the outbox
(``backend.sms_outbox``); this task claims due messages, sends each on a worker thread, and records the outcome:

- sent: done, with the provider's message id;
- a transient failure (network, 5xx, eSMS 99, a timeout): tried again after a growing pause (30 s doubling to
  30 min), until the message is :data:`STALE_AFTER` old; a status SMS days late misleads more than it helps;
- a refusal (bad keys, no balance, an unregistered brandname, a refused number) or a dossier with no number any
  more: given up at once, since trying again cannot change the answer.

Every log line names the dossier code and the number masked (``contracts.sms.mask_phone``), never the text. The
same task applies the retention of contact data hourly: a returned dossier's phone and address are forgotten after
30 days, finished outbox rows after 30 days.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from backend.sms_outbox import Claimed, SmsOutbox
from backend.store import BackendStore
from config.localtime import LOCAL_TZ
from contracts.sms import SmsError, SmsGateway, mask_phone
from contracts.sqldb import StoreBusy, StoreUnavailable

log = logging.getLogger(__name__)
FIRST_RETRY = dt.timedelta(seconds=30)
LONGEST_RETRY = dt.timedelta(minutes=30)
STALE_AFTER = dt.timedelta(days=2)
FINISHED_KEPT = dt.timedelta(days=30)  # sent and given-up outbox rows, for an operator's questions
UPKEEP_EVERY_S = 3600.0
FIRST_UPKEEP_S = 60.0  # not at start: a process starting (or a worker of several) has enough to do then


class SmsSender:
    """Sends what the outbox holds through ``gateway``; :meth:`run_once` is one pass (tests drive it directly)."""

    def __init__(self, store: BackendStore, gateway: SmsGateway, *,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(LOCAL_TZ),
                 first_retry: dt.timedelta = FIRST_RETRY, poll_s: float = 2.0) -> None:
        self.store, self.gateway, self.clock = store, gateway, clock
        self.outbox = SmsOutbox(store.db)
        self.first_retry, self.poll_s = first_retry, poll_s

    def run_once(self) -> int:
        """Claim the due messages and try each once; returns how many were tried."""
        claimed = self.outbox.claim(self.clock())
        for message in claimed:
            self._send(message)
        return len(claimed)

    def _send(self, message: Claimed) -> None:
        where = f"status SMS {message.event} of dossier {message.code}"
        if message.phone is None:
            log.info("%s given up: the dossier has no number with consent any more", where)
            self.outbox.give_up(message, "no phone number with consent", self.clock())
            return
        masked = mask_phone(message.phone)
        try:
            provider_id = self.gateway.send(message.phone, message.text, request_id=message.request_id)
        except SmsError as exc:
            self._failed(message, f"{where} to {masked}", exc)
            return
        log.info("%s sent to %s", where, masked)
        self.outbox.sent(message, provider_id, self.clock())

    def _failed(self, message: Claimed, what: str, exc: SmsError) -> None:
        now = self.clock()
        age = now - dt.datetime.fromisoformat(message.created_at)
        if not exc.transient:
            log.warning("%s given up, the gateway refused it: %s", what, exc)
            self.outbox.give_up(message, str(exc), now)
        elif age >= STALE_AFTER:
            log.warning("%s given up after %d tries over %s: %s", what, message.attempts + 1, age, exc)
            self.outbox.give_up(message, f"stale: {exc}", now)
        else:
            pause = min(self.first_retry * 2 ** message.attempts, LONGEST_RETRY)
            log.warning("%s not sent (try %d), again in %d s: %s", what, message.attempts + 1,
                        pause.total_seconds(), exc)
            self.outbox.retry_at(message, str(exc), now + pause)

    def upkeep(self) -> None:
        """The retention rules: forget returned dossiers' contacts, drop old finished outbox rows."""
        now = self.clock()
        forgotten = self.store.forget_contacts(now)
        purged = self.outbox.purge_finished(now - FINISHED_KEPT)
        if forgotten or purged:
            log.info("retention: %d returned dossier(s) lost their contact, %d old SMS row(s) deleted",
                     forgotten, purged)

    async def run(self, stop: asyncio.Event) -> None:
        """Pass after pass until ``stop`` is set; a database that does not answer waits for the next pass."""
        next_upkeep = time.monotonic() + FIRST_UPKEEP_S
        while not stop.is_set():
            tried = 0
            try:
                tried = await asyncio.to_thread(self.run_once)
                if time.monotonic() >= next_upkeep:
                    await asyncio.to_thread(self.upkeep)
                    next_upkeep = time.monotonic() + UPKEEP_EVERY_S
            except (StoreUnavailable, StoreBusy) as exc:
                log.warning("SMS sender: the store is not answering (%s); next pass in %g s", exc, self.poll_s)
            except Exception:  # noqa: BLE001 — a bug must not end the sending for the life of the process
                log.exception("SMS sender pass failed; next pass in %g s", self.poll_s)
            if not tried:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll_s)

    def lifespan(self) -> Callable[[Any], contextlib.AbstractAsyncContextManager[None]]:
        """A Starlette lifespan running :meth:`run` for the life of the app."""

        @contextlib.asynccontextmanager
        async def running(_app: Any) -> AsyncIterator[None]:
            stop = asyncio.Event()
            task = asyncio.create_task(self.run(stop), name="sms-sender")
            try:
                yield
            finally:
                stop.set()
                await task

        return running
