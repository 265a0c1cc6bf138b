"""Retention: personal data the kiosk no longer needs is deleted once older than the ``[retention]`` days.

What holds it after its use: the form of a dead outbox item (a technician still sees its reference, error and
dates), copies of damaged databases in ``corrupt/``, the last known status of each looked-up dossier (masked, but
a name and a code together), and printed jobs in the spool. :class:`Retention` deletes what is older at the kiosk's
start and then once a day, on a daemon thread. Delivered outbox items carry no personal data (their form is purged
on delivery), but one row a filing or a survey answer would grow the files for as long as the kiosk runs: a
delivered dossier's row goes after ``outbox_delivered_days`` (an offline receipt's ``KS.`` reference is looked up
through it), delivered survey answers and their outbox rows after ``survey_delivered_days``, and the local queue's
tickets of earlier days after ``queue_days``. Nothing undelivered is ever deleted. The branch servers purge their
own ``corrupt/`` copies when they open their databases.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from config.localtime import LOCAL_TZ
from config.schema import KioskConfig
from contracts.storage import DAY_S, delete_older_than, purge_corrupt
from kiosk.backend_client import STATUS_CACHE, purge_status_cache
from kiosk.outbox import Outbox
from kiosk.survey import SurveyStore
from queueing.engine import QueueEngine

log = logging.getLogger(__name__)


class Retention:
    """Deletes what has outlived its retention: :meth:`run_once` now, :meth:`start` at start and daily."""

    def __init__(self, config: KioskConfig, outbox: Outbox,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(LOCAL_TZ), *,
                 survey: SurveyStore | None = None, queue: QueueEngine | None = None) -> None:
        """:param survey: the survey answers to keep bounded too; without it their outbox rows stay as well, so an
        answer is never handed over again for want of its row (:meth:`SurveyStore.reconcile`).
        :param queue: the kiosk's local queue (none in branch mode: the branch server keeps the tickets)."""
        self._config, self._outbox, self._clock, self._survey = config, outbox, clock, survey
        self._queue = queue
        self._stop = threading.Event()

    def run_once(self) -> dict[str, int]:
        """Delete everything past its days; returns how many of each kind went (logged when any did)."""
        days, data, now = self._config.retention, self._config.data_dir, self._clock()
        cache_cutoff = now - dt.timedelta(days=days.cache_days)
        removed = {
            "dead outbox forms": self._outbox.purge_dead(days.outbox_dead_days, now=now),
            "delivered dossier rows": self._outbox.purge_delivered(days.outbox_delivered_days, kind="dossier",
                                                                   now=now),
            "corrupt copies": purge_corrupt(data, days.corrupt_days, now=now.timestamp()),
            "cached statuses": purge_status_cache(data / STATUS_CACHE, cache_cutoff),
            "spooled jobs": delete_older_than(self._config.spool_dir, cache_cutoff.timestamp()),
        }
        if self._survey is not None:
            self._survey.reconcile()  # marks the answers delivered before their outbox rows may go
            removed["delivered survey answers"] = self._survey.purge_delivered(days.survey_delivered_days, now)
            removed["delivered survey rows"] = self._outbox.purge_delivered(days.survey_delivered_days,
                                                                            kind="survey", now=now)
        if self._queue is not None:
            removed["local queue tickets"] = self._queue.purge_before((now - dt.timedelta(days=days.queue_days)).date())
        if any(removed.values()):
            log.info("retention: deleted %s", ", ".join(f"{n} {what}" for what, n in removed.items() if n))
        return removed

    def start(self) -> threading.Thread:
        """Run now, then every day until :meth:`stop`; a failure is logged and tried again the next day."""
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.run_once()
                except Exception as exc:  # noqa: BLE001 — a locked or full disk must not end the daily task
                    log.warning("retention: %s", type(exc).__name__)
                self._stop.wait(DAY_S)

        thread = threading.Thread(target=loop, name="retention", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
