"""Status by SMS (issue 20 item 4): the submission's contact and result delivery, the dossier system's status
callback, the outbox and its sender, on both engines.

The sender is driven pass by pass (``SmsSender.run_once``) with a clock the test moves, against the SMS simulator
spool or the eSMS-protocol simulator server on 127.0.0.1; one test runs the real ``backend serve`` process, whose
sender task delivers on its own.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from backend.app import BackendSettings, create_app
from backend.server import open_store, serve_in_thread
from backend.sms_outbox import SmsOutbox
from backend.sms_sender import SmsSender
from backend.sms_texts import SMS_EVENTS, dossier_text
from backend.store import CONTACT_KEPT_AFTER_RETURN
from config.localtime import LOCAL_TZ
from contracts.sms import ESMS_PATH, EsmsGateway, SimulatedGateway, read_simulated
from contracts.sms_sim import EsmsSimulator
from tests.stores import store_target
from tests.support import ADMIN_TOKEN, ROOT, ServeProcess, dossier_body, eventually, server_env

pytestmark = pytest.mark.stores
PHONE = "0912345678"
MASKED = "091****678"
ADDRESS = "Số 12 ngõ 34 phố Hàng Bông, phường Hoàn Kiếm, Hà Nội"
KIOSK_TOKEN = "kiosk-token-for-sms-tests"


class MovableClock:
    """Now, plus however far the test has moved it (the store stamps rows with the real now)."""

    def __init__(self) -> None:
        self.ahead = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(LOCAL_TZ) + self.ahead

    def advance(self, **delta: float) -> None:
        self.ahead += dt.timedelta(**delta)


class Backend:
    """A backend on 127.0.0.1 that sends no SMS by itself: the test runs its sender's passes."""

    def __init__(self, target: Path | str) -> None:
        self.store = open_store(target)
        self.store.add_token("admin", None, ADMIN_TOKEN)
        self.store.add_token("kiosk", "HN-HK-01", KIOSK_TOKEN)
        self.running = serve_in_thread(create_app(self.store, BackendSettings()))
        self.url = self.running.url

    def submit(self, key: str, **fields: object) -> httpx.Response:
        return httpx.post(f"{self.url}/api/dossiers", json={**dossier_body("HT05"), **fields},
                          headers={"Authorization": f"Bearer {KIOSK_TOKEN}", "Idempotency-Key": key})

    def set_status(self, code: str, status: str, note: str | None = None, token: str = ADMIN_TOKEN) -> httpx.Response:
        return httpx.post(f"{self.url}/api/dossiers/{code}/status", json={"status": status, "note": note},
                          headers={"Authorization": f"Bearer {token}"})

    def look_up(self, code: str) -> httpx.Response:
        return httpx.get(f"{self.url}/api/dossiers/{code}", headers={"Authorization": f"Bearer {KIOSK_TOKEN}"})

    def stop(self) -> None:
        self.running.stop()
        self.store.close()


@pytest.fixture
def backend(tmp_path):
    running = Backend(store_target(tmp_path / "backend.db"))
    yield running
    running.stop()


@pytest.fixture
def provider():
    """The eSMS-protocol simulator on 127.0.0.1, and an adapter pointed at it."""
    simulator = EsmsSimulator()
    running = serve_in_thread(simulator.app, name="esms-sim")
    gateway = EsmsGateway(running.url + ESMS_PATH, simulator.api_key, simulator.secret_key, "HANOI-DVC",
                          timeout_s=2)
    yield simulator, gateway
    simulator.behave()
    gateway.close()
    running.stop()


def consenting(**delivery: str) -> dict:
    return {"contact": {"phone": "+84 91-234-5678", "sms_consent": True},
            "result_delivery": delivery or {"method": "counter"}}


def walk_to_result(backend: Backend, code: str) -> None:
    for status, note in (("needs_documents", "Bản sao giấy khai sinh"), ("processing", None),
                         ("result_ready", "Quầy số 3"), ("returned", None)):
        assert backend.set_status(code, status, note).status_code == 200


# -- the three messages, end to end through `backend serve` ------------------------------------------------------


def test_with_consent_backend_serve_sends_three_sms_at_the_three_events(tmp_path):
    target = store_target(tmp_path / "data" / "backend.db")
    (tmp_path / "data").mkdir(exist_ok=True)
    env = server_env(BACKEND_ADMIN_TOKEN=ADMIN_TOKEN, BACKEND_KIOSK_TOKEN=KIOSK_TOKEN)
    server = ServeProcess("backend", "serve", "--db", str(target), env=env, cwd=tmp_path)
    spool = (tmp_path / "data" if isinstance(target, Path) else tmp_path / "backend-data") / "sms-sim"
    kiosk = {"Authorization": f"Bearer {KIOSK_TOKEN}"}
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    try:
        filed = httpx.post(f"{server.url}/api/dossiers", json={**dossier_body("HT05"), **consenting()},
                           headers={**kiosk, "Idempotency-Key": "serve-0001"})
        assert filed.status_code == 201, filed.text
        code, due = filed.json()["code"], dt.date.fromisoformat(filed.json()["due_date"])
        first = eventually(lambda: read_simulated(spool), message="the filing's SMS")
        assert [(m["phone"], m["text"]) for m in first] == [
            (PHONE, f"Hồ sơ {code} đã được tiếp nhận. Hẹn trả kết quả {due:%d/%m/%Y}.")]
        for status in ("needs_documents", "processing", "result_ready", "returned"):
            answer = httpx.post(f"{server.url}/api/dossiers/{code}/status", json={"status": status}, headers=admin)
            assert answer.status_code == 200 and answer.json()["status"] == status
        messages = eventually(lambda: [spooled for spooled in [read_simulated(spool)] if len(spooled) >= 3],
                              message="three SMS")[0]
        assert [m["text"] for m in messages] == [
            dossier_text("received", code, due_date=due.isoformat()), dossier_text("needs_documents", code),
            dossier_text("result_ready", code, delivery="counter")]
        assert len({m["request_id"] for m in messages}) == 3
    finally:
        log = server.stop()
    assert "Status SMS: SMS simulator writing to" in log
    assert PHONE not in log and "tiếp nhận" not in log  # neither the number nor a text in the server's output
    assert len(read_simulated(spool)) == 3  # returned sends nothing


def test_backend_serve_refuses_an_sms_url_without_keys(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "backend", "serve", "--db",
                           str(tmp_path / "backend.db"), "--sms-url", "https://rest.esms.vn" + ESMS_PATH],
                          env=server_env(), cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "--sms-url needs SMS_API_KEY, SMS_SECRET_KEY, SMS_BRANDNAME (environment or --sms-key-file)")


# -- consent -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("contact", [None, {"phone": PHONE}, {"phone": PHONE, "sms_consent": False}])
def test_without_consent_no_sms_is_queued_or_sent(backend, tmp_path, contact):
    fields = {"contact": contact} if contact else {}
    code = backend.submit("key-none-0001", **fields).json()["code"]
    walk_to_result(backend, code)
    spool = tmp_path / "sms-sim"
    assert SmsSender(backend.store, SimulatedGateway(spool)).run_once() == 0
    assert read_simulated(spool) == [] and SmsOutbox(backend.store.db).rows(code) == []


def test_the_result_message_follows_the_delivery_method(backend, tmp_path):
    spool = tmp_path / "sms-sim"
    sender = SmsSender(backend.store, SimulatedGateway(spool))
    codes = {}
    for method in ("counter", "post", "electronic"):
        delivery = {"method": method, **({"address": ADDRESS} if method == "post" else {})}
        codes[method] = backend.submit(f"key-{method}-0001", **consenting(**delivery)).json()["code"]
        for status in ("processing", "result_ready"):
            assert backend.set_status(codes[method], status).status_code == 200
    assert sender.run_once() == 6
    texts = [m["text"] for m in read_simulated(spool)]
    for method, code in codes.items():
        assert dossier_text("result_ready", code, delivery=method) in texts
    assert "bưu điện" in dossier_text("result_ready", codes["post"], delivery="post")


# -- the gateway down, refusing, or a sender dying mid-send -----------------------------------------------------


@pytest.mark.parametrize("fault", ["code 99", "http 503", "hang"])
def test_a_gateway_down_delays_the_message_and_it_goes_after(backend, provider, fault):
    simulator, gateway = provider
    clock = MovableClock()
    sender = SmsSender(backend.store, gateway, clock=clock)
    if fault == "code 99":
        simulator.fail_code = "99"
    elif fault == "http 503":
        simulator.http_status = 503
    else:
        simulator.hang_s = 4  # past the adapter's 2 s timeout
    code = backend.submit("key-down-0001", **consenting()).json()["code"]
    outbox = SmsOutbox(backend.store.db)
    assert sender.run_once() == 1
    assert outbox.rows(code)[0]["state"] == "pending" and outbox.rows(code)[0]["attempts"] == 1
    assert sender.run_once() == 0  # not due again before its pause (30 s)
    clock.advance(seconds=31)
    assert sender.run_once() == 1 and outbox.rows(code)[0]["attempts"] == 2  # still down: the pause doubles
    simulator.behave()
    clock.advance(seconds=31)
    assert sender.run_once() == 0
    clock.advance(seconds=30)
    assert sender.run_once() == 1
    assert outbox.rows(code)[0]["state"] == "sent"
    assert [m["phone"] for m in simulator.messages] == [PHONE]


def test_a_gateway_that_is_not_running_is_tried_again(backend, provider):
    simulator, _ = provider
    clock = MovableClock()
    dead = EsmsGateway("http://127.0.0.1:9" + ESMS_PATH, simulator.api_key, simulator.secret_key, "HANOI-DVC",
                       timeout_s=2)
    code = backend.submit("key-dead-0001", **consenting()).json()["code"]
    assert SmsSender(backend.store, dead, clock=clock).run_once() == 1
    assert SmsOutbox(backend.store.db).rows(code)[0]["state"] == "pending"
    clock.advance(seconds=31)
    assert SmsSender(backend.store, provider[1], clock=clock).run_once() == 1
    assert SmsOutbox(backend.store.db).rows(code)[0]["state"] == "sent" and len(simulator.messages) == 1


@pytest.mark.parametrize(("code_result", "words"), [("101", "key"), ("103", "balance")])
def test_a_refusal_is_given_up_and_logged_with_the_number_masked(backend, provider, caplog, code_result, words):
    simulator, gateway = provider
    simulator.fail_code = code_result
    clock = MovableClock()
    code = backend.submit("key-refused-0001", **consenting()).json()["code"]
    with caplog.at_level(logging.INFO, logger="backend.sms_sender"):
        assert SmsSender(backend.store, gateway, clock=clock).run_once() == 1
    row = SmsOutbox(backend.store.db).rows(code)[0]
    assert row["state"] == "given_up" and code_result in row["last_error"] and words in row["last_error"]
    logged = caplog.text
    assert MASKED in logged and code in logged and "given up" in logged
    assert PHONE not in logged and "tiếp nhận" not in logged
    simulator.behave()
    clock.advance(hours=1)
    assert SmsSender(backend.store, gateway, clock=clock).run_once() == 0  # given up stays given up
    assert simulator.messages == []


def test_a_message_days_old_is_given_up_rather_than_sent_late(backend, provider):
    simulator, gateway = provider
    simulator.fail_code = "99"
    clock = MovableClock()
    code = backend.submit("key-stale-0001", **consenting()).json()["code"]
    sender = SmsSender(backend.store, gateway, clock=clock)
    sender.run_once()
    clock.advance(days=2, seconds=1)
    assert sender.run_once() == 1
    assert SmsOutbox(backend.store.db).rows(code)[0]["state"] == "given_up"


def test_a_sender_dying_mid_send_leaves_the_message_to_another_which_sends_it_once(backend, provider):
    simulator, gateway = provider
    clock = MovableClock()
    backend.submit("key-crash-0001", **consenting())
    outbox = SmsOutbox(backend.store.db)
    [taken] = outbox.claim(clock())  # a sender took it …
    gateway.send(taken.phone, taken.text, request_id=taken.request_id)  # … sent it, and died before recording it
    other = SmsSender(backend.store, gateway, clock=clock)
    assert other.run_once() == 0  # the lease still holds
    clock.advance(minutes=2, seconds=1)
    assert other.run_once() == 1
    assert len(simulator.messages) == 1 and simulator.requests == 2  # the provider dropped the repeat


def test_two_senders_on_one_database_send_each_message_once(tmp_path, provider):
    simulator, gateway = provider
    target = store_target(tmp_path / "backend.db")
    first = Backend(target)
    second_store = open_store(target)
    try:
        codes = [first.submit(f"key-{n:04d}-0001", **consenting()).json()["code"] for n in range(12)]
        senders = [SmsSender(first.store, gateway), SmsSender(second_store, gateway)]
        tried = [0, 0]
        start = threading.Barrier(2)

        def drain(index: int) -> None:
            start.wait()
            while (count := senders[index].run_once()) > 0:
                tried[index] += count

        threads = [threading.Thread(target=drain, args=(index,)) for index in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sum(tried) == 12
        assert len(simulator.messages) == 12 and len({m["request_id"] for m in simulator.messages}) == 12
        assert all(SmsOutbox(first.store.db).rows(code)[0]["state"] == "sent" for code in codes)
    finally:
        second_store.close()
        first.stop()


# -- what a submission takes and what a look-up shows ------------------------------------------------------------


@pytest.mark.parametrize(("fields", "words"), [
    ({"contact": {"phone": "024 3825 1234", "sms_consent": True}}, "landline"),
    ({"contact": {"phone": "01689123456"}}, "2018"),
    ({"contact": {"phone": "0912abc678"}}, "only digits"),
    ({"contact": {"phone": "9" * 50}}, "contact.phone"),
    ({"contact": {"sms_consent": True}}, "consent needs a phone"),
    ({"contact": {"phone": None, "sms_consent": True}}, "consent needs a phone"),
    ({"contact": {"phone": PHONE, "sms_consent": "maybe"}}, "sms_consent"),
    ({"contact": {"phone": PHONE, "email": "a@b.vn"}}, "unknown key"),
    ({"contact": PHONE}, "contact"),
    ({"result_delivery": {"method": "post"}}, "postal address"),
    ({"result_delivery": {"method": "post", "address": "   "}}, "postal address"),
    ({"result_delivery": {"method": "post", "address": "x" * 301}}, "result_delivery.address"),
    ({"result_delivery": {"method": "post", "address": "Số 1\nphố Huế"}}, "result_delivery.address"),
    ({"result_delivery": {"method": "drone"}}, "result_delivery.method"),
    ({"result_delivery": {}}, "result_delivery.method"),
])
def test_a_bad_contact_or_delivery_is_422_with_one_sentence(backend, fields, words):
    answer = backend.submit("key-bad-0001", **fields)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "invalid" and words in answer.json()["message"]
    assert "Traceback" not in answer.text


def test_a_phone_sentence_reaches_the_kiosk_as_it_is(backend):
    answer = backend.submit("key-landline-0001", contact={"phone": "024 3825 1234", "sms_consent": True})
    assert answer.json()["message"] == ("contact.phone: That is a landline number, which cannot receive SMS: "
                                        "give a mobile number.")


def test_the_receipt_shows_the_choice_and_a_look_up_by_code_reveals_no_phone_address_or_delivery(backend):
    filed = backend.submit("key-post-0001", **consenting(method="post", address=f"  {ADDRESS}  "))
    assert filed.status_code == 201
    receipt = filed.json()
    assert receipt["result_delivery"] == {"method": "post", "address": ADDRESS}
    assert receipt["contact"] == {"phone": MASKED, "sms_consent": True}
    again = backend.submit("key-post-0001", **consenting(method="post", address=f"  {ADDRESS}  "))
    assert again.status_code == 200 and again.json() == receipt  # the idempotent repeat answers the same
    looked_up = backend.look_up(receipt["code"])
    assert looked_up.status_code == 200
    assert "contact" not in looked_up.json() and "result_delivery" not in looked_up.json()
    for secret in (PHONE, "234", "5678", MASKED, "Hàng Bông", "ngõ 34"):
        assert secret not in looked_up.text
    changed = backend.set_status(receipt["code"], "processing")  # the admin's answer is the look-up's too
    assert PHONE not in changed.text and "Hàng Bông" not in changed.text


def test_an_address_given_with_another_method_is_not_kept(backend):
    filed = backend.submit("key-counter-0001", result_delivery={"method": "counter", "address": ADDRESS})
    assert filed.json()["result_delivery"] == {"method": "counter", "address": None}
    assert backend.store.db.query("SELECT COUNT(*) FROM dossiers WHERE delivery_address IS NOT NULL")[0][0] == 0


def test_a_filing_without_the_new_fields_is_as_before(backend):
    filed = backend.submit("key-plain-0001")
    assert filed.status_code == 201
    assert filed.json()["result_delivery"] is None and filed.json()["contact"] is None
    assert backend.look_up(filed.json()["code"]).json()["status"] == "received"


# -- the status callback -----------------------------------------------------------------------------------------


def test_status_changes_follow_the_allowed_transitions(backend):
    code = backend.submit("key-flow-0001", **consenting()).json()["code"]
    assert backend.set_status(code, "returned").json()["error"] == "bad_transition"
    assert backend.set_status(code, "returned").status_code == 409
    documents = backend.set_status(code, "needs_documents", "  Bản sao giấy khai sinh  ").json()
    assert documents["status"] == "needs_documents" and documents["missing"] == "Bản sao giấy khai sinh"
    assert documents["timeline"][-1] == {"at": documents["timeline"][-1]["at"], "status": "needs_documents",
                                         "note": "Bản sao giấy khai sinh"}
    repeated = backend.set_status(code, "needs_documents", "Bản sao giấy khai sinh")  # a callback sent twice
    assert repeated.status_code == 200 and len(repeated.json()["timeline"]) == 2
    assert backend.set_status(code, "processing").json()["missing"] is None
    ready = backend.set_status(code, "result_ready", "Quầy số 3").json()
    assert ready["pickup"] == "Quầy số 3"
    assert [row["event"] for row in SmsOutbox(backend.store.db).rows(code)] == list(SMS_EVENTS)


@pytest.mark.parametrize(("path_code", "body", "token", "status", "error"), [
    ("000.00.13.H26-251120-0001", {"status": "processing"}, KIOSK_TOKEN, 403, "forbidden"),
    ("000.00.13.H26-251120-0001", {"status": "processing"}, "nope", 401, "unauthorized"),
    ("000.00.13.H26-991231-9999", {"status": "processing"}, ADMIN_TOKEN, 404, "not_found"),
    ("000.00.13.H26-251120-0001", {"status": "lost"}, ADMIN_TOKEN, 422, "invalid"),
    ("000.00.13.H26-251120-0001", {"status": "processing", "note": "x" * 501}, ADMIN_TOKEN, 422, "invalid"),
    ("000.00.13.H26-251120-0001", {"status": "processing", "by": "me"}, ADMIN_TOKEN, 422, "invalid"),
    ("000.00.13.H26-251120-0005", {"status": "processing"}, ADMIN_TOKEN, 409, "bad_transition"),
])
def test_the_status_callback_refuses(backend, path_code, body, token, status, error):
    answer = httpx.post(f"{backend.url}/api/dossiers/{path_code}/status", json=body,
                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == status and answer.json()["error"] == error


def test_a_demo_dossier_without_contact_changes_status_without_sms(backend):
    answer = backend.set_status("000.00.13.h26-251120-0001", "processing")  # the code canonical on the way in
    assert answer.status_code == 200 and answer.json()["code"] == "000.00.13.H26-251120-0001"
    assert SmsOutbox(backend.store.db).counts() == {}


# -- retention -----------------------------------------------------------------------------------------------------


def test_a_returned_dossier_forgets_its_contact_after_30_days_and_an_unsent_message_is_given_up(backend, tmp_path):
    kept = backend.submit("key-kept-0001", **consenting(method="post", address=ADDRESS)).json()["code"]
    code = backend.submit("key-forget-0001", **consenting(method="post", address=ADDRESS)).json()["code"]
    for status in ("processing", "result_ready", "returned"):
        backend.set_status(code, status)
    clock = MovableClock()
    sender = SmsSender(backend.store, SimulatedGateway(tmp_path / "sms-sim"), clock=clock)
    clock.advance(days=29)
    sender.upkeep()
    assert backend.store.db.query("SELECT COUNT(*) FROM dossiers WHERE phone IS NOT NULL")[0][0] == 2
    clock.advance(days=1, seconds=1)
    assert backend.store.forget_contacts(clock()) == 1
    row = backend.store.db.query("SELECT phone, sms_consent, delivery_method, delivery_address FROM dossiers "
                                 "WHERE code = ?", [code])[0]
    assert row == (None, 0, "post", None)
    assert backend.store.db.query("SELECT phone FROM dossiers WHERE code = ?", [kept])[0][0] == PHONE
    assert sender.run_once() == 3  # the forgotten dossier's two messages go nowhere, the other one's one is sent
    rows = SmsOutbox(backend.store.db).rows(code)
    assert {row["state"] for row in rows} == {"given_up"}
    assert [m["phone"] for m in read_simulated(tmp_path / "sms-sim")] == [PHONE]
    clock.advance(days=30, seconds=1)
    sender.upkeep()
    assert SmsOutbox(backend.store.db).counts() == {}  # finished rows go 30 days after
    assert CONTACT_KEPT_AFTER_RETURN == dt.timedelta(days=30)


# -- the texts -----------------------------------------------------------------------------------------------------


def test_every_text_is_vietnamese_within_160_characters_and_names_no_one():
    code = "000.00.13.H26-251231-9999"
    texts = [dossier_text("received", code, due_date="2026-12-31"), dossier_text("needs_documents", code),
             *(dossier_text("result_ready", code, delivery=m) for m in ("counter", "post", "electronic", None))]
    assert all(len(text) <= 160 and code in text for text in texts)
    assert texts[0] == f"Hồ sơ {code} đã được tiếp nhận. Hẹn trả kết quả 31/12/2026."
    with pytest.raises(ValueError):
        dossier_text("returned", code)
    assert json.dumps(texts, ensure_ascii=False).count("Hồ sơ") == len(texts)


# -- moving a site -------------------------------------------------------------------------------------------------


def test_a_site_copied_to_postgres_keeps_its_queued_sms_and_queues_new_ones(tmp_path, pg_cluster):
    site = Backend(tmp_path / "backend.db")
    try:
        queued = site.submit("key-before-0001", **consenting()).json()["code"]
    finally:
        site.stop()
    url = pg_cluster.fresh_database()
    copied = subprocess.run([sys.executable, str(ROOT / "main.py"), "backend", "copy-data", "--from",
                             str(tmp_path / "backend.db"), "--to", url], capture_output=True, text=True, timeout=120,
                            env=server_env())
    assert copied.returncode == 0, copied.stderr
    store = open_store(url)
    try:
        body = {**dossier_body("HT05"), "contact": {"phone": PHONE, "sms_consent": True}}
        after, _ = store.submit("key-after-0001", body, "HN-HK-01")  # a new id past the copied one, no clash
        spool = tmp_path / "sms-sim"
        assert SmsSender(store, SimulatedGateway(spool)).run_once() == 2
        assert [m["text"].split()[2] for m in read_simulated(spool)] == [queued, after["code"]]
    finally:
        store.close()
