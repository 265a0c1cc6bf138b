"""Fleet heartbeats against a real backend on 127.0.0.1: a kiosk process beating, going silent, flags, validation,
who may read the fleet, and that no identity or phone number leaves the kiosk in a log line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from backend.fleet import FleetStore, HeartbeatBody
from backend.server import free_port
from kiosk.heartbeat import MAX_BACKOFF_S, Heartbeat, StatusCollector
from kiosk.logfile import scrub
from tests.stores import store_target
from tests.support import ADMIN_TOKEN, ROOT, eventually, kiosk_token

INTERVAL_S = 0.2
CCCD, PHONE = "001190012345", "0912345678"


@pytest.fixture
def backend(admin_backend):
    return admin_backend


def fleet(backend, token: str = ADMIN_TOKEN, **params: str) -> httpx.Response:
    return httpx.get(f"{backend.url}/api/fleet", params=params, headers={"Authorization": f"Bearer {token}"})


def kiosk_entry(backend, kiosk_id: str) -> dict[str, Any] | None:
    return next((k for k in fleet(backend).json()["kiosks"] if k["kiosk_id"] == kiosk_id), None)


def status(**changes: Any) -> dict[str, Any]:
    """A heartbeat body as a healthy kiosk's collector would build it."""
    return {"branch": "Hoàn Kiếm", "group": None, "app_version": "0.1.0", "content_version": None, "printer": "ok",
            "scanner": "listening", "outbox_depth": 0, "queue": {"waiting": 3, "open_services": 2, "services": 4},
            "uptime_s": 12.5, "last_error": None, "doctor": [], "log_tail": [], **changes}


KIOSK_PROCESS = textwrap.dedent("""
    import sys
    from config.loader import load_config
    from kiosk.cli.embedded import open_backend
    from kiosk.core import KioskCore

    url, token, data_dir, interval = sys.argv[1:5]
    config = load_config(None, [f"data_dir={data_dir}", "kiosk.id=K01", "scanner.connection=sim:127.0.0.1:0",
                                "branch.unit=Phường Hoàn Kiếm", f"backend.url={url}", f"backend.token={token}",
                                f"backend.heartbeat_s={interval}"])
    core = KioskCore(config, backend=open_backend)
    core.start()  # the core starts the heartbeat once it has its backend
    print("beating", flush=True)
    sys.stdin.read()  # beat until the test kills this process (or, should the test itself die, closes stdin)
""")


@pytest.mark.stores
def test_kiosk_process_shows_online_then_silent_after_two_intervals_once_stopped(backend, tmp_path):
    """GIVEN a kiosk process (a real KioskCore) beating every 0.2 s WHEN it is killed THEN the fleet flags it silent
    once two intervals have passed, and not before."""
    proc = subprocess.Popen([sys.executable, "-c", KIOSK_PROCESS, backend.url, kiosk_token(backend, "K01"),
                             str(tmp_path / "kiosk"), str(INTERVAL_S)], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "beating"
        online = eventually(lambda: (entry := kiosk_entry(backend, "K01")) and "silent" not in entry["flags"] and entry)
        assert online["branch"] == "Phường Hoàn Kiếm" and online["interval_s"] == INTERVAL_S
        assert online["app_version"] == "0.1.0" and online["outbox_depth"] == 0 and online["printer"] == "ok"
        assert online["queue"]["services"] >= 1 and online["uptime_s"] >= 0
        assert {"data dir", "disk space", "clock"} <= {check["check"] for check in online["doctor"]}
        assert "printer" not in {check["check"] for check in online["doctor"]}  # the running kiosk holds it
        assert "silent" not in online["flags"] and online["age_s"] < 2 * INTERVAL_S + 0.5
        first_uptime = online["uptime_s"]
        eventually(lambda: kiosk_entry(backend, "K01")["uptime_s"] > first_uptime)  # it keeps beating
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    # how soon after two intervals it turns silent is the fake-clock test below; here: it does, and not before
    silent = eventually(lambda: (entry := kiosk_entry(backend, "K01")) and "silent" in entry["flags"] and entry)
    assert silent["severity"] == "red" and silent["age_s"] >= 2 * INTERVAL_S  # age_s is rounded to 0.1 s


@pytest.mark.stores
def test_silent_is_decided_by_the_interval_the_kiosk_reported(fake_clock, tmp_path):
    store = FleetStore(store_target(tmp_path / "fleet.db"), clock=fake_clock)
    store.record(HeartbeatBody.model_validate({**status(), "kiosk_id": "K01", "interval_s": 30}))
    fake_clock.advance(59.9)
    assert store.kiosks()[0].flags == ()
    fake_clock.advance(0.2)
    [state] = store.kiosks()
    assert state.flags == ("silent",) and state.severity == "red" and state.age_s == pytest.approx(60.1)


@pytest.mark.stores
@pytest.mark.parametrize(("changes", "flags", "severity"), [
    ({"printer": "paper_out"}, ["paper_out"], "red"),
    ({"printer": "paper_low"}, ["paper_low"], "orange"),
    ({"printer": "offline"}, ["printer_offline"], "red"),
    ({"last_error": "printer: DeviceTimeout: no answer"}, ["error"], "orange"),
    ({"printer": "paper_out", "doctor": [{"check": "disk space", "ok": False, "detail": "80 MiB free"}]},
     ["paper_out", "doctor"], "red"),
    ({}, [], "ok"),
])
def test_heartbeat_thread_reports_paper_and_error_flags(backend, changes, flags, severity):
    beat = Heartbeat(backend.url, kiosk_token(backend, "K07"), "K07", INTERVAL_S, lambda: status(**changes))
    beat.start()
    try:
        entry = eventually(lambda: kiosk_entry(backend, "K07"))
    finally:
        beat.stop()
    assert entry["flags"] == flags and entry["severity"] == severity and beat.failures == 0


@pytest.mark.stores
def test_branch_filter_lists_only_that_branch(backend):
    for kiosk_id, branch in (("K01", "Hoàn Kiếm"), ("K02", "Ba Đình"), ("K03", "Ba Đình")):
        Heartbeat(backend.url, kiosk_token(backend, kiosk_id), kiosk_id, 30,
                  lambda branch=branch: status(branch=branch)).beat()
    body = fleet(backend, branch="Ba Đình").json()
    assert [k["kiosk_id"] for k in body["kiosks"]] == ["K02", "K03"]
    assert body["branches"] == ["Ba Đình", "Hoàn Kiếm"]
    assert len(fleet(backend).json()["kiosks"]) == 3


@pytest.mark.stores
@pytest.mark.parametrize(("body", "key"), [
    ({"kiosk_id": "K01"}, "interval_s: Field required"),
    ({**status(printer="on_fire"), "kiosk_id": "K01", "interval_s": 5}, "printer: Input should be"),
    ({**status(log_tail=["x"] * 51), "kiosk_id": "K01", "interval_s": 5}, "log_tail: List should have at most 50"),
    ({**status(log_tail=["x" * 301]), "kiosk_id": "K01", "interval_s": 5}, "log_tail.0: String should have at most"),
    ({**status(last_error="e" * 201), "kiosk_id": "K01", "interval_s": 5}, "last_error: String should have at most"),
    ({**status(outbox_depth=-1), "kiosk_id": "K01", "interval_s": 5}, "outbox_depth: Input should be greater"),
    ({**status(), "kiosk_id": "K01", "interval_s": 5, "cccd": CCCD}, "cccd: unknown key"),
    ({**status(), "kiosk_id": "../etc", "interval_s": 5}, "kiosk_id: String should match pattern"),
    ({**status(doctor=[{"check": "disk", "ok": "maybe"}]), "kiosk_id": "K01", "interval_s": 5},
     "doctor.0.ok: Input should be a valid boolean"),
    ([1, 2], "(body): Input should be"),
    ("not json", "(body): Invalid JSON"),
])
def test_bad_heartbeat_bodies_are_refused_with_a_one_line_message(backend, body, key):
    token = kiosk_token(backend, "K01")
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    response = httpx.post(f"{backend.url}/api/fleet/heartbeat", content=raw,
                          headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert response.status_code == 422
    message = response.json()["message"]
    assert message.startswith(key) and "\n" not in message
    assert kiosk_entry(backend, "K01") is None


@pytest.mark.stores
def test_oversize_heartbeat_is_413(backend):
    response = httpx.post(f"{backend.url}/api/fleet/heartbeat", content=b"x" * (200 * 1024),
                          headers={"Authorization": f"Bearer {kiosk_token(backend, 'K01')}"})
    assert response.status_code == 413 and response.json()["error"] == "too_large"


@pytest.mark.stores
def test_kiosk_token_cannot_read_the_fleet_nor_report_for_another_kiosk(backend):
    token = kiosk_token(backend, "K01")
    assert Heartbeat(backend.url, token, "K01", 5, status).beat()
    assert fleet(backend, token).status_code == 403
    assert httpx.get(f"{backend.url}/api/fleet/K01/log", headers={"Authorization": f"Bearer {token}"}
                     ).status_code == 403
    assert httpx.get(f"{backend.url}/api/fleet").status_code == 401
    spoof = Heartbeat(backend.url, token, "K02", 5, status)
    assert not spoof.beat() and spoof.failures == 1
    assert kiosk_entry(backend, "K02") is None
    assert httpx.get(f"{backend.url}/api/fleet/K99/log",
                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).status_code == 404


class FakeOutbox:
    def items(self, state: str) -> list[dict[str, Any]]:
        assert state == "pending"
        return [{"seq": 1}, {"seq": 2}]


class FakeQueue:
    def services(self) -> list[SimpleNamespace]:
        return [SimpleNamespace(waiting=4, open_now=True), SimpleNamespace(waiting=1, open_now=False)]


def fake_core(config, last_error: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(config=config, last_error=last_error, outbox=FakeOutbox(), queue=FakeQueue(),
                           device_status=lambda: {"printer": "cover_open", "scanner": "listening"})


LOG_WITH_PERSONAL_DATA = [
    "2025-11-20 09:30:01,120 INFO kiosk.queue_flow: ticket A012 issued for service HT",
    f"2025-11-20 09:30:05,004 WARNING kiosk.filing_flow: lookup of {CCCD} failed",
    f"2025-11-20 09:30:06,100 WARNING kiosk.sms: could not reach {PHONE}",
    "2025-11-20 09:30:07,000 WARNING kiosk.sms: could not reach 0912 345 678 or +84 912.345.678",
    f"2025-11-20 09:30:08,000 ERROR kiosk.scan: bad card {CCCD}|012345678|Nguyễn Văn An|01011990|Nam|Hà Nội|01012021",
    "2025-11-20 09:30:09,000 INFO kiosk.lookup_flow: dossier 000.00.13.H26-251120-0001 shown",
]


@pytest.mark.stores
def test_collector_scrubs_identity_and_phone_numbers_from_everything_it_sends(kiosk_config, backend):
    log_file = kiosk_config.data_dir / "logs" / "kiosk.log"
    log_file.parent.mkdir(parents=True)
    log_file.write_text("\n".join(LOG_WITH_PERSONAL_DATA) + "\n", encoding="utf-8")
    collect = StatusCollector(fake_core(kiosk_config, last_error=f"backend: lookup {CCCD} for {PHONE} timed out"))
    body = collect()
    sent = json.dumps(body, ensure_ascii=False)
    for secret in (CCCD, PHONE, "0912 345 678", "912.345.678", "012345678", "Nguyễn Văn An", "01011990"):
        assert secret not in sent
    assert body["log_tail"][0] == LOG_WITH_PERSONAL_DATA[0]
    assert body["log_tail"][-1] == LOG_WITH_PERSONAL_DATA[-1]  # dossier codes and timestamps stay readable
    assert body["last_error"] == "backend: lookup [cccd] for [phone] timed out"
    assert body["printer"] == "error"  # cover open is not among the fleet's printer states
    assert body["outbox_depth"] == 2 and body["queue"] == {"waiting": 5, "open_services": 1, "services": 2}

    beat = Heartbeat(backend.url, kiosk_token(backend, "HN-HK-01"), "HN-HK-01", 5, collect)
    assert beat.beat()
    stored = httpx.get(f"{backend.url}/api/fleet/HN-HK-01/log", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert stored.json()["lines"] == body["log_tail"] and CCCD not in stored.text and PHONE not in stored.text


def test_log_tail_is_the_last_50_lines_cut_to_300_characters(kiosk_config):
    log_file = kiosk_config.data_dir / "logs" / "kiosk.log"
    log_file.parent.mkdir(parents=True)
    log_file.write_text("".join(f"line {n} " + "é" * (400 if n == 79 else 5) + "\n" for n in range(80)),
                        encoding="utf-8")
    tail = StatusCollector(fake_core(kiosk_config))()["log_tail"]
    assert len(tail) == 50 and tail[0].startswith("line 30 ") and tail[-1].startswith("line 79 ")
    assert max(len(line) for line in tail) == 300 and HeartbeatBody.model_validate(
        {**status(log_tail=tail), "kiosk_id": "K01", "interval_s": 5})


def test_no_log_file_sends_no_lines(kiosk_config):
    assert StatusCollector(fake_core(kiosk_config))()["log_tail"] == []


@pytest.mark.stores
def test_the_backend_scrubs_log_lines_from_older_kiosks_too(backend):
    token = kiosk_token(backend, "K01")
    assert Heartbeat(backend.url, token, "K01", 5, lambda: status(
        log_tail=[f"call {PHONE} about {CCCD}"], last_error=f"lookup {CCCD} failed",
        doctor=[{"check": "backend", "ok": False, "detail": f"caller {PHONE}"}])).beat()
    lines = httpx.get(f"{backend.url}/api/fleet/K01/log", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert lines.json()["lines"] == ["call [phone] about [cccd]"]
    entry = kiosk_entry(backend, "K01")
    assert entry["last_error"] == "lookup [cccd] failed" and entry["doctor"][0]["detail"] == "caller [phone]"


@pytest.mark.parametrize(("text", "expected"), [
    ("ticket A012, 3 people ahead", "ticket A012, 3 people ahead"),
    ("2025-11-20 09:30:01,120", "2025-11-20 09:30:01,120"),
    ("old id 012345678 here", "old id [number] here"),
    ("phone +84912345678", "phone [phone]"),
    ("phone 0912.345.678.", "phone [phone]."),
])
def test_scrub(text, expected):
    assert scrub(text) == expected


def test_heartbeat_never_raises_and_backs_off_within_bounds():
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    beat = Heartbeat(dead, "token", "K01", 10, status)
    delays = []
    for _ in range(12):
        assert beat.beat() is False
        delays.append(beat.next_delay())
    assert beat.failures == 12
    assert delays[0] >= 10 * 2 * 0.9 and delays[1] > delays[0]
    assert max(delays) <= MAX_BACKOFF_S * 1.1
    broken = Heartbeat(dead, "token", "K01", 10, lambda: 1 / 0)
    assert broken.beat() is False
    broken.start()
    broken.start()  # a second start while running is harmless
    broken.stop()
    beat.stop()


@pytest.mark.stores
def test_openapi_documents_the_fleet(backend):
    paths = httpx.get(f"{backend.url}/openapi.json").json()["paths"]
    assert {"/api/fleet/heartbeat", "/api/fleet", "/api/fleet/{kiosk_id}/log"} <= set(paths)
    assert paths["/api/fleet"]["get"]["security"] == [{"adminToken": []}]


def test_heartbeat_rejects_a_non_positive_interval():
    with pytest.raises(ValueError, match="interval_s"):
        Heartbeat("http://127.0.0.1:1", "t", "K01", 0, status)
