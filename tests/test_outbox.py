"""The outbox against a real backend on 127.0.0.1: delivered exactly once through lost answers, outages and kill -9."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys

import pytest

from backend.app import create_app
from backend.server import free_port, open_store, serve_in_thread
from devices.payloads import parse_payload
from kiosk.backend_client import BackendClient
from kiosk.outbox import Outbox
from tests.support import ROOT, FaultyServer, LineTail, WallClock, dossier_body, eventually

FULL_WIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})  # "K" → "Ｋ"
BIRTH = dossier_body("HT01", applicant_name="Nguyễn Văn An", applicant_id="001090012345")


class LosesAnswers:
    """ASGI wrapper: the backend commits the submission, then the answer is replaced by a 502 (a proxy dying)."""

    def __init__(self, app, losses: int) -> None:
        self.app, self.losses, self.posts = app, losses, 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        self.posts += 1
        if self.posts > self.losses:
            return await self.app(scope, receive, send)

        async def swallow(message):
            return None

        await self.app(scope, receive, swallow)
        await send({"type": "http.response.start", "status": 502, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"bad gateway"})


@pytest.fixture
def store(tmp_path):
    return open_store(tmp_path / "backend.db")


def serve(store, wrap=lambda app: app, port: int = 0):
    running = serve_in_thread(wrap(create_app(store)), port=port)
    return running.url, running.stop


def test_local_reference_is_durable_scannable_and_stable_per_key(tmp_path):
    clock = lambda: dt.datetime(2026, 11, 26, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=7)))  # noqa: E731
    outbox = Outbox(tmp_path / "outbox.db", "hn-k01", clock)
    ref = outbox.add("outbox-key-1", BIRTH)
    assert ref.startswith("KS.HNK01-261126-")
    assert outbox.add("outbox-key-1", BIRTH) == ref
    assert parse_payload(ref.encode()) == {"kind": "dossier", "code": ref, "local": True}
    outbox.close()
    reopened = Outbox(tmp_path / "outbox.db", "hn-k01", clock)
    assert reopened.find(ref)["state"] == "pending"
    assert reopened.add("outbox-key-2", BIRTH) != ref


@pytest.mark.parametrize("as_given", [str.lower, lambda ref: f"  {ref.lower()}\n",
                                      lambda ref: ref.translate(FULL_WIDTH), str])
def test_a_kiosk_with_a_lower_case_id_finds_its_reference_however_it_comes_back(tmp_path, as_given):
    """GIVEN kiosk "hn-hk-01" WHEN its printed reference comes back typed in lower case, with spaces, or read as
    full-width characters THEN the outbox finds it: the stored and the searched side are both canonical codes."""
    outbox = Outbox(tmp_path / "outbox.db", "hn-hk-01")
    ref = outbox.add("outbox-key-case", BIRTH)
    assert ref.startswith("KS.HNHK01-") and parse_payload(ref.lower().encode())["code"] == ref
    assert outbox.find(as_given(ref))["local_ref"] == ref
    outbox.close()


def test_answers_lost_after_commit_still_make_exactly_one_dossier(tmp_path, store):
    token = store.add_token("kiosk", "k01")
    lossy = {}
    url, stop = serve(store, lambda app: lossy.setdefault("app", LosesAnswers(app, losses=5)))
    before = store.count_dossiers()
    outbox = Outbox(tmp_path / "outbox.db", "K01")
    ref = outbox.add("outbox-key-lost", BIRTH)
    client = BackendClient(url, token, timeout_s=2)
    try:
        rounds = 0
        while outbox.items("pending") and rounds < 10:
            outbox.deliver_once(client)
            rounds += 1
    finally:
        client.close()
        stop()
    item = outbox.find(ref)
    assert lossy["app"].posts > 5, "the answers were lost at least once"
    assert item["state"] == "delivered" and item["code"].startswith("000.00.13.H26-")
    assert store.count_dossiers() == before + 1
    assert store.status(item["code"])["procedure_id"] == "HT01"


def test_backend_down_keeps_items_then_delivers_them_in_order(tmp_path, store):
    token = store.add_token("kiosk", "k01")
    port = free_port()
    outbox = Outbox(tmp_path / "outbox.db", "K01")
    refs = [outbox.add(f"outbox-key-{n}", dossier_body("HT01", child_name=f"Bé {n}")) for n in range(3)]
    client = BackendClient(f"http://127.0.0.1:{port}", token, timeout_s=1)
    assert outbox.deliver_once(client) == 0
    assert [item["state"] for item in outbox.items()] == ["pending"] * 3
    assert outbox.items()[0]["attempts"] == 1 and "unreachable" in outbox.items()[0]["error"]
    _url, stop = serve(store, port=port)
    try:
        assert outbox.deliver_once(client) == 3
    finally:
        client.close()
        stop()
    codes = [outbox.find(ref)["code"] for ref in refs]
    assert codes == sorted(codes) and len(set(codes)) == 3


def test_sender_thread_delivers_when_the_backend_comes_back(tmp_path, store):
    token = store.add_token("kiosk", "k01")
    outbox = Outbox(tmp_path / "outbox.db", "K01")
    ref = outbox.add("outbox-key-late", BIRTH)
    current: dict[str, BackendClient | None] = {"client": None}
    delivered: list[int] = []
    outbox.run_sender(lambda: current["client"], delivered.append)
    url, stop = serve(store)
    current["client"] = BackendClient(url, token, timeout_s=2)
    try:
        # the callback comes after the row is marked: wait for both, or close() races the sender's last step
        eventually(lambda: delivered == [1], message="the sender delivered the item and said so")
        assert outbox.find(ref)["state"] == "delivered"
    finally:
        outbox.close()
        current["client"].close()
        stop()


def test_rejected_items_go_to_dead_letters_and_can_be_retried(tmp_path, store):
    token = store.add_token("kiosk", "k01")
    url, stop = serve(store)
    outbox = Outbox(tmp_path / "outbox.db", "K01")
    bad = outbox.add("outbox-key-bad", {"procedure_id": "NOPE", "form": {}})
    good = outbox.add("outbox-key-good", BIRTH)
    client = BackendClient(url, token, timeout_s=2)
    try:
        assert outbox.deliver_once(client) == 1, "a rejected item does not block the ones behind it"
        dead = outbox.find(bad)
        assert dead["state"] == "dead" and dead["error"].startswith("4")
        assert outbox.find(good)["state"] == "delivered"
        assert outbox.retry_dead() == 1 and outbox.find(bad)["state"] == "pending"
    finally:
        client.close()
        stop()


def test_a_wrong_token_keeps_items_pending_instead_of_dropping_them(tmp_path, store):
    url, stop = serve(store)
    outbox = Outbox(tmp_path / "outbox.db", "K01")
    ref = outbox.add("outbox-key-auth", BIRTH)
    client = BackendClient(url, "not-a-token", timeout_s=2)
    try:
        assert outbox.deliver_once(client) == 0
    finally:
        client.close()
        stop()
    item = outbox.find(ref)
    assert item["state"] == "pending" and item["error"].startswith("401")


def test_delivered_items_lose_their_personal_data_and_are_purged_later(tmp_path, store):
    now = [dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)]
    token = store.add_token("kiosk", "k01")
    url, stop = serve(store)
    outbox = Outbox(tmp_path / "outbox.db", "K01", lambda: now[0])
    ref = outbox.add("outbox-key-purge", BIRTH)
    client = BackendClient(url, token, timeout_s=2)
    try:
        outbox.deliver_once(client)
    finally:
        client.close()
        stop()
    on_disk = b"".join(path.read_bytes() for path in tmp_path.glob("outbox.db*"))
    assert "Nguyễn Văn An".encode() not in on_disk and b"001090012345" not in on_disk
    assert outbox.find(ref)["state"] == "delivered"
    outbox.close()
    reopened = Outbox(tmp_path / "outbox.db", "K01", lambda: now[0])
    assert reopened.purge_delivered(older_than_days=30) == 0
    now[0] += dt.timedelta(days=31)
    assert reopened.purge_delivered(older_than_days=30) == 1 and reopened.find(ref) is None


SENDER = """
import sys
from tests.support import dossier_body
from kiosk.backend_client import BackendClient
from kiosk.outbox import Outbox
outbox = Outbox(__import__('pathlib').Path(sys.argv[1]), 'K01')
client = BackendClient(sys.argv[2], sys.argv[3], timeout_s=2)
for n in range(int(sys.argv[4])):
    outbox.add(f'outbox-kill-{n}', dossier_body('HT05', copies=n % 10 + 1, applicant_name=f'Trần Thị B {n}'))
    print(f'item {n} added', flush=True)
    outbox.deliver_once(client)
print('done', flush=True)
"""


def test_kill_9_mid_delivery_never_loses_or_duplicates(tmp_path, store):
    token = store.add_token("kiosk", "k01")
    url, stop = serve(store)
    before = store.count_dossiers()
    total = 40
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        for item in (3, 12, 25):  # kill the kiosk process at different points of its run, whatever its speed
            proc = subprocess.Popen([sys.executable, "-c", SENDER, str(tmp_path / "outbox.db"), url, token,
                                     str(total)], env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT)
            LineTail(proc.stdout).wait_for(f"item {item} added")  # then it is delivering, or adding the next one
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finished = subprocess.run([sys.executable, "-c", SENDER, str(tmp_path / "outbox.db"), url, token,
                                   str(total)], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert finished.stdout.splitlines()[-1:] == ["done"], finished.stderr[-500:]
        outbox = Outbox(tmp_path / "outbox.db", "K01")
        outbox.deliver_once(BackendClient(url, token, timeout_s=2))
    finally:
        stop()
    items = outbox.items()
    assert len(items) == total and {item["state"] for item in items} == {"delivered"}
    assert len({item["code"] for item in items}) == total
    assert store.count_dossiers() == before + total
    forms = [json.loads(row[0]) for row in store._query("SELECT form FROM dossiers WHERE kiosk_id IS NOT NULL")]
    names = sorted(form["applicant_name"] for form in forms if form["applicant_name"].startswith("Trần Thị B "))
    assert names == sorted(f"Trần Thị B {n}" for n in range(total))


def test_a_bundle_enters_the_outbox_whole_or_not_at_all(tmp_path):
    outbox = Outbox(tmp_path / "outbox.db", "K01")
    with pytest.raises(TypeError):
        outbox.add_all([("outbox-key-bundle-1", BIRTH), ("outbox-key-bundle-2", {"form": {1, 2}})])
    assert outbox.items() == []
    refs = outbox.add_all([("outbox-key-bundle-1", BIRTH), ("outbox-key-bundle-2", BIRTH)])
    assert len(set(refs)) == 2 and outbox.add_all([("outbox-key-bundle-2", BIRTH)]) == refs[1:]


class FailsOn:
    """ASGI wrapper: a 500 for every POST whose body holds ``marker`` (a poison item) while ``poisoning``; the real
    backend answers everything else."""

    def __init__(self, app, marker: bytes) -> None:
        self.app, self.marker, self.poisoning, self.failed = app, marker, True, 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        if self.poisoning and self.marker in body:
            self.failed += 1
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": b'{"error": "internal", "message": "boom"}'})
            return None
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)


POISON = dossier_body("HT01", applicant_name="Poison Row")


def test_a_poison_item_lets_later_filings_through_and_is_dead_lettered_after_many_failures_over_a_day(
        tmp_path, store):
    clock = WallClock()
    token = store.add_token("kiosk", "k01")
    wrapper: list[FailsOn] = []
    url, stop = serve(store, lambda app: wrapper.append(FailsOn(app, b"Poison Row")) or wrapper[0])
    outbox = Outbox(tmp_path / "outbox.db", "K01", clock, poison_failures=4, poison_after=dt.timedelta(days=1))
    first = outbox.add("poison-first", dossier_body("HT01", child_name="Bé 1"))
    poison = outbox.add("poison-item", POISON)
    later = [outbox.add(f"poison-later-{n}", dossier_body("HT01", child_name=f"Bé {n}")) for n in range(2, 4)]
    client = BackendClient(url, token, timeout_s=2)
    try:
        assert outbox.deliver_once(client) == 3, "the items behind the poison one are delivered"
        assert [outbox.find(ref)["state"] for ref in (first, *later)] == ["delivered"] * 3
        assert outbox.find(poison)["state"] == "pending" and outbox.find(poison)["failures"] == 1
        newer = outbox.add("poison-newer", dossier_body("HT01", child_name="Bé 4"))
        assert outbox.deliver_once(client) == 1 and outbox.find(newer)["state"] == "delivered"

        for _ in range(5):  # many failures within a few hours: not yet a day, so still pending
            clock.advance(hours=1)
            outbox.deliver_once(client)
        assert outbox.find(poison)["state"] == "pending" and outbox.find(poison)["failures"] == 7
        clock.advance(hours=20)
        outbox.deliver_once(client)
        dead = outbox.find(poison)
        assert dead["state"] == "dead" and dead["failures"] == 8 and "500" in dead["error"]
        assert dead["dead_at"] == clock.now.isoformat()
        failed = wrapper[0].failed
        assert outbox.deliver_once(client) == 0 and wrapper[0].failed == failed, "a dead item is not sent again"

        wrapper[0].poisoning = False  # the backend was fixed: a technician queues the item again
        assert outbox.retry_dead() == 1 and outbox.find(poison)["failures"] == 0
        assert outbox.deliver_once(client) == 1 and outbox.find(poison)["state"] == "delivered"
    finally:
        client.close()
        stop()


def test_a_day_of_failures_is_not_enough_without_the_count(tmp_path, store):
    clock = WallClock()
    token = store.add_token("kiosk", "k01")
    url, stop = serve(store, lambda app: FailsOn(app, b"Poison Row"))
    outbox = Outbox(tmp_path / "outbox.db", "K01", clock, poison_failures=4, poison_after=dt.timedelta(days=1))
    poison = outbox.add("poison-slow", POISON)
    client = BackendClient(url, token, timeout_s=2)
    try:
        for _ in range(3):
            outbox.deliver_once(client)
            clock.advance(days=2)
    finally:
        client.close()
        stop()
    assert outbox.find(poison)["state"] == "pending" and outbox.find(poison)["failures"] == 3


def test_three_failures_in_a_row_end_the_pass(tmp_path):
    """Every item failing means the backend fails for everyone: a pass stops instead of trying each item."""
    server = FaultyServer(answer_after=0, response=b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n"
                                                   b"Connection: close\r\n\r\n{}")
    outbox = Outbox(tmp_path / "outbox.db", "K01", WallClock())
    for n in range(6):
        outbox.add(f"all-fail-{n}", dossier_body("HT01", child_name=f"Bé {n}"))
    client = BackendClient(server.url, "token", timeout_s=2)
    try:
        assert outbox.deliver_once(client) == 0
    finally:
        client.close()
        server.close()
    assert [item["failures"] for item in outbox.items()] == [1, 1, 1, 0, 0, 0]


def test_dead_items_lose_their_form_after_the_retention_days_and_keep_what_a_technician_needs(tmp_path, store):
    clock = WallClock()
    token = store.add_token("kiosk", "k01")
    url, stop = serve(store)
    outbox = Outbox(tmp_path / "outbox.db", "K01", clock)
    old = outbox.add("dead-old", {"procedure_id": "NOPE", "form": {"applicant_name": "Nguyễn Văn An"}})
    client = BackendClient(url, token, timeout_s=2)
    try:
        outbox.deliver_once(client)
        clock.advance(days=20)
        recent = outbox.add("dead-recent", {"procedure_id": "NOPE", "form": {"applicant_name": "Lê Thị Hoa"}})
        outbox.deliver_once(client)
    finally:
        client.close()
        stop()
    clock.advance(days=11)
    assert outbox.purge_dead(older_than_days=30) == 1
    on_disk = b"".join(path.read_bytes() for path in tmp_path.glob("outbox.db*"))
    assert "Nguyễn Văn An".encode() not in on_disk and "Lê Thị Hoa".encode() in on_disk
    item = outbox.find(old)
    assert item["state"] == "dead" and item["error"].startswith("4") and item["error"].endswith("(form deleted)")
    assert item["local_ref"] == old and item["created_at"] and item["dead_at"]
    assert outbox.retry_dead() == 1 and outbox.find(recent)["state"] == "pending", "a deleted form is not resent"
