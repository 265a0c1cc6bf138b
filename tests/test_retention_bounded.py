"""The kiosk's files stay bounded when it runs for months: delivered outbox rows and delivered survey answers go
after their ``[retention]`` days, while an item or answer the backend does not have yet stays whatever its age.

Real SQLite files, a real reference backend on 127.0.0.1, the kiosk's own :class:`Retention` on a moved clock.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from backend.app import create_app
from backend.server import open_store, serve_in_thread
from config.loader import load_config
from config.localtime import LOCAL_TZ
from kiosk.backend_client import BackendClient
from kiosk.outbox import Outbox
from kiosk.retention import Retention
from kiosk.survey import SurveyStore
from tests.support import WallClock, dossier_body

DAYS, DOSSIERS_A_DAY, ANSWERS_A_DAY = 36, 2, 3
KEEP_DOSSIERS, KEEP_ANSWERS = 8, 4


def count(path, sql: str) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchone()[0]


@pytest.fixture
def client(tmp_path):
    store = open_store(tmp_path / "backend.db")
    backend = serve_in_thread(create_app(store))
    client = BackendClient(backend.url, store.add_token("kiosk", "K01"), timeout_s=5)
    yield client
    client.close()
    backend.stop()


@pytest.fixture
def kiosk(tmp_path):
    """The kiosk's outbox, survey store and retention task on one clock that starts ``DAYS`` + 5 days ago (the
    backend refuses answers dated ahead of its own clock)."""
    config = load_config(None, [f"data_dir={tmp_path / 'data'}", f"retention.outbox_delivered_days={KEEP_DOSSIERS}",
                                f"retention.survey_delivered_days={KEEP_ANSWERS}"])
    clock = WallClock(dt.datetime.now(LOCAL_TZ).replace(hour=9) - dt.timedelta(days=DAYS + 5))
    outbox = Outbox(config.data_dir / "outbox.db", "K01", clock)
    survey = SurveyStore(config.data_dir / "survey.db", "K01", clock, outbox=outbox, branch="Hoàn Kiếm")
    yield config, clock, outbox, survey, Retention(config, outbox, clock, survey=survey)
    outbox.close()
    survey._db.close()


def test_rows_stay_bounded_over_weeks_and_nothing_undelivered_goes(kiosk, client):
    config, clock, outbox, survey, retention = kiosk
    outbox_db, survey_db = config.data_dir / "outbox.db", config.data_dir / "survey.db"
    refused = outbox.add("refused", {"procedure_id": "NOPE", "form": {}})  # refused by the backend: dead
    rows: list[tuple[int, int, int]] = []  # (dossier rows, survey rows in the outbox, answers) after each day
    for _day in range(DAYS):
        for n in range(DOSSIERS_A_DAY):
            outbox.add(f"dossier-{clock.now:%j}-{n}", dossier_body("HT05"))
        for score in range(1, ANSWERS_A_DAY + 1):
            survey.record(score, service="HT")
        outbox.deliver_once(client)
        clock.advance(days=1)
        retention.run_once()
        rows.append((count(outbox_db, "SELECT count(*) FROM outbox WHERE kind = 'dossier'"),
                     count(outbox_db, "SELECT count(*) FROM outbox WHERE kind = 'survey'"),
                     count(survey_db, "SELECT count(*) FROM answers")))
    # a day's rows stay their days (the cut-off falls between two days' rows), plus the dead item
    assert max(r[0] for r in rows) == KEEP_DOSSIERS * DOSSIERS_A_DAY + 1
    assert max(r[1] for r in rows) == max(r[2] for r in rows) == KEEP_ANSWERS * ANSWERS_A_DAY
    assert rows[-1] == rows[KEEP_DOSSIERS + 1]  # flat once the first rows reached their age
    assert outbox.find(refused)["state"] == "dead"

    # what the backend does not have yet stays, however old it gets
    pending = outbox.add("pending", dossier_body("HT05"))
    answer = survey.record(5, service="HT")
    clock.advance(days=365)
    removed = retention.run_once()
    assert removed["delivered dossier rows"] == KEEP_DOSSIERS * DOSSIERS_A_DAY
    assert removed["delivered survey answers"] == removed["delivered survey rows"] == KEEP_ANSWERS * ANSWERS_A_DAY
    assert outbox.find(pending)["state"] == "pending" and outbox.find(refused)["state"] == "dead"
    assert [row["id"] for row in survey.undelivered()] == [answer]
    assert count(outbox_db, "SELECT count(*) FROM outbox") == 3  # the dead, the pending and the answer's item


def test_an_answer_is_marked_delivered_before_its_outbox_row_goes_so_it_is_never_sent_twice(kiosk, client):
    config, clock, outbox, survey, retention = kiosk
    survey.record(4, service="HT")
    outbox.deliver_once(client)  # delivered, but the answer's own row still says undelivered (no restart since)
    clock.advance(days=KEEP_ANSWERS + 1)
    removed = retention.run_once()
    assert removed["delivered survey answers"] == removed["delivered survey rows"] == 1
    assert survey.reconcile() == 0 and outbox.items() == [] and survey.undelivered() == []
