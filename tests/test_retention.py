"""Retention: the kiosk deletes personal data past its [retention] days at start and daily, and keeps the rest."""

from __future__ import annotations

import datetime as dt
import os
import time

from config.loader import load_config
from contracts.storage import DAY_S
from kiosk.backend_client import STATUS_CACHE, _StatusCache
from kiosk.cli.embedded import open_backend
from kiosk.core import KioskCore
from kiosk.outbox import Outbox
from kiosk.retention import Retention
from kiosk.survey import SurveyStore
from tests.support import WallClock, deliver_to_a_real_backend, eventually


def aged(path, days: float, content: bytes = b"x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    then = time.time() - days * DAY_S
    os.utime(path, (then, then))


def test_each_kind_goes_after_its_own_days_and_newer_data_stays(tmp_path):
    config = load_config(None, [f"data_dir={tmp_path / 'data'}", "retention.corrupt_days=10",
                                "retention.cache_days=5", "retention.outbox_dead_days=20"])
    data = config.data_dir
    clock = WallClock(dt.datetime.now(dt.UTC))
    outbox = Outbox(data / "outbox.db", "K01", clock)
    dead = outbox.add("dead-key", {"procedure_id": "NOPE", "form": {"applicant_name": "Nguyễn Văn An"}})
    deliver_to_a_real_backend(outbox, tmp_path / "backend.db")
    cache = _StatusCache(data / STATUS_CACHE)
    cache.put("000.00.13.H26-251120-0001", {"applicant": "N*** V** An"})
    cache.close()
    aged(data / "corrupt" / "queue.db.20250101T000000Z", 11)
    aged(data / "corrupt" / "survey.db.20250101T000000Z", 9)
    aged(config.spool_dir / "job-0001.txt", 6, "Nguyễn Văn An".encode())
    aged(config.spool_dir / "job-0002.txt", 1)
    retention = Retention(config, outbox, clock)
    assert retention.run_once() == {"dead outbox forms": 0, "delivered dossier rows": 0, "corrupt copies": 1,
                                    "cached statuses": 0, "spooled jobs": 1}
    assert [p.name for p in (data / "corrupt").iterdir()] == ["survey.db.20250101T000000Z"]
    assert [p.name for p in config.spool_dir.iterdir()] == ["job-0002.txt"]
    clock.advance(days=21)
    assert retention.run_once() == {"dead outbox forms": 1, "delivered dossier rows": 0, "corrupt copies": 1,
                                    "cached statuses": 1, "spooled jobs": 1}
    assert outbox.find(dead)["state"] == "dead" and "Nguyễn" not in (data / "outbox.db").read_bytes().decode(
        "utf-8", "replace")
    assert retention.run_once() == dict.fromkeys(("dead outbox forms", "delivered dossier rows", "corrupt copies",
                                                  "cached statuses", "spooled jobs"), 0)


def test_the_kiosk_runs_it_at_start(kiosk_config):
    old = kiosk_config.spool_dir / "job-0001.txt"
    aged(old, 31, "Nguyễn Văn An".encode())
    answers = SurveyStore(kiosk_config.data_dir / "survey.db", "K01",
                          clock=lambda: dt.datetime.now(dt.UTC) - dt.timedelta(days=31))
    answers.mark_delivered([answers.record(5)])  # an answer the backend had a month ago
    answers._db.close()
    core = KioskCore(kiosk_config, backend=open_backend)
    try:
        core.start()
        eventually(lambda: not old.exists(), message="the retention task deleted the old job at start")
        eventually(lambda: core.survey.daily((dt.datetime.now(dt.UTC) - dt.timedelta(days=31)).date()) == [],
                   message="the retention task deleted the delivered answer at start")
    finally:
        core.close()
