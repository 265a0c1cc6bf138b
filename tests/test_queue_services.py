"""Service definitions as config/content deliver them: validation, opening hours, priority categories."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from config.localtime import LOCAL_TZ
from config.services import ServiceDef, load_services
from queueing.priority import PRIORITY_CATEGORIES, PRIORITY_CODES, choose_priority


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


def test_load_services_from_plain_mappings():
    services = load_services([
        {"code": "HT", "name_vi": "Hộ tịch", "name_en": "Civil status", "prefix": "A", "counters": [1, 2],
         "hours": {"mon": ["07:30-11:30"]}, "daily_cap": 150},
        {"code": "CT", "name_vi": "Cư trú", "prefix": "B", "digits": 4, "first_number": 100},
    ])
    assert [(s.code, s.format_number(s.first_number)) for s in services] == [("HT", "A001"), ("CT", "B0100")]
    assert services[0].daily_cap == 150 and services[1].counters == [1]


@pytest.mark.parametrize(("bad", "field"), [
    ({"code": "ht"}, "code"),
    ({"prefix": "A1"}, "prefix"),
    ({"digits": 0}, "digits"),
    ({"daily_cap": 0}, "daily_cap"),
    ({"hours": {"monday": ["08:00-11:00"]}}, "hours"),
    ({"hours": {"mon": ["8:00-11:00"]}}, "hours"),
    ({"hours": {"mon": ["11:00-08:00"]}}, "hours"),
    ({"hours": {"mon": ["08:00-24:30"]}}, "hours"),
    ({"colour": "red"}, "colour"),
])
def test_invalid_service_names_the_field(bad, field):
    with pytest.raises(ValidationError) as error:
        load_services([{"code": "HT", "name_vi": "Hộ tịch", **bad}])
    assert field in str(error.value)


def test_duplicate_codes_are_refused():
    with pytest.raises(ValueError, match="HT"):
        load_services([{"code": "HT", "name_vi": "a"}, {"code": "HT", "name_vi": "b"}])


@pytest.mark.parametrize(("moment", "open_now"), [
    (local(2026, 11, 23, 8, 0), True),      # Monday opening minute
    (local(2026, 11, 23, 11, 30), False),   # lunch starts
    (local(2026, 11, 23, 13, 30), True),
    (local(2026, 11, 23, 16, 59), True),
    (local(2026, 11, 23, 17, 0), False),
    (local(2026, 11, 28, 9, 0), True),      # Saturday morning
    (local(2026, 11, 28, 14, 0), False),    # Saturday afternoon
    (local(2026, 11, 29, 9, 0), False),     # Sunday
])
def test_default_hours_are_weekday_office_hours_and_saturday_morning(moment, open_now):
    assert ServiceDef(code="HT", name_vi="Hộ tịch").is_open(moment) is open_now


def test_opening_hours_are_read_in_local_time_whatever_the_zone_of_the_moment():
    from zoneinfo import ZoneInfo

    service = ServiceDef(code="HT", name_vi="Hộ tịch")
    assert service.is_open(datetime(2026, 11, 23, 1, 0, tzinfo=ZoneInfo("UTC")))       # 08:00 local
    assert not service.is_open(datetime(2026, 11, 23, 0, 59, tzinfo=ZoneInfo("UTC")))


def test_always_open_and_a_window_to_midnight():
    assert ServiceDef(code="X", name_vi="X", hours="always").is_open(local(2026, 11, 29, 3, 0))
    late = ServiceDef(code="X", name_vi="X", hours={"fri": ["20:00-24:00"]})
    assert late.is_open(local(2026, 11, 27, 23, 59)) and not late.is_open(local(2026, 11, 28, 0, 0))
    assert late.next_opening(local(2026, 11, 27, 23, 59)) == local(2026, 12, 4, 20, 0)


def test_a_service_without_any_hours_never_opens():
    closed = ServiceDef(code="X", name_vi="X", hours={})
    assert not closed.is_open(local(2026, 11, 23, 9, 0)) and closed.next_opening(local(2026, 11, 23, 9, 0)) is None


def test_priority_categories_have_vietnamese_and_english_labels():
    assert set(PRIORITY_CODES) == {"elderly", "disabled", "pregnant", "merit", "child_under_6", "booking", "help"}
    labels = {c.code: c for c in PRIORITY_CATEGORIES}
    assert labels["merit"].label("vi") == "Người có công với cách mạng"
    assert labels["pregnant"].label("en") == "Pregnant woman"
    assert all(c.label_vi != c.label_en for c in PRIORITY_CATEGORIES)


@pytest.mark.parametrize(("streak", "priority_waiting", "normal_waiting", "expected"), [
    (0, True, True, True),
    (2, True, True, True),
    (3, True, True, False),    # the fourth in a row gives way to an ordinary ticket
    (3, True, False, True),    # unless nobody ordinary waits
    (0, False, True, False),
    (0, False, False, False),
])
def test_choose_priority_policy(streak, priority_waiting, normal_waiting, expected):
    assert choose_priority(streak, 3, priority_waiting, normal_waiting) is expected
