"""The reference backend over real sockets on 127.0.0.1, and the kiosk's client against it; the tests marked
``stores`` run on SQLite and again on PostgreSQL (tests/stores.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import socket
import subprocess
import sys

import httpx
import pytest

from backend.app import BackendSettings
from backend.server import start_in_thread
from contracts.sqldb import open_database
from contracts.text import mask_name
from contracts.workdays import add_working_days, is_working_day
from devices.payloads import parse_payload
from kiosk.backend_client import BackendClient, BackendRejected, BackendUnavailable, NotFound
from kiosk.cli.parser import build_parser
from tests.stores import store_target
from tests.support import ROOT, ServeProcess, dossier_body, server_env

DEMO = "000.00.13.H26-251120-000"


PAYMENT_SECRET = secrets.token_hex(16)  # what the bank and this backend share (BACKEND_PAYMENT_SECRET)


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    running = start_in_thread(store_target(tmp_path_factory.mktemp("backend") / "backend.db"),
                              settings=BackendSettings(payment_secret=PAYMENT_SECRET))
    yield running
    running.stop()


@pytest.fixture
def client(backend, tmp_path):
    c = BackendClient(backend.url, backend.token, timeout_s=3, cache_path=tmp_path / "cache.db")
    yield c
    c.close()


@pytest.mark.stores
@pytest.mark.parametrize(("seq", "status"), list(enumerate(
    ["received", "processing", "needs_documents", "result_ready", "returned"], start=1)))
def test_demo_dossiers_in_every_status(client, seq, status):
    result = client.dossier_status(f"{DEMO}{seq}")
    assert result["status"] == status and result["applicant"] == "Nguyễn V. A."
    assert result["timeline"][-1]["status"] == status


@pytest.mark.stores
def test_submission_is_idempotent_and_code_is_national_format(client, backend):
    body = dossier_body("HT05")
    first = client.submit("kiosk-1-0001", body)
    again = client.submit("kiosk-1-0001", body)
    assert first["code"] == again["code"]
    assert parse_payload(first["code"]) == {"kind": "dossier", "code": first["code"]}
    assert first["applicant"] == "Lê T. H." and first["status"] == "received"
    with pytest.raises(BackendRejected) as err:
        client.submit("kiosk-1-0001", dossier_body("HT05", applicant_name="Someone Else"))
    assert err.value.status == 409


@pytest.mark.stores
def test_payment_qr_for_an_unpaid_fee_and_the_signed_bank_callback(client, backend):
    dossier = client.submit("kiosk-1-0002", dossier_body("HT05"))
    payment = client.payment(dossier["code"])
    qr = parse_payload(payment["vietqr"])
    assert qr["kind"] == "vietqr" and qr["crc_ok"] and qr["amount"] == 8000
    agency, day, seq = dossier["code"].rsplit("-", 2)
    assert qr["message"] == f"LP {agency.replace('.', '')} {day} {seq}", "the whole code survives the 25-char limit"
    body = json.dumps({"code": dossier["code"]}).encode()
    bad = httpx.post(f"{backend.url}/api/payments/callback", content=body, headers={"X-Signature": "0" * 64})
    assert bad.status_code == 401
    forged = hmac.new(b"demo-payment-secret", body, hashlib.sha256).hexdigest()  # the constant main once shipped
    assert httpx.post(f"{backend.url}/api/payments/callback", content=body,
                      headers={"X-Signature": forged}).status_code == 401
    signature = hmac.new(PAYMENT_SECRET.encode(), body, hashlib.sha256).hexdigest()
    good = httpx.post(f"{backend.url}/api/payments/callback", content=body, headers={"X-Signature": signature})
    assert good.status_code == 200 and client.dossier_status(dossier["code"])["paid"] is True
    assert client.payment(dossier["code"])["vietqr"] is None


@pytest.mark.stores
def test_without_a_payment_secret_every_bank_callback_is_refused(tmp_path):
    """GIVEN a backend started without BACKEND_PAYMENT_SECRET WHEN a callback arrives, signed with any key,
    THEN it is refused (401) and the dossier stays unpaid: no secret has a default."""
    running = start_in_thread(store_target(tmp_path / "backend.db"))
    try:
        client = BackendClient(running.url, running.token, timeout_s=3)
        code = client.submit("kiosk-nosecret-1", dossier_body("HT05"))["code"]
        body = json.dumps({"code": code}).encode()
        for key in (b"", b"demo-payment-secret"):
            signature = hmac.new(key, body, hashlib.sha256).hexdigest()
            refused = httpx.post(f"{running.url}/api/payments/callback", content=body,
                                 headers={"X-Signature": signature})
            assert (refused.status_code, refused.json()["error"]) == (401, "payments_not_configured")
        assert client.dossier_status(code)["paid"] is False
        client.close()
    finally:
        running.stop()


@pytest.mark.stores
def test_booking_check_in_once(client):
    assert client.check_in("BK-251120-DEMO01")["service"] == "HT"
    with pytest.raises(BackendRejected) as err:
        client.check_in("BK-251120-DEMO01")
    assert (err.value.status, err.value.code) == (409, "used")
    with pytest.raises(NotFound):
        client.check_in("BK-251120-NOPE00")


@pytest.mark.stores
@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, b'{"procedure_id": "HT01", "form": {}}', 401),
        ({"Authorization": "Bearer wrong"}, b"{}", 401),
        ("kiosk", b'{"procedure_id": "HT01", "form": {}}', 400),  # no Idempotency-Key
        ("kiosk+key", b"not json", 422),
        ("kiosk+key", b"[1, 2]", 422),
        ("kiosk+key", b'{"procedure_id": "HT01", "form": "x"}', 422),
        ("kiosk+key", b'{"procedure_id": "NOPE", "form": {}}', 404),
        ("kiosk+key", b'{"procedure_id": "DD01", "form": {}}', 422),  # not filed at kiosks
    ],
)
def test_bad_submissions_get_4xx_with_a_message(backend, headers, body, status):
    if isinstance(headers, str):
        headers = {"Authorization": f"Bearer {backend.token}",
                   **({"Idempotency-Key": "bad-request-key"} if "key" in headers else {})}
    response = httpx.post(f"{backend.url}/api/dossiers", content=body, headers=headers)
    assert response.status_code == status
    assert response.json()["message"]


@pytest.mark.stores
def test_openapi_and_admin_token_required(backend):
    spec = httpx.get(f"{backend.url}/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/api/dossiers" in spec["paths"]
    response = httpx.post(f"{backend.url}/api/admin/kiosks", json={"kiosk_id": "X"},
                          headers={"Authorization": f"Bearer {backend.token}"})
    assert response.status_code == 403


def test_unreachable_backend_is_unavailable_and_the_cache_answers(client, tmp_path, backend):
    code = f"{DEMO}2"
    client.dossier_status(code)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    offline = BackendClient(f"http://127.0.0.1:{port}", "t", timeout_s=1, cache_path=tmp_path / "cache.db")
    with pytest.raises(BackendUnavailable):
        offline.dossier_status(code)
    cached, when = offline.cached_status(code)
    assert cached["status"] == "processing" and when <= dt.datetime.now(dt.UTC)
    assert offline.online is False


def test_working_days_skip_weekends_and_public_holidays():
    assert add_working_days(dt.date(2025, 11, 21), 1) == dt.date(2025, 11, 24)  # Friday → Monday
    assert not is_working_day(dt.date(2025, 9, 2)) and not is_working_day(dt.date(2026, 2, 17))
    # Thursday 28/8/2025 + 3 working days: Fri 29/8, (Sat, Sun, 1/9, 2/9 skipped) Wed 3/9, Thu 4/9
    assert add_working_days(dt.date(2025, 8, 28), 3) == dt.date(2025, 9, 4)
    assert add_working_days(dt.date(2026, 2, 13), 1) == dt.date(2026, 2, 23)  # across Tết 2026


@pytest.mark.parametrize(("name", "masked"), [("Nguyễn Văn An", "Nguyễn V. A."), ("An", "An"), (None, None)])
def test_names_are_masked(name, masked):
    assert mask_name(name) == masked


def test_dossier_status_cli_with_the_embedded_backend(tmp_path):
    run = [sys.executable, "main.py", "dossier", "status", "--json", "--set", f"data_dir={tmp_path}"]
    found = subprocess.run([*run, f"{DEMO}4"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert found.returncode == 0 and json.loads(found.stdout)["status"] == "result_ready"
    missing = subprocess.run([*run, "000.00.13.H26-251120-0999"], cwd=ROOT, capture_output=True, text=True,
                             timeout=60)
    assert missing.returncode == 1 and json.loads(missing.stdout)["found"] is False


@pytest.mark.stores
def test_the_days_last_code_has_four_digits_and_the_next_filing_waits_for_midnight(tmp_path, caplog):
    """GIVEN an agency that has filed 9,998 dossiers today (its counter set in the database) WHEN two more
    arrive THEN the first gets ``-9999``, which the kiosk's strict parser reads, and the second a 503 with
    Retry-After up to midnight and a log line, instead of a 5-digit code no reader accepts; a repeat of an
    accepted filing still returns its dossier."""
    target = store_target(tmp_path / "backend.db")
    running = start_in_thread(target)
    client = BackendClient(running.url, running.token, timeout_s=3)
    try:
        day = client.submit("sequence-first", dossier_body("HT05"))["code"].split("-")[1]
        db = open_database(target)
        with db.connection() as conn:
            conn.execute("UPDATE day_counters SET last = 9998 WHERE day = ?", [day])
        db.close()
        last = client.submit("sequence-9999", dossier_body("HT05"))["code"]
        assert last.endswith(f"-{day}-9999") and parse_payload(last) == {"kind": "dossier", "code": last}
        headers = {"Authorization": f"Bearer {running.token}", "Idempotency-Key": "sequence-10000"}
        full = httpx.post(f"{running.url}/api/dossiers", json=dossier_body("HT05"), headers=headers)
        assert (full.status_code, full.json()["error"]) == (503, "numbering_full")
        assert "after midnight" in full.json()["message"]
        assert 0 < int(full.headers["Retry-After"]) <= 24 * 3600
        assert "dossier numbering full: 000.00.13.H26" in caplog.text
        assert client.submit("sequence-9999", dossier_body("HT05"))["code"] == last
    finally:
        client.close()
        running.stop()


@pytest.mark.stores
def test_backend_serve_takes_the_look_up_rate_per_token_and_defaults_to_the_settings(tmp_path):
    """GIVEN ``backend serve --lookup-rate-per-token 2`` WHEN one kiosk token looks up three times in a row THEN
    the third gets 429 with Retry-After; and the flags' defaults are BackendSettings' own."""
    serve = build_parser().parse_args(["backend", "serve"])
    assert (serve.lookup_rate_per_token, serve.lookup_rate_per_address) == (
        BackendSettings.lookups_per_token_per_min, BackendSettings.lookups_per_address_per_min)
    token = secrets.token_urlsafe(24)
    server = ServeProcess("backend", "serve", "--db", str(store_target(tmp_path / "backend.db")),
                          "--lookup-rate-per-token", "2",
                          env=server_env(BACKEND_KIOSK_TOKEN=token))
    try:
        answers = [httpx.get(f"{server.url}/api/dossiers/{DEMO}1", headers={"Authorization": f"Bearer {token}"})
                   for _ in range(3)]
        assert [answer.status_code for answer in answers] == [200, 200, 429]
        assert answers[2].json()["error"] == "rate_limited" and int(answers[2].headers["Retry-After"]) >= 1
    finally:
        server.stop()
