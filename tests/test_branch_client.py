"""Kiosks in branch mode: the server killed mid-run (kill -9 of `python main.py queue serve`), issuing from leases,
reconciliation after the restart, lease exhaustion, day rollover, a kiosk restarted while offline."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import date
from pathlib import Path

import httpx
import pytest

from backend.server import free_port, serve_in_thread
from config.loader import load_config
from contracts.pin import hash_pin
from kiosk.queue_client import BranchQueue, BranchUnavailable
from kiosk.queue_flow import QueueFlow, QueueRefused
from kiosk.queue_source import open_queue
from queueing.errors import ServiceClosed, UnknownService
from queueing.server import create_app
from tests.stores import store_target
from tests.support import PATIENCE_S, REPORT_TOKEN, ROOT, eventually, open_engine, queue_token

KIOSKS = 4


def start_server(config: Path, db: Path | str, port: int) -> subprocess.Popen:
    tokens = ",".join(queue_token(f"K{k}") for k in range(KIOSKS))
    with open(config.parent / "queue-serve.log", "a", encoding="utf-8") as stderr:  # the child keeps its own copy
        proc = subprocess.Popen([sys.executable, "main.py", "--config", str(config), "queue", "serve", "--port",
                                 str(port), "--db", str(db)], cwd=ROOT, stderr=stderr, text=True,
                                env={**os.environ, "QUEUE_KIOSK_TOKEN": tokens})

    def healthy() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"queue serve exited: {server_log(config)}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        eventually(healthy, message="queue serve answering /health")
    except AssertionError:
        proc.kill()
        raise
    return proc


def server_log(config: Path) -> str:
    return (config.parent / "queue-serve.log").read_text(encoding="utf-8")


def issue_many(kiosks: list[BranchQueue], per_kiosk: int, tag: str) -> list:
    """Every kiosk issues at the same time on its own thread, alternating HT and CT."""
    issued: list = []
    errors: list[BaseException] = []

    def run(k: int) -> None:
        try:
            for i in range(per_kiosk):
                issued.append(kiosks[k].issue("HT" if i % 2 else "CT", request_id=f"{tag}-{k}-{i}"))
        except BaseException as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(kiosks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert errors == []
    return issued


@pytest.mark.stores
def test_kiosks_keep_issuing_from_leases_while_the_server_is_killed_and_reconcile_after_restart(tmp_path, caplog):
    config = tmp_path / "branch.toml"
    config.write_text(f'data_dir = "{tmp_path / "server-data"}"\n[[queue.counters]]\nnumber = 1\n'
                      f'pin_hash = "{hash_pin("135790")}"\n', encoding="utf-8")
    db, port = store_target(tmp_path / "queue-server.db"), free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(config, db, port)
    # the suite's patience as the timeout: on a loaded 2-core CI machine (PostgreSQL, the server and two CPU hogs
    # on two cores) a slow answer must not pass for a dead server; a killed server still fails at once (refused)
    kiosks = [BranchQueue(url, kiosk_id=f"K{k}", token=queue_token(f"K{k}"), state_path=tmp_path / f"kiosk{k}.db",
                          block_size=12, sync_interval_s=None, timeout_s=PATIENCE_S) for k in range(KIOSKS)]
    try:
        assert all(kiosk.sync() for kiosk in kiosks)                # leases: 12 numbers per open service per kiosk
        online = issue_many(kiosks, 6, "on")
        # a timeout or a 503 (database busy) on a loaded machine rightly sends a tap to the lease; nothing else may
        fell_back = [r.getMessage() for r in caplog.records if "issuing from the lease" in r.getMessage()]
        assert all("Timeout" in reason or "answered 503" in reason for reason in fell_back), \
            (fell_back, server_log(config))
        assert len(fell_back) < KIOSKS and sum(not t.id.startswith("o-") for t in online) >= len(online) // 2, \
            (fell_back, server_log(config))

        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        offline = issue_many(kiosks, 6, "off")
        assert all(t.id.startswith("o-") and t.state == "waiting" for t in offline)
        assert not kiosks[0].sync()

        kiosks[0].close()                                           # a kiosk restarted while the server is down
        kiosks[0] = BranchQueue(url, kiosk_id="K0", token=queue_token("K0"), state_path=tmp_path / "kiosk0.db",
                                block_size=12, sync_interval_s=None)
        after_restart = [kiosks[0].issue("CT", request_id=f"again-{i}") for i in range(3)]
        assert kiosks[0].issue("CT", request_id="again-0") == after_restart[0]  # retried tap: same paper
        offline += after_restart
        assert [s.code for s in kiosks[0].services_overview()][:2] == ["HT", "CT"]  # from the kept service list

        printed = [t.number for t in online + offline]
        assert not [n for n, c in Counter(printed).items() if c > 1], "two citizens hold the same number"

        server = start_server(config, db, port)
        assert all(kiosk.sync() for kiosk in kiosks)
        assert sum(kiosk.pending_reports() for kiosk in kiosks) == 0
        assert all(kiosk.sync() for kiosk in kiosks)                # reporting again changes nothing

        queued = []
        for code in ("HT", "CT"):
            line = httpx.get(f"{url}/api/services/{code}/waiting", timeout=5).json()["tickets"]
            stamps = [t["issued_at"] for t in line]
            assert stamps == sorted(stamps), "offline tickets join the line by their issue time"
            queued += [t["number"] for t in line]
        assert sorted(queued) == sorted(printed)
        sample = offline[5]
        tracked = httpx.get(f"{url}/api/track/{sample.id}", timeout=5).json()   # the id in the printed QR
        assert (tracked["number"], tracked["state"]) == (sample.number, "waiting")
    finally:
        for kiosk in kiosks:
            kiosk.close()
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=10)


@pytest.mark.stores
def test_lease_exhausted_day_rollover_and_late_reports(tmp_path, clock, caplog):
    engine = open_engine(store_target(tmp_path / "queue.db"), clock)
    running = serve_in_thread(create_app(engine, counter_passwords={}, kiosk_tokens=[queue_token()], clock=clock))
    port = int(running.url.rsplit(":", 1)[1])
    kiosk = BranchQueue(running.url, kiosk_id="K1", token=queue_token(), state_path=tmp_path / "kiosk.db", block_size=3, low_water=1,
                        sync_interval_s=None, clock=clock)
    try:
        assert kiosk.sync()
        running.stop()
        issued = [kiosk.issue("HT", request_id=f"t{i}") for i in range(3)]
        assert [t.number for t in issued] == ["A001", "A002", "A003"]
        assert [t.people_ahead for t in issued] == [0, 1, 2]
        with pytest.raises(BranchUnavailable, match="no leased numbers of HT left"):
            kiosk.issue("HT", request_id="t4")
        outage = [r.getMessage() for r in caplog.records if r.name == "kiosk.queue_client" and r.levelname == "WARNING"]
        assert outage == ["kiosk K1: ConnectError: queue server unreachable; issuing from the lease until it answers"]

        config = load_config(None, [f"data_dir={tmp_path / 'data'}"])
        flow = QueueFlow(config, kiosk, lambda job, done: done(None), lambda *_a, **_k: None, lambda: "vi")
        with pytest.raises(QueueRefused) as refused:
            flow.take("HT")
        assert refused.value.message_key == "queue.refused.unavailable"

        clock.advance(days=1)                                       # yesterday's CT lease is not used today
        with pytest.raises(BranchUnavailable):
            kiosk.issue("CT", request_id="next-day")
        overview = {s.code: s for s in kiosk.services_overview()}
        assert overview["HT"].waiting == 0 and overview["HT"].open_now

        running = serve_in_thread(create_app(engine, counter_passwords={}, kiosk_tokens=[queue_token()], clock=clock),
                                  port=port)
        assert kiosk.sync() and kiosk.pending_reports() == 0      # refused for good: kept on the kiosk's record
        assert engine.report(date(2026, 11, 24))["services"] == []  # only today's tickets are taken in
        assert engine.waiting("HT") == []
        today = kiosk.issue("CT", request_id="online-today")
        assert today.number == "B0004"                              # after today's new lease B0001-B0003
    finally:
        kiosk.close()
        running.stop()
        engine.close()


@pytest.mark.stores
def test_refusals_cross_the_wire_as_the_engine_raised_them(tmp_path, clock):
    engine = open_engine(store_target(tmp_path / "queue.db"), clock, hours={"mon": ["08:00-11:30"]})   # clock: a Tuesday
    running = serve_in_thread(create_app(engine, counter_passwords={}, kiosk_tokens=[queue_token()],
                                         report_tokens=[REPORT_TOKEN], clock=clock))
    kiosk = BranchQueue(running.url, kiosk_id="K1", token=queue_token(), state_path=tmp_path / "kiosk.db", sync_interval_s=None)
    try:
        with pytest.raises(ServiceClosed) as closed:
            kiosk.issue("HT", request_id="r1")
        assert closed.value.next_opening is not None and closed.value.next_opening.weekday() == 0
        with pytest.raises(UnknownService, match="unknown service 'XX'"):
            kiosk.issue("XX", request_id="r2")
        assert kiosk.estimate_wait_s("CT", 2) == 600
        assert kiosk.report(date(2026, 11, 24), REPORT_TOKEN)["date"] == "2026-11-24"
    finally:
        kiosk.close()
        running.stop()
        engine.close()


def test_a_kiosk_that_never_reached_the_server_lists_nothing_and_issues_nothing(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"                       # nobody listens there
    kiosk = BranchQueue(url, kiosk_id="K1", token=queue_token(), state_path=tmp_path / "kiosk.db", sync_interval_s=None)
    try:
        assert kiosk.services_overview() == []
        with pytest.raises(BranchUnavailable, match="no service list yet"):
            kiosk.issue("HT", request_id="r1")
        with pytest.raises(BranchUnavailable):
            kiosk.waiting("HT")
    finally:
        kiosk.close()


def test_branch_mode_in_config_opens_the_branch_queue(tmp_path):
    config = load_config(None, [f"data_dir={tmp_path}", "queue.mode=branch",
                                f"queue.server=http://127.0.0.1:{free_port()}"])
    queue = open_queue(config)
    try:
        assert isinstance(queue, BranchQueue) and queue.kiosk_id == config.kiosk.id
        assert (tmp_path / "branch-queue.db").exists()
    finally:
        queue.close()


def test_queue_serve_refuses_a_config_without_services(tmp_path):
    config = tmp_path / "empty.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n[queue]\nservices = []\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "main.py", "--config", str(config), "queue", "serve"], cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1 and "queue.services is empty" in result.stderr
