"""Attacks on the branch queue server from the LAN, each refused (issue 16): a real server on 127.0.0.1.

Before: anyone could take priority tickets, lease 500-number blocks for any day, report back-dated offline tickets
that jumped the line, guess a 4-digit counter PIN while keeping the counter locked out, and read each waiting
ticket's priority category and kiosk from the public lists.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from types import SimpleNamespace

import httpx
import pytest

from backend.server import serve_in_thread
from contracts.pin import hash_pin
from queueing.server import create_app
from tests.stores import store_target
from tests.support import ROOT, WallClock, open_engine, queue_token

pytestmark = pytest.mark.stores  # the server runs on store_target: SQLite, then PostgreSQL

PASSWORD = "246813"


@pytest.fixture
def branch(tmp_path):
    clock = WallClock()
    engine = open_engine(store_target(tmp_path / "queue.db"), clock)
    running = serve_in_thread(create_app(engine, counter_passwords={1: hash_pin(PASSWORD), 2: hash_pin("1234")},
                                         kiosk_tokens=[queue_token("K1"), queue_token("K2")], clock=clock))
    yield SimpleNamespace(url=running.url, clock=clock, anyone=httpx.Client(base_url=running.url, timeout=5),
                          k1=kiosk(running.url, "K1"), k2=kiosk(running.url, "K2"))
    running.stop()
    engine.close()


def kiosk(url: str, kiosk_id: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=5, headers={"Authorization": f"Bearer {queue_token(kiosk_id)}"})


def ticket(client: httpx.Client, request_id: str, **extra: object) -> httpx.Response:
    return client.post("/api/tickets", json={"service": "HT", "request_id": request_id, **extra})


@pytest.mark.parametrize("token", [None, "K1:not-the-secret-of-kiosk-1", "queue-token-of-K1-for-tests"])
def test_a_priority_ticket_needs_a_kiosk_token(branch, token):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    refused = branch.anyone.post("/api/tickets", json={"service": "HT", "request_id": "jump-1",
                                                       "priority": "pregnant"}, headers=headers)
    assert refused.status_code == 401 and refused.json()["code"] == "kiosk_refused"
    assert branch.anyone.get("/api/services/HT/waiting").json()["tickets"] == []


def test_a_server_without_kiosk_tokens_refuses_every_kiosk_call(tmp_path):
    engine = open_engine(store_target(tmp_path / "queue.db"), WallClock())
    running = serve_in_thread(create_app(engine, counter_passwords={}))
    try:
        refused = httpx.post(f"{running.url}/api/blocks", json={"service": "HT", "size": 10},
                             headers={"Authorization": f"Bearer {queue_token()}"}, timeout=5)
    finally:
        running.stop()
        engine.close()
    assert refused.status_code == 401 and "QUEUE_KIOSK_TOKEN is not set" in refused.json()["error"]


def test_leasing_numbers_needs_a_kiosk_token_and_takes_only_todays_and_at_most_100(branch):
    assert branch.anyone.post("/api/blocks", json={"service": "HT", "size": 10, "holder": "K1"}).status_code == 401
    tomorrow = (branch.clock.now + timedelta(days=1)).date().isoformat()
    other_day = branch.k1.post("/api/blocks", json={"service": "HT", "size": 10, "day": tomorrow})
    assert other_day.status_code == 422 and other_day.json()["code"] == "not_today"
    assert branch.k1.post("/api/blocks", json={"service": "HT", "size": 500}).status_code == 422
    leased = branch.k1.post("/api/blocks", json={"service": "HT", "size": 10, "holder": "K2"}).json()
    assert leased["holder"] == "K1" and (leased["first_seq"], leased["last_seq"]) == (1, 10)


def test_a_kiosk_cannot_report_tickets_from_another_kiosks_block(branch):
    block = branch.k1.post("/api/blocks", json={"service": "HT", "size": 5}).json()
    refused = branch.k2.post("/api/offline-tickets", json=offline(block, branch.clock.now.isoformat()))
    assert refused.status_code == 403 and refused.json()["code"] == "not_your_block"


def offline(block: dict, issued_at: str, seq: int = 1) -> dict:
    return {"block_id": block["id"], "service": "HT", "seq": block["first_seq"] + seq - 1,
            "request_id": f"o-{block['holder']}-{seq}", "issued_at": issued_at}


def test_a_back_dated_offline_ticket_cannot_jump_the_line(branch):
    block = branch.k1.post("/api/blocks", json={"service": "HT", "size": 5}).json()   # 09:00
    lease_time = branch.clock.now
    before_lease = branch.k1.post("/api/offline-tickets",
                                  json=offline(block, (lease_time - timedelta(hours=1)).isoformat(), 1))
    assert before_lease.status_code == 409 and before_lease.json()["code"] == "number_not_leased"
    for _ in range(120):   # K1 stays online for an hour, syncing as a working kiosk does (here every 30 s)
        branch.clock.advance(seconds=30)
        branch.k1.get("/api/services")
    waiting = ticket(branch.k2, "citizen-at-10").json()   # 10:00, a citizen takes a number at another kiosk
    branch.clock.advance(minutes=30)
    jumped = branch.k1.post("/api/offline-tickets", json=offline(block, (lease_time + timedelta(minutes=1))
                                                                 .isoformat(), 2))
    assert jumped.status_code == 200
    line = [t["number"] for t in branch.anyone.get("/api/services/HT/waiting").json()["tickets"]]
    assert line == [waiting["number"], jumped.json()["number"]]


def test_wrong_passwords_from_one_address_do_not_lock_the_counter_out(branch):
    with httpx.Client(base_url=branch.url, timeout=5,
                      transport=httpx.HTTPTransport(local_address="127.0.0.2")) as stranger:
        answers = {stranger.post("/api/counters/1/login", json={"password": f"{guess:06d}"}).status_code
                   for guess in range(8)}
    assert answers == {401, 429}
    staff = branch.anyone.post("/api/counters/1/login", json={"password": PASSWORD})
    assert staff.status_code == 200 and staff.json()["token"]


def test_a_four_digit_counter_password_is_refused_when_hashed_and_at_login(branch):
    short = branch.anyone.post("/api/counters/2/login", json={"password": "1234"})
    assert short.status_code == 422 and "at least 6 digits or 8 characters" in short.json()["error"]
    hashed = subprocess.run([sys.executable, "main.py", "config", "pin-hash", "--counter"], input="1234\n",
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert hashed.returncode == 2 and "at least 6 digits" in hashed.stderr and hashed.stdout == ""


def test_public_views_show_no_priority_category_and_no_kiosk(branch):
    issued = ticket(branch.k1, "pregnant-1", priority="pregnant").json()
    assert (issued["priority"], issued["kiosk_id"]) == ("pregnant", "K1")   # the issuing kiosk prints it
    public = [branch.anyone.get(path).text for path in (
        "/api/services/HT/waiting", f"/api/tickets/{issued['id']}", f"/api/track/{issued['id']}", "/api/status")]
    with branch.anyone.stream("GET", "/api/events") as events:
        public.append(next(line for line in events.iter_lines() if line.startswith("data: ")))
    assert issued["number"] in public[0] and issued["number"] in public[-1]
    assert not [text for text in public if "pregnant" in text or '"K1"' in text], public
