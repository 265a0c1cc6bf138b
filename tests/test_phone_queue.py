"""Numbers taken from a phone (issue 20, contracts E) on a real queue server: the one-time code read back from the SMS
simulator's spool, the abuse limits, one line and one numbering with printed tickets, calls passing over numbers not
checked in, check-in at a kiosk and a counter, the grace skip and the one re-queue, the "near" SMS exactly once, and
a gateway outage that loses no message."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from backend.server import serve_in_thread
from config.schema import PhoneQueueSection
from contracts.pin import hash_pin
from contracts.sms import SimulatedGateway, SmsError, normalise_phone, read_simulated
from queueing.server import create_app
from queueing.server.phone_sms import MAX_BACKOFF_S
from tests.stores import store_target
from tests.support import ROOT, FakeClock, ServeProcess, WallClock, eventually, open_engine, queue_token

pytestmark = pytest.mark.stores  # the server runs on store_target: SQLite, then PostgreSQL

PASSWORD = "246813"
PHONE = "0912345678"
OTHER_PHONES = ["0987654321", "0901234567", "0933333333", "0944444444", "0355555555", "0866666666"]
CENTRE = "Trung tâm Phục vụ hành chính công Hà Nội"


def clean_env() -> dict[str, str]:
    """This environment without SMS keys or queue variables, so a developer's shell cannot change the outcome."""
    return {name: value for name, value in os.environ.items() if not name.startswith(("SMS_", "QUEUE_"))}


@dataclass
class SwitchableGateway:
    """The simulator behind a switch: while ``down`` every send fails (transient or refused), as a gateway would."""

    spool: Path
    down: bool = False
    transient: bool = True
    attempts: list[str] = field(default_factory=list)

    def send(self, phone: str, text: str, *, request_id: str) -> str:
        self.attempts.append(request_id)
        if self.down:
            raise SmsError("gateway unreachable" if self.transient else "refused: 103", transient=self.transient)
        return SimulatedGateway(self.spool).send(phone, text, request_id=request_id)


@pytest.fixture
def start(tmp_path):
    """Start a queue server with the phone queue; keyword arguments override ``[queue.phone]``."""
    running: list[Any] = []

    def server(**settings: Any) -> SimpleNamespace:
        clock, epoch = WallClock(), FakeClock(time.time())
        engine = open_engine(store_target(tmp_path / "queue.db"), clock)
        gateway = SwitchableGateway(tmp_path / "sms")
        app = create_app(engine, counter_passwords={n: hash_pin(PASSWORD) for n in (1, 2, 3)},
                         kiosk_tokens=[queue_token()], clock=clock, title=CENTRE, sms=gateway,
                         phone=PhoneQueueSection(**{"resend_after_s": 0, **settings}),
                         public_url="https://queue.example.vn", phone_clock=epoch)
        served = serve_in_thread(app)
        http = httpx.Client(base_url=served.url, timeout=10)
        running.append((served, engine, http))
        return SimpleNamespace(http=http, engine=engine, clock=clock, epoch=epoch, gateway=gateway,
                               spool=tmp_path / "sms")

    yield server
    for served, engine, http in running:
        http.close()
        served.stop()
        engine.close()


@pytest.fixture
def branch(start) -> SimpleNamespace:
    return start()


# -- helpers ------------------------------------------------------------------------------------------------------
KIOSK = {"Authorization": f"Bearer {queue_token()}"}


def messages(b: SimpleNamespace, phone: str = PHONE) -> list[str]:
    return [m["text"] for m in read_simulated(b.spool) if m["phone"] == normalise_phone(phone)]


def ask_code(b: SimpleNamespace, phone: str = PHONE, service: str = "HT") -> str:
    """Ask for a code and read it from the SMS the simulator spooled."""
    before = len(messages(b, phone))
    answer = b.http.post("/api/phone/otp", json={"phone": phone, "service": service})
    assert answer.status_code == 202, answer.text
    # the phone may get another SMS meanwhile (its number near the counter, from the sender's upkeep): take the code's
    codes = eventually(lambda: [found.group(1) for text in messages(b, phone)[before:]
                                if (found := re.match(r"^(\d{6}) là mã xác nhận", text))], message="the code's SMS")
    return codes[0]


def take_number(b: SimpleNamespace, phone: str = PHONE, service: str = "HT") -> tuple[str, dict]:
    answer = b.http.post("/api/phone/tickets", json={"phone": phone, "otp": ask_code(b, phone, service),
                                                     "service": service})
    assert answer.status_code == 201, answer.text
    return answer.json()["token"], answer.json()["ticket"]


def printed(b: SimpleNamespace, request_id: str, service: str = "HT") -> dict:
    answer = b.http.post("/api/tickets", json={"service": service, "request_id": request_id}, headers=KIOSK)
    assert answer.status_code == 200, answer.text
    return answer.json()


def view(b: SimpleNamespace, token: str) -> dict:
    answer = b.http.get(f"/api/phone/tickets/{token}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def counter_login(b: SimpleNamespace, counter: int = 1) -> dict[str, str]:
    token = b.http.post(f"/api/counters/{counter}/login", json={"password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def call_next(b: SimpleNamespace, auth: dict[str, str], counter: int = 1, finish: bool = True) -> str | None:
    called = b.http.post(f"/api/counters/{counter}/call-next", headers=auth).json()["ticket"]
    if called and finish:
        assert b.http.post(f"/api/counters/{counter}/finish", headers=auth).status_code == 200
    return called["number"] if called else None


def code_of(ticket: dict) -> str:
    return ticket["checkin_url"].rsplit("/", 1)[1]


def outbox(b: SimpleNamespace, kind: str) -> list[tuple]:
    return b.engine.db.query("SELECT phone, state, attempts FROM sms_outbox WHERE kind = ? ORDER BY id", [kind])


# -- the code and the number -----------------------------------------------------------------------------------------
def test_a_number_from_a_phone_with_the_code_of_the_simulated_sms(branch):
    services = branch.http.get("/api/phone/services").json()
    assert services["centre"] == CENTRE
    assert {s["code"]: s["open"] for s in services["services"]} == {"HT": True, "CT": True}

    token, ticket = take_number(branch, "+84 91-234-5678")  # any common spelling of the same phone

    assert ticket["number"] == "A001" and ticket["state"] == "virtual" and ticket["service_name"] == "Hộ tịch"
    assert re.fullmatch(r"https://queue\.example\.vn/phone/c/[0-9A-HJKMNP-TV-Z]{10}", ticket["checkin_url"])
    assert re.fullmatch(r"\d\d:\d\d", ticket["come_by"])
    shown = branch.http.get(f"/api/phone/tickets/{token}")
    assert shown.json() == ticket
    assert "912" not in shown.text  # the view never shows the phone
    assert next(s for s in branch.http.get("/api/phone/services").json()["services"]
                if s["code"] == "HT")["waiting"] == 1  # the virtual number is in the line the page shows
    assert branch.http.get("/api/phone/tickets/not-a-token").status_code == 404


def test_five_wrong_codes_void_the_code(branch):
    code = ask_code(branch)
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    for left in (4, 3, 2, 1):
        answer = branch.http.post("/api/phone/tickets", json={"phone": PHONE, "otp": wrong, "service": "HT"})
        assert answer.status_code == 422 and answer.json()["code"] == "bad_code"
        assert f"{left} tries left" in answer.json()["error"]
    answer = branch.http.post("/api/phone/tickets", json={"phone": PHONE, "otp": wrong, "service": "HT"})
    assert answer.status_code == 422 and "no longer works" in answer.json()["error"]
    answer = branch.http.post("/api/phone/tickets", json={"phone": PHONE, "otp": code, "service": "HT"})
    assert answer.status_code == 422, "the right code after five wrong ones must not work"


def test_a_code_expires_and_a_bad_phone_is_named(branch):
    code = ask_code(branch)
    branch.epoch.advance(301)
    answer = branch.http.post("/api/phone/tickets", json={"phone": PHONE, "otp": code, "service": "HT"})
    assert answer.status_code == 422 and answer.json()["code"] == "bad_code"
    landline = branch.http.post("/api/phone/otp", json={"phone": "02438253536", "service": "HT"})
    assert landline.status_code == 422 and landline.json()["error"].startswith("phone:")
    assert branch.http.post("/api/phone/otp", json={"phone": PHONE, "service": "XX"}).status_code == 404


# -- limits ---------------------------------------------------------------------------------------------------------
def test_three_codes_per_phone_an_hour(branch):
    for _ in range(3):
        ask_code(branch)
    answer = branch.http.post("/api/phone/otp", json={"phone": PHONE, "service": "HT"})
    assert answer.status_code == 429 and answer.json()["code"] == "rate_limited"
    assert 3500 < int(answer.headers["Retry-After"]) <= 3600
    branch.epoch.advance(3601)
    ask_code(branch)


def test_a_phone_waits_before_asking_again(start):
    b = start(resend_after_s=60)
    ask_code(b)
    answer = b.http.post("/api/phone/otp", json={"phone": PHONE, "service": "HT"})
    assert answer.status_code == 429 and 55 <= int(answer.headers["Retry-After"]) <= 60


def test_codes_per_client_address(start):
    b = start(codes_per_address_hour=4)
    for phone in OTHER_PHONES[:4]:
        ask_code(b, phone)
    answer = b.http.post("/api/phone/otp", json={"phone": OTHER_PHONES[4], "service": "HT"})
    assert answer.status_code == 429 and int(answer.headers["Retry-After"]) > 0


def test_numbers_from_phones_per_centre_and_day(start):
    b = start(max_per_day=2)
    take_number(b, OTHER_PHONES[0])
    take_number(b, OTHER_PHONES[1], "CT")
    answer = b.http.post("/api/phone/otp", json={"phone": OTHER_PHONES[2], "service": "HT"})
    assert answer.status_code == 429 and answer.json()["code"] == "daily_limit"
    assert int(answer.headers["Retry-After"]) == 15 * 3600  # 09:00 → midnight, local time
    printed(b, "r-after-cap")  # the cap is on phones: kiosks go on issuing


def test_one_active_number_per_phone(branch):
    token, _ = take_number(branch)
    answer = branch.http.post("/api/phone/otp", json={"phone": PHONE, "service": "CT"})
    assert answer.status_code == 409 and answer.json()["code"] == "already_has_number"
    cancelled = branch.http.post(f"/api/phone/tickets/{token}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert branch.http.post(f"/api/phone/tickets/{token}/cancel").status_code == 409
    _, again = take_number(branch, service="CT")
    assert again["number"] == "B0001"


# -- one line, one numbering ----------------------------------------------------------------------------------------
def test_printed_and_phone_numbers_share_the_numbering_and_calls_pass_over_a_phone_not_checked_in(branch):
    assert printed(branch, "r1")["number"] == "A001"
    token, ticket = take_number(branch)
    assert ticket["number"] == "A002" and ticket["people_ahead"] == 1
    assert printed(branch, "r3")["number"] == "A003"
    counter = counter_login(branch)

    assert call_next(branch, counter) == "A001"
    assert call_next(branch, counter) == "A003"  # A002 is not here yet: passed over
    assert view(branch, token)["state"] == "virtual"
    printed(branch, "r4")

    checked = branch.http.post("/api/checkin", json={"code": code_of(ticket).lower()}, headers=KIOSK)
    assert checked.status_code == 200, checked.text
    assert checked.json() == {"number": "A002", "service": "HT", "state": "waiting", "people_ahead": 0,
                              "estimate_min": 0}
    assert call_next(branch, counter) == "A002"  # back at its place: before A004, taken later
    assert view(branch, token)["state"] == "done"


def test_people_ahead_of_a_phone_number_count_printed_and_phone_numbers(branch):
    printed(branch, "r1")
    take_number(branch, OTHER_PHONES[0])
    printed(branch, "r2", "CT")  # another line
    token, ticket = take_number(branch)
    assert ticket["people_ahead"] == 2
    assert view(branch, token)["estimate_min"] > 0


# -- check-in -------------------------------------------------------------------------------------------------------
def test_kiosk_check_in_refusals(branch):
    token, ticket = take_number(branch)
    unknown = branch.http.post("/api/checkin", json={"code": "0000000000"}, headers=KIOSK)
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_code"
    assert branch.http.post("/api/checkin", json={"code": code_of(ticket)}).status_code == 401  # kiosks only
    assert branch.http.post("/api/checkin", json={"code": "short"}, headers=KIOSK).status_code == 422
    assert branch.http.post("/api/checkin", json={"code": code_of(ticket)}, headers=KIOSK).status_code == 200
    again = branch.http.post("/api/checkin", json={"code": code_of(ticket)}, headers=KIOSK)
    assert again.status_code == 409 and again.json()["code"] == "already_checked_in"

    other_token, other = take_number(branch, OTHER_PHONES[0])
    branch.http.post(f"/api/phone/tickets/{other_token}/cancel")
    cancelled = branch.http.post("/api/checkin", json={"code": code_of(other)}, headers=KIOSK)
    assert cancelled.status_code == 409 and cancelled.json()["code"] == "not_waiting"

    _, yesterdays = take_number(branch, OTHER_PHONES[1])
    branch.clock.advance(days=1)
    late = branch.http.post("/api/checkin", json={"code": code_of(yesterdays)}, headers=KIOSK)
    assert late.status_code == 410 and late.json()["code"] == "expired"


def test_counter_check_in_by_number(branch):
    take_number(branch)
    printed(branch, "r2")
    assert branch.http.post("/api/counter/checkin", json={"number": "A001"}).status_code == 401
    counter = counter_login(branch, 2)
    checked = branch.http.post("/api/counter/checkin", json={"number": "a001"}, headers=counter)
    assert checked.status_code == 200 and checked.json()["state"] == "waiting"
    again = branch.http.post("/api/counter/checkin", json={"number": "A001"}, headers=counter)
    assert again.json()["code"] == "already_checked_in"
    printed_one = branch.http.post("/api/counter/checkin", json={"number": "A002"}, headers=counter)
    assert printed_one.status_code == 404 and printed_one.json()["code"] == "unknown_code"
    assert call_next(branch, counter, counter=2) == "A001"


# -- grace, skip, re-queue ----------------------------------------------------------------------------------------------
def test_a_number_not_checked_in_is_skipped_after_the_grace_and_requeued_once(branch):
    token, _ = take_number(branch)
    printed(branch, "r2")
    counter = counter_login(branch)
    assert call_next(branch, counter) == "A002"  # passes A001 over at 09:00
    branch.clock.advance(minutes=9)
    printed(branch, "r3")
    assert call_next(branch, counter) == "A003"
    assert view(branch, token)["state"] == "virtual", "still within its grace"

    branch.clock.advance(minutes=2)  # 11 minutes after it was first passed over
    # the page's polls are limited per token (30 a minute): poll as a page would, not in a tight loop
    skipped = eventually(lambda: (v := view(branch, token))["state"] == "skipped" and v, interval=0.5,
                         message="the skip")
    assert skipped["requeue_allowed"] is True
    assert eventually(lambda: [t for t in messages(branch) if "bị bỏ qua" in t], message="the skip's SMS")

    printed(branch, "r4")
    branch.clock.advance(seconds=1)  # (a frozen clock would tie with A004; the line then goes by insertion)
    requeued = branch.http.post(f"/api/phone/tickets/{token}/requeue")
    assert requeued.status_code == 200
    assert requeued.json()["state"] == "virtual" and requeued.json()["people_ahead"] == 1  # behind A004
    assert requeued.json()["requeue_allowed"] is False

    branch.clock.advance(seconds=1)
    printed(branch, "r5")
    assert call_next(branch, counter) == "A004"
    assert call_next(branch, counter) == "A005"  # passes it over again
    branch.clock.advance(minutes=11)
    eventually(lambda: view(branch, token)["state"] == "skipped", interval=0.5, message="the second skip")
    refused = branch.http.post(f"/api/phone/tickets/{token}/requeue")
    assert refused.status_code == 409 and refused.json()["code"] == "invalid_transition"


# -- SMS --------------------------------------------------------------------------------------------------------------
def test_one_sms_when_five_people_are_ahead(branch):
    for n in range(7):
        printed(branch, f"r{n}")
    token, ticket = take_number(branch)
    assert ticket["people_ahead"] == 7
    counter = counter_login(branch)
    call_next(branch, counter)
    call_next(branch, counter)  # 5 ahead now
    near = eventually(lambda: [t for t in messages(branch) if "sắp đến lượt" in t], message="the near SMS")
    assert near == [f"{CENTRE}: số A008 sắp đến lượt, còn 5 người phía trước. Mời quý khách đến và quét mã QR "
                    "tại kiosk để xác nhận có mặt."]
    for _ in range(4):
        call_next(branch, counter)
    eventually(lambda: not branch.engine.db.query("SELECT 1 FROM sms_outbox WHERE state = 'pending'"))
    assert len(outbox(branch, "near")) == 1, "one near SMS however many calls follow"
    assert len([t for t in messages(branch) if "sắp đến lượt" in t]) == 1
    assert view(branch, token)["people_ahead"] == 1


def test_messages_wait_out_a_gateway_outage(branch):
    branch.gateway.down = True
    answer = branch.http.post("/api/phone/otp", json={"phone": PHONE, "service": "HT"})
    assert answer.status_code == 202  # the code is queued: asking never waits on the gateway
    eventually(lambda: outbox(branch, "code") == [(PHONE, "pending", 1)], message="a failed first attempt")
    assert messages(branch) == []
    branch.gateway.down = False
    branch.epoch.advance(MAX_BACKOFF_S)
    eventually(lambda: outbox(branch, "code") == [(PHONE, "sent", 2)], message="sent once the gateway is back")
    assert len(messages(branch)) == 1


def test_a_refused_message_is_given_up_not_retried(branch):
    branch.gateway.down, branch.gateway.transient = True, False
    branch.http.post("/api/phone/otp", json={"phone": PHONE, "service": "HT"})
    eventually(lambda: outbox(branch, "code") == [(PHONE, "failed", 1)], message="the refusal recorded")
    branch.epoch.advance(MAX_BACKOFF_S)
    branch.http.post("/api/phone/otp", json={"phone": OTHER_PHONES[0], "service": "HT"})
    eventually(lambda: len(branch.gateway.attempts) == 2)
    assert outbox(branch, "code")[0] == (PHONE, "failed", 1)
    assert branch.engine.db.query("SELECT text FROM sms_outbox WHERE phone = ?", [PHONE]) == [("",)], \
        "a finished message keeps no text (the code)"


# -- queue serve --------------------------------------------------------------------------------------------------------
def _config(tmp_path: Path) -> Path:
    config = tmp_path / "branch.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n[queue]\npublic_url = "https://so.example.vn"\n'
                      'services = [{ code = "HT", name_vi = "Hộ tịch", hours = "always", counters = [1] }]\n'
                      "[queue.phone]\ngrace_min = 15\n", encoding="utf-8")
    return config


def test_queue_serve_takes_numbers_from_phones_through_the_simulator_by_default(tmp_path):
    server = ServeProcess("--config", str(_config(tmp_path)), "queue", "serve", "--db",
                          str(store_target(tmp_path / "queue.db")), env=clean_env())
    try:
        spool = tmp_path / "data" / "sms-sim"
        with httpx.Client(base_url=server.url, timeout=10) as http:
            assert http.post("/api/phone/otp", json={"phone": PHONE, "service": "HT"}).status_code == 202
            text = eventually(lambda: read_simulated(spool), message="the code in the simulator's spool")[0]["text"]
            taken = http.post("/api/phone/tickets", json={"phone": PHONE, "otp": text[:6], "service": "HT"})
        assert taken.status_code == 201 and taken.json()["ticket"]["number"] == "A001"
        assert taken.json()["ticket"]["checkin_url"].startswith("https://so.example.vn/phone/c/")
    finally:
        log = server.stop()
    assert f"SMS simulator writing to {spool}/" in log
    assert PHONE not in log and text[:6] not in log  # neither the phone nor the code reaches the log


@pytest.mark.parametrize(("words", "says"), [
    (["--sms-url", "ftp://esms.example"], "is not an http:// or https:// URL"),
    (["--sms-url", "https://rest.esms.example"], "--sms-url needs SMS_API_KEY, SMS_SECRET_KEY, SMS_BRANDNAME"),
])
def test_queue_serve_refuses_an_unusable_gateway_in_one_line(tmp_path, words, says):
    result = subprocess.run([sys.executable, "main.py", "--config", str(_config(tmp_path)), "queue", "serve",
                             "--db", str(tmp_path / "queue.db"), *words], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, env=clean_env())
    assert result.returncode == 2 and says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_phone_sees_another_processs_calls_within_a_second(tmp_path):
    """Places are kept for a second per process (``virtual.Places``): a call made by another process of the server
    shows on the page within that, one made here at once."""
    target, clock = store_target(tmp_path / "queue.db"), WallClock()
    here, there = open_engine(target, clock), open_engine(target, clock)
    try:
        here.issue("HT", request_id="r1")
        here.issue("HT", request_id="r2")
        taken = here.issue_virtual("HT", phone=PHONE, view_digest="d", max_per_day=10)
        assert taken.people_ahead == 2
        there.call_next(1)
        eventually(lambda: here.phone_ticket("d").people_ahead == 1, message="the other process's call")
        here.call_next(2)
        assert here.phone_ticket("d").people_ahead == 0
    finally:
        here.close()
        there.close()
