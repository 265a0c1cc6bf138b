"""E-form rules shared by the kiosk and the backend: typed input → canonical values → error codes."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from backend.server import start_in_thread
from contracts.forms import check_form, check_value, display_value, merge_schemas, parse_input
from tests.support import dossier_body

TODAY = lambda: dt.date(2026, 11, 26)  # noqa: E731
DOB = {"name": "dob", "type": "date", "required": True, "past": True}
UNTIL = {"name": "until", "type": "date", "required": True, "future": True}


@pytest.mark.parametrize(("field", "raw", "value"), [
    (DOB, "05/03/2019", "2019-03-05"),
    (DOB, "5-3-2019", "2019-03-05"),
    (DOB, "05032019", "2019-03-05"),
    (DOB, "31/02/2019", "31/02/2019"),  # not a date: kept as typed, reported by check_value
    ({"name": "p", "type": "phone"}, "+84 912 345 678", "0912345678"),
    ({"name": "p", "type": "phone"}, "0912.345.678", "0912345678"),
    ({"name": "n", "type": "number"}, "1.000.000", 1000000),
    ({"name": "n", "type": "number"}, "mười", "mười"),
    ({"name": "t", "type": "text"}, "  Nguyễn   Văn\u00a0An ", "Nguyễn Văn An"),
    ({"name": "t", "type": "text"}, "Nguye\u0302\u0303n", "Nguyễn"),  # decomposed input comes out NFC
])
def test_typed_input_becomes_canonical(field, raw, value):
    assert parse_input(field, raw) == value


@pytest.mark.parametrize(("field", "value", "error"), [
    (DOB, "2019-03-05", None),
    (DOB, "31/02/2019", "bad_date"),
    (DOB, "2027-01-01", "in_future"),
    (DOB, "1800-01-01", "bad_date"),
    (UNTIL, "2026-11-25", "in_past"),
    (DOB, "", "required"),
    ({"name": "c", "type": "cccd"}, "001190012345", None),
    ({"name": "c", "type": "cccd"}, "003190012345", "bad_cccd"),  # 003 is no province
    ({"name": "c", "type": "cccd"}, "00119001234", "bad_cccd"),
    ({"name": "p", "type": "phone"}, "0123456789", "bad_phone"),
    ({"name": "p", "type": "phone"}, "02438251234", None),
    ({"name": "n", "type": "number", "min": 1, "max": 10}, 11, "too_large"),
    ({"name": "n", "type": "number", "min": 1, "max": 10}, True, "not_number"),
    ({"name": "s", "type": "select", "options": ["Nam", "Nữ"]}, "Khác", "bad_option"),
    ({"name": "t", "type": "text", "max": 5}, "Nguyễn", "too_long"),
    ({"name": "t", "type": "text"}, "An\u202e", "bad_characters"),
    ({"name": "b", "type": "checkbox", "required": True}, False, "required"),
    ({"name": "x", "type": "signature"}, "x", "unknown_type"),
])
def test_value_errors(field, value, error):
    assert check_value(field, value, TODAY) == error


def test_groups_report_the_path_of_each_bad_member_field():
    schema = [{"name": "members", "type": "group", "max_items": 2, "fields": [
        {"name": "member_name", "type": "text", "required": True},
        {"name": "member_id", "type": "cccd"}]}]
    form = {"members": [{"member_name": "An"}, {"member_name": "", "member_id": "12"}]}
    assert check_form(schema, form, TODAY) == {"members.1.member_name": "required", "members.1.member_id": "bad_cccd"}
    assert check_form(schema, {"members": [{}, {}, {}]}, TODAY) == {"members": "too_many"}
    assert check_form(schema, {"members": [], "extra": 1}, TODAY) == {"extra": "unknown_field"}


def test_merged_bundle_form_has_each_field_once_and_keeps_required():
    a = [{"name": "applicant_name", "type": "text", "required": False}, {"name": "x", "type": "text"}]
    b = [{"name": "applicant_name", "type": "text", "required": True}, {"name": "y", "type": "text"}]
    merged = merge_schemas([a, b])
    assert [f["name"] for f in merged] == ["applicant_name", "x", "y"] and merged[0]["required"] is True


def test_review_shows_values_the_way_citizens_write_them():
    assert display_value(DOB, "2019-03-05", "vi") == "05/03/2019"
    assert display_value({"type": "checkbox"}, True, "vi") == "Có"
    assert display_value({"type": "number"}, 1000000, "vi") == "1.000.000"


def test_backend_rejects_an_invalid_form_naming_the_fields(tmp_path):
    running = start_in_thread(tmp_path / "b.db")
    try:
        bad = dossier_body("HT01", applicant_id="12345", phone="abc")
        answer = httpx.post(f"{running.url}/api/dossiers", json=bad, timeout=5,
                            headers={"Authorization": f"Bearer {running.token}", "Idempotency-Key": "forms-test-1"})
    finally:
        running.stop()
    assert answer.status_code == 422
    assert "applicant_id: bad_cccd" in answer.json()["message"] and "phone: bad_phone" in answer.json()["message"]
