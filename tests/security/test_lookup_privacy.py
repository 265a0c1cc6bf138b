"""A code-only look-up shows the status and the masked name, and a token or an address cannot walk the codes.

Attack (issue 16): dossier codes are sequential (the national format, by design) and any kiosk token read any
dossier with no rate limit. Now each token and each client address gets a bucket of look-ups a minute (dossier
status, fee, booking check-in); past it the backend answers 429 with Retry-After, and the kiosk treats that as
"try again later", never as "no such dossier".
"""

from __future__ import annotations

import json

import httpx
import pytest

from backend.app import BackendSettings
from backend.server import start_in_thread
from contracts.ratelimit import TokenBuckets
from kiosk.backend_client import BackendClient, BackendUnavailable
from kiosk.lookup_flow import LookupFlow
from tests.stores import on_postgres, store_target
from tests.support import APPLICANT, FakeClock, dossier_body, eventually

DEMO = "000.00.13.H26-251120-0002"
STATUS_KEYS = {"code", "procedure_id", "procedure_vi", "procedure_en", "status", "applicant", "received_at",
               "due_date", "fee", "paid", "missing", "pickup", "timeline"}


def start(tmp_path, **limits: float):
    return start_in_thread(store_target(tmp_path / "backend.db"), settings=BackendSettings(
        bank_bin="970415", bank_account="0011223344", **limits))


def lookup(backend, token: str, code: str = DEMO) -> httpx.Response:
    return httpx.get(f"{backend.url}/api/dossiers/{code}", headers={"Authorization": f"Bearer {token}"})


@pytest.mark.stores
def test_a_code_only_look_up_shows_the_status_and_the_masked_name_and_nothing_more(tmp_path):
    backend = start(tmp_path)
    try:
        kiosk = {"Authorization": f"Bearer {backend.token}"}
        filed = httpx.post(f"{backend.url}/api/dossiers", json=dossier_body("HT05"),
                           headers={**kiosk, "Idempotency-Key": "privacy-0001"})
        code = filed.json()["code"]
        status = lookup(backend, backend.token, code.lower()).json()
        assert set(status) == STATUS_KEYS and status["applicant"] == "Lê T. H."
        payment = httpx.get(f"{backend.url}/api/dossiers/{code}/payment", headers=kiosk).json()
        for answer in (filed.json(), status, payment):
            text = json.dumps(answer, ensure_ascii=False)
            for personal in APPLICANT.values():  # full name, CCCD, birth date, address, phone
                assert str(personal) not in text, (personal, text)
    finally:
        backend.stop()


@pytest.mark.stores
def test_look_ups_past_a_tokens_limit_get_429_with_retry_after(tmp_path):
    backend = start(tmp_path, lookups_per_token_per_min=5, lookups_per_address_per_min=1000)
    try:
        for n in range(5):  # unknown codes count too: guessing is what the limit is for
            assert lookup(backend, backend.token, DEMO if n % 2 else f"{DEMO[:-4]}{9000 + n}").status_code in (200, 404)
        refused = lookup(backend, backend.token)
        assert refused.status_code == 429 and refused.json()["error"] == "rate_limited"
        # a token bucket (one process) refills one look-up in 12 s; the count shared in PostgreSQL is by the minute
        assert 1 <= int(refused.headers["Retry-After"]) <= (60 if on_postgres() else 12)
        assert "try again" in refused.json()["message"]
        checkin = httpx.post(f"{backend.url}/api/bookings/BK-251120-DEMO01/checkin",
                             headers={"Authorization": f"Bearer {backend.token}"})
        assert checkin.status_code == 429, "a booking check-in is a look-up by code as well"
        other = backend.store.add_token("kiosk", "K-OTHER")
        assert lookup(backend, other).status_code == 200, "another kiosk's token has its own bucket"
    finally:
        backend.stop()


@pytest.mark.stores
def test_look_ups_past_an_addresss_limit_get_429_whatever_the_token(tmp_path):
    backend = start(tmp_path, lookups_per_token_per_min=1000, lookups_per_address_per_min=4)
    try:
        tokens = [backend.store.add_token("kiosk", f"K{n}") for n in range(6)]
        statuses = [lookup(backend, token).status_code for token in tokens]
        assert statuses == [200, 200, 200, 200, 429, 429]
    finally:
        backend.stop()


def test_a_bucket_refills_at_its_rate():
    clock = FakeClock()
    buckets = TokenBuckets(6, clock=clock)  # one every 10 s
    assert [buckets.take("k") for _ in range(6)] == [0] * 6
    assert buckets.take("k") == pytest.approx(10)
    clock.advance(10)
    assert buckets.take("k") == 0 and buckets.take("other") == 0


@pytest.mark.stores
def test_the_kiosk_shows_try_again_later_on_429_not_unknown_code(tmp_path):
    backend = start(tmp_path, lookups_per_token_per_min=1, lookups_per_address_per_min=1000)
    client = BackendClient(backend.url, backend.token, timeout_s=5)
    try:
        assert client.dossier_status(DEMO)["status"] == "processing"
        with pytest.raises(BackendUnavailable, match="too many look-ups"):
            client.check_in("BK-251120-DEMO01")
        results = []
        LookupFlow(lambda: client, lambda _event, result: results.append(result)).lookup(DEMO)
        assert eventually(lambda: results)[-1].outcome == "unavailable"
    finally:
        client.close()
        backend.stop()
