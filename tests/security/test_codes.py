"""Codes are canonical at the edge: a booking or a payment counts once whatever the case or digits it arrives in.

Attack (issue 16): the look-up folded a code to upper case and the update did not, so ``bk-…`` found the booking
and marked nothing used (checked in again and again), and a bank callback for ``…-0001`` in lower case answered
200 while the dossier stayed unpaid.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

import httpx
import pytest

from backend.app import BackendSettings
from backend.server import start_in_thread
from contracts.codes import canonical_code
from tests.stores import store_target
from tests.support import dossier_body

pytestmark = pytest.mark.stores  # the server runs on store_target: SQLite, then PostgreSQL

SECRET = secrets.token_hex(16)
BOOKING = "BK-251120-DEMO01"  # the seeded booking, valid all of today


@pytest.fixture
def backend(tmp_path):
    running = start_in_thread(store_target(tmp_path / "backend.db"), settings=BackendSettings(payment_secret=SECRET))
    yield running
    running.stop()


def _kiosk(backend) -> httpx.Client:
    return httpx.Client(base_url=backend.url, headers={"Authorization": f"Bearer {backend.token}"}, timeout=10)


def _callback(backend, code: str) -> httpx.Response:
    body = json.dumps({"code": code}).encode()
    return httpx.post(f"{backend.url}/api/payments/callback", content=body,
                      headers={"X-Signature": hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()})


@pytest.mark.parametrize("text", ["bk-251120-demo01", " Bk-251120-Demo01 ", "ＢＫ-２５１１２０-ＤＥＭＯ０¹"])
def test_canonical_code_folds_case_spaces_and_digit_forms(text):
    assert canonical_code(text) == BOOKING


def test_a_lower_case_booking_code_checks_in_once(backend):
    with _kiosk(backend) as kiosk:
        first = kiosk.post(f"/api/bookings/{BOOKING.lower()}/checkin")
        assert first.status_code == 200 and first.json()["code"] == BOOKING
        for replay in (BOOKING.lower(), BOOKING, f" {BOOKING.title()} "):
            again = kiosk.post(f"/api/bookings/{replay}/checkin")
            assert (again.status_code, again.json()["error"]) == (409, "used"), replay


def test_a_lower_case_bank_callback_marks_the_dossier_paid_once(backend):
    with _kiosk(backend) as kiosk:
        code = kiosk.post("/api/dossiers", json=dossier_body("HT05"),
                          headers={"Idempotency-Key": "codes-test-0001"}).json()["code"]
        paid = _callback(backend, code.lower())
        assert paid.status_code == 200 and paid.json()["paid"] is True and paid.json()["code"] == code
        assert kiosk.get(f"/api/dossiers/{code.lower()}").json()["paid"] is True
        assert kiosk.get(f"/api/dossiers/{code}/payment").json()["vietqr"] is None
        replay = _callback(backend, f" {code.lower()} ")
        assert replay.status_code == 200 and replay.json() == paid.json()
