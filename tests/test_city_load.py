"""bench/city_load.py, run tiny: real servers in their own processes (on SQLite; on PostgreSQL with two processes
each, on the bench's own durable cluster), a small city for a few seconds, both saturation phases for a step or
two, each kind's cost, and the queue's database audited. The report must have its shape and no
errors; the figures themselves are the bench's business (docs/BENCHMARKS.md), not a test's."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench._phones import PhoneSetupFailed, spooled_codes
from contracts.sms import SimulatedGateway
from tests.support import ROOT

TINY = ["--seconds", "3", "--kiosks", "20", "--branches", "2", "--queue-servers", "1", "--counters-per-branch", "2",
        "--levels", "1,2", "--step-seconds", "1", "--cost-seconds", "0.5", "--speed", "2", "--phones", "40"]
KINDS = {"heartbeat", "content", "submit", "lookup", "city-report", "queue-sync", "counter-view", "ticket",
         "call-next", "phone-poll"}


def run_bench(tmp_path: Path, *setups: str) -> dict:
    out = tmp_path / "city.json"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "city_load.py"), *TINY, "--setups", ",".join(setups),
                           "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "== scaling" in done.stdout  # the tables are printed too
    return json.loads(out.read_text(encoding="utf-8"))


def check_setup(result: dict) -> None:
    assert "unavailable" not in result, result.get("unavailable")
    city = result["city"]
    assert city["errors"] == 0, city["error_samples"]
    assert KINDS <= set(city["kinds"]), sorted(city["kinds"])
    for kind, figures in city["kinds"].items():
        assert figures["requests"] > 0 and figures["errors"] == 0, (kind, figures)
        assert 0 < figures["p50_ms"] <= figures["p99_ms"], (kind, figures)
    assert city["cpu_ms_per_request"]["backend"] > 0 and city["cpu_ms_per_request"]["queue"] > 0
    for phase in ("lookups", "tickets"):
        assert [step["clients"] for step in result[phase]["steps"]] == [1, 2]
        assert result[phase]["errors"] == 0 and all(step["per_s"] > 0 for step in result[phase]["steps"])
    assert set(result["cost"]) == KINDS  # each kind alone: its server's CPU per request
    for kind, cost in result["cost"].items():
        assert cost["requests"] > 0 and cost["errors"] == 0 and cost["server_cpu_ms"] > 0, (kind, cost)
    assert result["phones"]["phones"] == 40  # each took its number through a one-time code from the SMS spool
    audit = result["ticket_audit"]
    assert audit["tickets"] == audit["answered"] > 40  # every number a kiosk or phone got is in the database, no other
    assert audit["duplicates"] == audit["answered_duplicates"] == audit["gapped_services"] == 0


def test_a_tiny_city_on_sqlite(tmp_path: Path) -> None:
    report = run_bench(tmp_path, "sqlite")
    assert report["rates_per_s"]["submit"] == pytest.approx(2 * 10 * 531_269 / 65 / 3600, rel=0.01)
    assert report["rates_per_s"]["phone-poll"] == pytest.approx(2 * 40 / 20)  # every 20 s, at speed 2
    [result] = report["setups"]
    assert result["processes"] == {"backend": 1, "queue": 1}
    check_setup(result)
    assert report["goals"]["city_errors"] == 0


def test_a_tiny_city_on_postgresql_with_two_processes(tmp_path: Path) -> None:
    report = run_bench(tmp_path, "pg2")
    [result] = report["setups"]
    check_setup(result)
    assert result["processes"] == {"backend": 2, "queue": 2}  # uvicorn's two workers each
    assert set(report["scaling"]["PostgreSQL, 2 processes"]) == {"lookups", "tickets"}
    assert report["goals"]["measured_on"] == "PostgreSQL, 2 processes"


def test_phones_beyond_one_address_codes_an_hour_are_refused_before_anything_starts() -> None:
    from bench.city_load import parse_args

    assert parse_args(["--phones", "5000", "--queue-servers", "1", "--branches", "2"]).phones == 5000
    with pytest.raises(SystemExit):
        parse_args(["--phones", "5001", "--queue-servers", "1", "--branches", "2"])


def test_the_bench_reads_each_phones_latest_code_from_the_simulator_spool(tmp_path: Path) -> None:
    gateway = SimulatedGateway(tmp_path / "sms-sim")
    gateway.send("0910000001", "111111 là mã xác nhận lấy số thứ tự tại Chi nhánh 1.", request_id="code-1")
    gateway.send("0910000002", "222222 là mã xác nhận lấy số thứ tự tại Chi nhánh 1.", request_id="code-2")
    gateway.send("0910000001", "333333 là mã xác nhận lấy số thứ tự tại Chi nhánh 1.", request_id="code-3")
    gateway.send("0910000001", "Sắp đến lượt số A0001 của bạn.", request_id="near-1")  # not a code
    codes = asyncio.run(spooled_codes(tmp_path / "sms-sim", {"0910000001", "0910000002"}, wait_s=5))
    assert codes == {"0910000001": "333333", "0910000002": "222222"}  # a phone's new code replaces its old one


def test_a_code_that_never_reaches_the_spool_fails_the_set_up_with_a_reason(tmp_path: Path) -> None:
    SimulatedGateway(tmp_path / "sms-sim").send("0910000001", "111111 là mã", request_id="code-1")
    with pytest.raises(PhoneSetupFailed, match="1 of 2 one-time codes did not reach"):
        asyncio.run(spooled_codes(tmp_path / "sms-sim", {"0910000001", "0910000002"}, wait_s=0.3))
