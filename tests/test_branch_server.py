"""The branch queue server on a real uvicorn socket: concurrent kiosks, the counter flow, refusals, SSE, pages."""

from __future__ import annotations

import asyncio
import io
import json
import queue
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from backend.server import serve_in_thread
from contracts.pin import hash_pin
from kiosk.queue_client import BranchQueue
from queueing.server import create_app
from queueing.server.app import STATIC
from queueing.server.events import Board, Call, EventHub
from tests.stores import store_target
from tests.support import PATIENCE_S, REPORT_TOKEN, ServedCentre, queue_token

pytestmark = pytest.mark.stores  # the server runs on store_target: SQLite, then PostgreSQL

PASSWORD = "246813"
PASSWORD_HASH = hash_pin(PASSWORD)


@pytest.fixture
def branch(tmp_path) -> Iterator[ServedCentre]:
    """Three counters, six kiosks; ``branch.http`` sends kiosk K1's token (counter calls send their own)."""
    with ServedCentre(store_target(tmp_path / "queue.db"), headers={"Authorization": f"Bearer {queue_token()}"},
                      counter_passwords={n: PASSWORD_HASH for n in (1, 2, 3)},
                      kiosk_tokens=[queue_token(f"K{k}") for k in range(6)], report_tokens=[REPORT_TOKEN],
                      title="UBND Phường Hoàn Kiếm", announcements=["Giờ làm việc: 7:30 – 17:00"]) as centre:
        yield centre


def take(http: httpx.Client, service: str, request_id: str, **extra: object) -> dict:
    response = http.post("/api/tickets", json={"service": service, "request_id": request_id, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def login(http: httpx.Client, counter: int) -> dict[str, str]:
    response = http.post(f"/api/counters/{counter}/login", json={"password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_concurrent_kiosks_get_unique_dense_numbers_and_retries_are_idempotent(branch, tmp_path):
    kiosks = [BranchQueue(branch.url, kiosk_id=f"K{k}", token=queue_token(f"K{k}"), state_path=tmp_path / f"k{k}.db",
                          sync_interval_s=None) for k in range(6)]
    issued: list = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(kiosks))

    def run(k: int, kiosk: BranchQueue) -> None:
        try:
            start.wait(timeout=5)
            for i in range(20):
                service = "HT" if i % 2 else "CT"
                first = kiosk.issue(service, request_id=f"K{k}-{i}")
                assert kiosk.issue(service, request_id=f"K{k}-{i}") == first  # a double tap: the same ticket
                issued.append(first)
        except BaseException as exc:  # noqa: BLE001 — reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k, kiosk)) for k, kiosk in enumerate(kiosks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for kiosk in kiosks:
        kiosk.close()
    assert errors == []
    assert len(issued) == 120
    for service, prefix, digits in (("HT", "A", 3), ("CT", "B", 4)):
        numbers = [t.number for t in issued if t.service == service]
        assert not [n for n, c in Counter(numbers).items() if c > 1], "duplicate numbers"
        assert sorted(numbers) == [f"{prefix}{i:0{digits}d}" for i in range(1, 61)]
        line = branch.http.get(f"/api/services/{service}/waiting").json()["tickets"]
        assert [t["number"] for t in line] == sorted(numbers)
        assert [t["people_ahead"] for t in line] == list(range(60))
    sample = issued[17]
    assert branch.http.get(f"/api/tickets/{sample.id}").json()["number"] == sample.number
    assert {t.kiosk_id for t in issued} == {f"K{k}" for k in range(6)}
    public = branch.http.get("/api/services/HT/waiting").json()["tickets"] + [
        branch.http.get(f"/api/tickets/{sample.id}").json()]
    assert {(t["priority"], t["kiosk_id"]) for t in public} == {(None, None)}


def test_counter_flow_call_recall_serve_no_show_transfer_and_report(branch):
    http, clock = branch.http, branch.clock
    ordinary = take(http, "HT", "r1")
    elderly = take(http, "HT", "r2", priority="elderly")
    resident = take(http, "CT", "r3")
    clock.advance(minutes=4)
    desk = login(http, 1)

    called = http.post("/api/counters/1/call-next", headers=desk).json()["ticket"]
    assert (called["number"], called["state"], called["counter"]) == (elderly["number"], "called", 1)
    busy = http.post("/api/counters/1/call-next", headers=desk)
    assert busy.status_code == 409 and busy.json()["code"] == "counter_busy"
    tracked = http.get(f"/api/track/{elderly['id']}").json()
    assert (tracked["state"], tracked["counter"], tracked["number"]) == ("called", 1, elderly["number"])
    assert "priority" not in tracked and "kiosk_id" not in tracked

    assert http.post("/api/counters/1/recall", headers=desk).json()["ticket"]["state"] == "called"
    assert http.post("/api/counters/1/start", headers=desk).json()["ticket"]["state"] == "serving"
    clock.advance(minutes=6)
    assert http.post("/api/counters/1/finish", headers=desk).json()["ticket"]["state"] == "done"
    assert http.post("/api/counters/1/call-next", headers=desk).json()["ticket"]["id"] == ordinary["id"]
    clock.advance(minutes=1)
    assert http.post("/api/counters/1/no-show", headers=desk).json()["ticket"]["state"] == "no_show"
    assert http.post("/api/counters/1/call-next", headers=desk).json() == {"counter": 1, "ticket": None}

    late = take(http, "HT", "r4")
    http.post("/api/counters/1/call-next", headers=desk)
    moved = http.post("/api/counters/1/transfer", headers=desk, json={"to_service": "CT"}).json()["ticket"]
    assert (moved["number"], moved["service"], moved["state"]) == (late["number"], "CT", "waiting")
    follow = http.get(f"/api/track/{late['id']}").json()   # the citizen's QR still has the old id
    assert (follow["service"], follow["state"], follow["people_ahead"]) == ("CT", "waiting", 1)

    view = http.get("/api/counters/1", headers=desk).json()
    assert view["current"] is None and view["services"] == ["HT"] and view["waiting"] == []
    assert (view["today"]["tickets"], view["today"]["no_shows"]) == (2, 1)
    assert view["priority_labels"]["elderly"] == "Người cao tuổi"

    reader = {"Authorization": f"Bearer {REPORT_TOKEN}"}
    report = http.get("/api/report", params={"day": "2026-11-24"}, headers=reader).json()
    by_service = {row["service"]: row for row in report["services"]}
    assert (by_service["HT"]["tickets"], by_service["HT"]["no_shows"], by_service["HT"]["transferred_out"]) == \
        (2, 1, 1)
    assert (by_service["CT"]["tickets"], by_service["CT"]["waiting"]) == (2, 2)
    assert by_service["HT"]["service_avg_s"] == 360.0
    csv_text = http.get("/api/report.csv", params={"day": "2026-11-24"}, headers=reader)
    assert csv_text.headers["content-type"].startswith("text/csv")
    lines = csv_text.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("date,scope,key,tickets,no_shows")
    assert lines[1].startswith("2026-11-24,service,CT,2,0,2,0,")
    assert lines[2].startswith("2026-11-24,service,HT,2,1,0,1,420.0,")   # waits of 4 and 10 minutes
    assert lines[3].startswith("2026-11-24,counter,1,")
    bad_day = http.get("/api/report", params={"day": "24/11/2026"}, headers=reader)
    assert bad_day.status_code == 400 and "day must be a date" in bad_day.json()["error"]
    assert resident["number"] == "B0001"


@pytest.mark.parametrize(("method", "path", "body", "status", "code", "says"), [
    ("POST", "/api/tickets", {"service": "XX", "request_id": "r1"}, 404, "unknown_service", "unknown service 'XX'"),
    ("POST", "/api/tickets", b'{"service": "HT",', 400, "invalid_json", "not valid JSON"),
    ("POST", "/api/tickets", b"[1, 2]", 400, "invalid_json", "must be a JSON object"),
    ("POST", "/api/tickets", {"service": "HT"}, 422, "invalid_field", "request_id: Field required"),
    ("POST", "/api/tickets", {"service": "HT", "request_id": "r1", "priority": "vip"}, 422, "unknown_priority",
     "unknown priority 'vip'"),
    ("POST", "/api/tickets", {"service": "ht lower", "request_id": "r1"}, 422, "invalid_field", "service:"),
    ("POST", "/api/blocks", {"service": "HT", "size": 0, "holder": "K1"}, 422, "invalid_field", "size:"),
    ("POST", "/api/offline-tickets", {"block_id": "nope", "service": "HT", "seq": 1, "request_id": "o-1",
                                      "issued_at": "2026-11-24T09:00:00+07:00"}, 404, "unknown_block", "nope"),
    ("POST", "/api/offline-tickets", {"block_id": "b", "service": "HT", "seq": 1, "request_id": "o-1",
                                      "issued_at": "2026-11-24T09:00:00"}, 422, "invalid_field", "issued_at:"),
    ("POST", "/api/offline-tickets", {"block_id": "b", "service": "HT", "seq": 1, "request_id": "k1-1",
                                      "issued_at": "2026-11-24T09:00:00+07:00"}, 422, "invalid_field", "request_id:"),
    ("POST", "/api/counters/1/login", {"password": "000000"}, 401, "login_refused", "wrong password for counter 1"),
    ("POST", "/api/counters/1/login", {"password": "2468"}, 422, "login_refused", "at least 6 digits"),
    ("POST", "/api/counters/9/login", {"password": PASSWORD}, 404, "login_refused", "counter 9 has no password"),
    ("POST", "/api/counters/1/call-next", {}, 401, "login_refused", "log in at counter 1 first"),
    ("GET", "/api/tickets/no-such-ticket", None, 404, "unknown_ticket", "no-such-ticket"),
    ("GET", "/api/report?day=2026-11-24", None, 401, "report_refused", "send a report token"),  # a kiosk's token
    ("GET", "/api/services/XX/waiting", None, 404, "unknown_service", "unknown service 'XX'"),
    ("GET", "/api/nothing-here", None, 404, "not_found", "no such endpoint"),
])
def test_bad_requests_get_a_4xx_json_error_with_a_clear_message(branch, method, path, body, status, code, says):
    content = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
    response = branch.http.request(method, path, content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["code"] == code
    assert says in response.json()["error"]


def test_counter_token_is_bound_to_its_counter_and_current_ticket_is_required(branch):
    desk = login(branch.http, 1)
    other = branch.http.post("/api/counters/2/call-next", headers=desk)
    assert other.status_code == 403 and "counter 1, not counter 2" in other.json()["error"]
    nothing = branch.http.post("/api/counters/1/finish", headers=desk)
    assert nothing.status_code == 409 and nothing.json()["code"] == "no_current_ticket"
    unknown = branch.http.post("/api/counters/1/dance", headers=desk)
    assert unknown.status_code == 404 and "call-next" in unknown.json()["error"]


def test_wrong_passwords_slow_their_address_down_not_the_counter(branch):
    for _ in range(4):
        assert branch.http.post("/api/counters/2/login", json={"password": "111111"}).status_code == 401
    slowed = branch.http.post("/api/counters/2/login", json={"password": PASSWORD})
    assert slowed.status_code == 429 and "too many wrong passwords from this address" in slowed.json()["error"]
    with httpx.Client(base_url=branch.url, timeout=5,
                      transport=httpx.HTTPTransport(local_address="127.0.0.2")) as staff_pc:
        assert staff_pc.post("/api/counters/2/login", json={"password": PASSWORD}).status_code == 200


def test_sse_stream_starts_with_a_snapshot_and_delivers_the_call(branch):
    """How soon the call arrives (goal: within a second) is measured by bench/call_latency.py."""
    take(branch.http, "CT", "r1")
    desk = login(branch.http, 3)
    events: queue.Queue[tuple[str, dict]] = queue.Queue()

    def listen() -> None:
        with httpx.Client(timeout=5) as http, http.stream("GET", f"{branch.url}/api/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            name = None
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    events.put((name, json.loads(line[6:])))
                    if name == "call":
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    name, snapshot = events.get(timeout=PATIENCE_S)
    assert name == "status" and snapshot["title"] == "UBND Phường Hoàn Kiếm"
    assert [c["counter"] for c in snapshot["counters"]] == [1, 2, 3]
    called = branch.http.post("/api/counters/3/call-next", headers=desk).json()["ticket"]
    name, call = events.get(timeout=PATIENCE_S)
    assert name == "call" and (call["number"], call["counter"], call["recall"]) == (called["number"], 3, False)
    assert call["service_name"] == "Cư trú"
    listener.join(timeout=5)
    status = branch.http.get("/api/status").json()
    assert status["last_calls"][0]["number"] == called["number"]
    assert status["counters"][2]["current"]["number"] == called["number"]


def test_board_is_rebuilt_from_the_database_after_a_restart(branch):
    take(branch.http, "HT", "r1")
    branch.http.post("/api/counters/2/call-next", headers=login(branch.http, 2))
    again = serve_in_thread(create_app(branch.engine, counter_passwords={}, clock=branch.clock))
    try:
        status = httpx.get(f"{again.url}/api/status", timeout=5).json()
    finally:
        again.stop()
    assert status["counters"][1]["last"]["number"] == "A001"
    assert [c["number"] for c in status["last_calls"]] == ["A001"]


def test_openapi_and_pages_are_published_with_vietnamese_text(branch):
    spec = branch.http.get("/openapi.json").json()
    assert {"/api/tickets", "/api/blocks", "/api/offline-tickets", "/api/counters/{counter}/call-next",
            "/api/events", "/api/report.csv"} <= set(spec["paths"])
    assert "TicketRequest" in spec["components"]["schemas"] and "Ticket" in spec["components"]["schemas"]
    pages = {"/counter": "Gọi số tiếp theo", "/display": "Mất kết nối máy chủ", "/track/abc": "Theo dõi số thứ tự",
             "/t/abc": "Số thứ tự của bạn", "/report": "Báo cáo hàng đợi"}
    for path, text in pages.items():
        response = branch.http.get(path)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        assert text in response.text
    assert "EventSource" in branch.http.get("/static/display.js").text
    for asset in (path for path in Path(STATIC).rglob("*") if path.is_file()):  # vendored libraries too
        text = asset.read_text(encoding="utf-8")
        assert unicodedata.is_normalized("NFC", text), f"{asset.name} is not NFC"


def test_event_streams_heartbeat_end_by_themselves_and_resync_a_slow_board():
    hub = EventHub()
    snapshots = iter(range(1000))

    async def read(lifetime_s: float, publish: int) -> list[str]:
        stream = hub.stream(lambda: {"n": next(snapshots)}, heartbeat_s=0.05, lifetime_s=lifetime_s)
        chunks = [await anext(stream)]
        for i in range(publish):            # more than the backlog: the board gets one fresh snapshot instead
            hub.publish("call", {"i": i})
        chunks += [chunk async for chunk in stream]
        return chunks

    chunks = asyncio.run(asyncio.wait_for(read(0.3, 0), timeout=5))
    assert chunks[0].startswith("retry: 2000\nevent: status\n")
    assert 3 <= len(chunks) <= 9 and all(c.startswith("event: status") for c in chunks[1:])   # ~every 50 ms
    assert hub.subscribers == 0
    flooded = asyncio.run(asyncio.wait_for(read(0.12, 200), timeout=5))
    assert "call" not in "".join(flooded[1:2]) and flooded[1].startswith("event: status")


def test_the_board_shows_only_calls_of_the_current_day(clock):
    yesterday = Call(1, "A007", "HT", clock.now - timedelta(days=1))
    board = Board([yesterday, Call(2, "A001", "HT", clock.now)])
    assert list(board.last_per_counter(clock.now.date())) == [2]
    assert [c.number for c in board.recent(clock.now.date())] == ["A001"]


def test_the_server_speaks_a_call_in_vietnamese_for_boards_without_a_voice(branch):
    import wave

    answer = httpx.get(f"{branch.url}/api/announce.wav", params={"number": "A012", "counter": "3"}, timeout=30)
    assert answer.status_code == 200 and answer.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(answer.content)) as audio:
        assert 2.0 < audio.getnframes() / audio.getframerate() < 10.0
    for params in ({"number": "A012; rm -rf /", "counter": "3"}, {"number": "A012", "counter": "0"}, {}):
        refused = httpx.get(f"{branch.url}/api/announce.wav", params=params)
        assert refused.status_code == 422 and "A012" in refused.json()["error"]
