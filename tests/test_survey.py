"""Survey storage: validation, local day figures, delivery bookkeeping."""

from __future__ import annotations

import datetime as dt

import pytest

from config.localtime import LOCAL_TZ
from kiosk.survey import InvalidAnswer, SurveyStore


@pytest.fixture
def store(tmp_path):
    now = {"t": dt.datetime(2026, 11, 24, 23, 50, tzinfo=LOCAL_TZ)}
    s = SurveyStore(tmp_path / "survey.db", "HN-HK-01", clock=lambda: now["t"])
    s.now = now
    return s


def test_daily_figures_per_service_on_the_local_day(store):
    store.record(5, ("kiosk_easy",), service="HT")
    store.record(2, ("wait_time",), service="HT")
    store.record(4, service="CT")
    store.now["t"] = dt.datetime(2026, 11, 25, 0, 5, tzinfo=LOCAL_TZ)
    store.record(1, service="HT")
    figures = {f.service: f for f in store.daily(dt.date(2026, 11, 24))}
    assert figures["HT"].answers == 2 and figures["HT"].average == 3.5 and figures["HT"].satisfied_share == 0.5
    assert figures["CT"].answers == 1
    assert [f.answers for f in store.daily(dt.date(2026, 11, 25))] == [1]


@pytest.mark.parametrize(("score", "reasons"), [(0, ()), (6, ()), (3, ("free text",))])
def test_invalid_answers_are_refused(store, score, reasons):
    with pytest.raises(InvalidAnswer):
        store.record(score, reasons)
    assert store.undelivered() == []


def test_delivery_bookkeeping_survives_reopen(store, tmp_path):
    first = store.record(5)
    store.record(3)
    store.mark_delivered([first])
    reopened = SurveyStore(tmp_path / "survey.db", "HN-HK-01")
    assert [row["score"] for row in reopened.undelivered()] == [3]
