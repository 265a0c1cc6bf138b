"""Two `queue serve` processes on one PostgreSQL database behave as one queue.

Each test starts real server processes (``python main.py queue serve --db postgresql://…``) on a fresh database of
the test cluster (``pg_cluster``, whatever ``--store`` says) and drives them over HTTP from several threads: kiosks
alternating between the processes, the same request id sent to both at once, a display board streaming from one
while a counter calls on the other, one process killed with SIGKILL mid-load, and ``--workers 2``. The database is
then read directly: the rows are in PostgreSQL.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import httpx
import psycopg
import pytest

from contracts.pin import hash_pin
from tests.support import PATIENCE_S, ServeProcess, eventually, queue_token, server_env

PASSWORD = "246813"
KIOSKS = 8
TOKENS = ",".join(queue_token(f"K{k}") for k in range(KIOSKS))


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "branch.toml"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\n' + "".join(
        f'[[queue.counters]]\nnumber = {n}\npin_hash = "{hash_pin(PASSWORD)}"\n' for n in (1, 2, 3)), encoding="utf-8")
    return path


@pytest.fixture
def url(pg_cluster) -> str:
    return pg_cluster.fresh_database("queue")


def serve(config: Path, url: str, *extra: str) -> ServeProcess:
    return ServeProcess("--config", str(config), "queue", "serve", "--db", url, *extra,
                        env=server_env(QUEUE_KIOSK_TOKEN=TOKENS))


@pytest.fixture
def pair(config, url):
    servers = [serve(config, url), serve(config, url)]
    yield servers
    for server in servers:
        if server.proc.poll() is None:
            server.stop()


def kiosk(k: int) -> httpx.Client:
    return httpx.Client(timeout=10, headers={"Authorization": f"Bearer {queue_token(f'K{k}')}"})


def issue(client: httpx.Client, base: str, service: str, request_id: str) -> dict:
    response = client.post(f"{base}/api/tickets", json={"service": service, "request_id": request_id})
    assert response.status_code == 200, response.text
    return response.json()


def rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def dense(numbers: list[str], prefix: str, digits: int) -> bool:
    return sorted(numbers) == [f"{prefix}{i:0{digits}d}" for i in range(1, len(numbers) + 1)]


def run_threads(work, count: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(i: int) -> None:
        try:
            work(i)
        except BaseException as exc:  # noqa: BLE001 — reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=PATIENCE_S * 3)
    assert not any(thread.is_alive() for thread in threads), "a kiosk thread hung"
    return errors


def test_eight_kiosks_alternating_between_two_processes_get_dense_unique_numbers(pair, url):
    per_kiosk = 24
    issued: list[dict] = []

    def run(k: int) -> None:
        with kiosk(k) as client:
            for i in range(per_kiosk):
                issued.append(issue(client, pair[(k + i) % 2].url, "HT" if i % 2 else "CT", f"K{k}-{i}"))

    assert run_threads(run, KIOSKS) == []
    assert len(issued) == KIOSKS * per_kiosk == len({t["id"] for t in issued})
    assert dense([t["number"] for t in issued if t["service"] == "HT"], "A", 3)
    assert dense([t["number"] for t in issued if t["service"] == "CT"], "B", 3)
    stored = rows(url, "SELECT id, number, kiosk_id FROM tickets")  # the rows are in PostgreSQL
    assert sorted(stored) == sorted((t["id"], t["number"], t["kiosk_id"]) for t in issued)
    assert rows(url, "SELECT service, SUM(waiting) FROM line_counts GROUP BY service ORDER BY service") == \
        [("CT", KIOSKS * per_kiosk // 2), ("HT", KIOSKS * per_kiosk // 2)]


def test_one_request_id_sent_to_both_processes_at_once_makes_one_ticket(pair, url):
    rounds = 20
    answers: list[list[dict]] = [[] for _ in range(rounds)]
    gates = [threading.Barrier(2) for _ in range(rounds)]

    def run(side: int) -> None:
        with kiosk(side) as client:
            for r in range(rounds):
                # even rounds: the same service on both; odd rounds: a different service each (two number locks)
                service = "HT" if r % 2 == 0 or side == 0 else "CT"
                gates[r].wait(timeout=PATIENCE_S)
                answers[r].append(issue(client, pair[side].url, service, f"twice-{r}"))

    assert run_threads(run, 2) == []
    for r, (first, second) in enumerate(answers):
        assert first["id"] == second["id"] and first["number"] == second["number"], f"round {r}"
    per_request = rows(url, "SELECT request_id, COUNT(*) FROM tickets GROUP BY request_id")
    assert len(per_request) == rounds and all(count == 1 for _id, count in per_request)
    by_service = Counter(service for (service,) in rows(url, "SELECT service FROM tickets"))
    for service, prefix in (("HT", "A"), ("CT", "B")):  # the loser's transaction took no number: no gap
        numbers = [n for (n,) in rows(url, f"SELECT number FROM tickets WHERE service = '{service}'")]
        assert len(numbers) == by_service[service] and dense(numbers, prefix, 3)


def login(base: str, counter: int) -> dict[str, str]:
    response = httpx.post(f"{base}/api/counters/{counter}/login", json={"password": PASSWORD}, timeout=10)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


class BoardStream:
    """A display board following ``/api/events`` of one process; notes when (wall clock) each ``call`` arrived."""

    def __init__(self, base: str) -> None:
        self.calls: list[tuple[float, str]] = []
        self.open = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(10, read=30))
        self._thread = threading.Thread(target=self._follow, args=(base,), daemon=True)
        self._thread.start()
        assert self.open.wait(PATIENCE_S), "the event stream did not start"

    def _follow(self, base: str) -> None:
        event = ""
        try:
            with self._client.stream("GET", f"{base}/api/events") as response:
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        event = line.removeprefix("event: ")
                    elif line.startswith("data: "):
                        if event == "status":
                            self.open.set()
                        elif event == "call":
                            self.calls.append((time.time(), line))
        except httpx.HTTPError:
            pass  # closed by the test

    def close(self) -> None:
        self._client.close()


def test_a_board_on_one_process_sees_a_call_made_on_the_other_within_300_ms(pair, url):
    a, b = pair
    with kiosk(0) as client:
        for i in range(3):
            issue(client, a.url, "HT", f"board-{i}")
    board = BoardStream(b.url)
    try:
        headers = login(a.url, 1)
        # the login is in the database: the other process takes the same token
        assert httpx.get(f"{b.url}/api/counters/1", headers=headers, timeout=10).status_code == 200
        delays = []  # from the moment process A announced the call (its stamp) to the board on B hearing it
        for expected in ("A001", "A002", "A003"):
            seen = len(board.calls)
            response = httpx.post(f"{a.url}/api/counters/1/call-next", headers=headers, json={}, timeout=10)
            assert response.status_code == 200 and response.json()["ticket"]["number"] == expected, response.text
            eventually(lambda seen=seen: len(board.calls) > seen, message="the call on the other process's board")
            arrived, data = board.calls[seen]
            call = json.loads(data.removeprefix("data: "))
            assert call["number"] == expected and call["counter"] == 1
            delays.append(arrived - datetime.fromisoformat(call["at"]).timestamp())
            httpx.post(f"{a.url}/api/counters/1/finish", headers=headers, timeout=10)
        shown = [f"{d * 1000:.0f} ms" for d in delays]
        print(f"call announced on one process → heard by a board on the other: {shown}")  # pytest -s: the figure
        assert max(delays) < 0.3, f"call → other process's board: {shown}"
        snapshot = httpx.get(f"{b.url}/api/status", timeout=10).json()
        assert [c["number"] for c in snapshot["last_calls"]][:1] == ["A003"]
    finally:
        board.close()


def test_a_process_killed_mid_load_loses_no_acknowledged_ticket_and_the_other_carries_on(pair, url):
    victim, survivor = pair
    acknowledged: list[dict] = []
    killed = threading.Event()

    def run(k: int) -> None:
        with kiosk(k) as client:
            for i in range(40):
                target = victim if k % 2 == 0 and not killed.is_set() else survivor
                try:
                    acknowledged.append(issue(client, target.url, "HT" if i % 2 else "CT", f"K{k}-{i}"))
                except httpx.HTTPError:  # the victim died under this request: the kiosk retries on the other
                    acknowledged.append(issue(client, survivor.url, "HT" if i % 2 else "CT", f"K{k}-{i}"))

    def kill(_i: int) -> None:
        eventually(lambda: len(acknowledged) >= 60, message="load on both processes")
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(timeout=PATIENCE_S)
        killed.set()

    assert run_threads(lambda i: kill(i) if i == KIOSKS else run(i), KIOSKS + 1) == []
    assert victim.proc.returncode == -signal.SIGKILL
    assert len({t["id"] for t in acknowledged}) == len(acknowledged) == KIOSKS * 40
    stored = dict(rows(url, "SELECT id, number FROM tickets"))
    assert all(stored.get(t["id"]) == t["number"] for t in acknowledged)  # every acknowledged ticket is stored
    assert len(stored) == KIOSKS * 40
    for service, prefix in (("HT", "A"), ("CT", "B")):
        assert dense([n for (n,) in rows(url, f"SELECT number FROM tickets WHERE service = '{service}'")], prefix, 3)


def test_workers_2_serves_one_queue_from_two_processes(config, url):
    server = serve(config, url, "--workers", "2")
    try:
        with kiosk(0) as client:
            numbers = [issue(client, server.url, "HT", f"w-{i}")["number"] for i in range(30)]
        assert dense(numbers, "A", 3)
        assert httpx.get(f"{server.url}/health", timeout=10).json()["ok"] is True
        assert rows(url, "SELECT COUNT(*) FROM tickets") == [(30,)]
    finally:
        log = server.stop()
    assert "2 processes" in log
