"""The printer simulator shared by several processes: every job gets its own number, whole, in arrival order."""

from __future__ import annotations

import json
import subprocess
import sys

from devices.sim.printer import SimPrinter
from tests.support import ROOT

ESC_INIT, CUT = b"\x1b@", b"\x1dV\x00"
TAKERS = 4


def test_two_simulators_opened_on_one_spool_never_overwrite_each_other(tmp_path):
    """GIVEN two processes' simulators that both saw an empty spool (each would call its first job number 1)
    WHEN both print
    THEN both jobs are kept, as job 1 and job 2, and no temporary file is left behind."""
    first, second = SimPrinter(tmp_path), SimPrinter(tmp_path)
    first.send(b"ticket from kiosk process")
    second.send(b"ticket from the technician's test print")
    first.send(b"next ticket from kiosk process")
    assert [path.name for path in first.jobs()] == ["job-000001.bin", "job-000002.bin", "job-000003.bin"]
    assert [path.read_bytes() for path in first.jobs()] == [
        b"ticket from kiosk process", b"ticket from the technician's test print", b"next ticket from kiosk process"]
    assert sorted(path.name for path in tmp_path.iterdir()) == [path.name for path in first.jobs()]


def test_the_preview_shares_its_job_number(tmp_path):
    first = SimPrinter(tmp_path, preview=lambda job: b"png of " + job)
    SimPrinter(tmp_path).send(b"a")
    first.send(b"b")
    assert (tmp_path / "job-000002.png").read_bytes() == b"png of b"
    assert not (tmp_path / "job-000001.png").exists()


def test_queue_take_in_parallel_processes_prints_every_ticket_whole(tmp_path):
    """Several ``queue take`` processes on one data directory at once (two kiosks' scripts, a busy technician):
    each ticket is issued and printed, each spool file holds exactly one whole ticket."""
    command = [sys.executable, "main.py", "queue", "take", "HT", "--json", "--set", f"data_dir={tmp_path}"]
    takers = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(TAKERS)]
    results = [(taker.communicate(timeout=120), taker.returncode) for taker in takers]
    for (_out, err), code in results:
        assert code == 0, err
    tickets = [json.loads(out) for (out, _err), _code in results]
    assert all(ticket["printed"] for ticket in tickets)
    numbers = sorted(ticket["number"] for ticket in tickets)
    assert len(set(numbers)) == TAKERS
    jobs = SimPrinter(tmp_path / "spool").jobs()
    assert [path.name for path in jobs] == [f"job-{n:06d}.bin" for n in range(1, TAKERS + 1)]
    printed = []
    for path in jobs:
        data = path.read_bytes()
        assert data.startswith(ESC_INIT) and data.endswith(CUT), f"{path.name} is not one whole job"
        [number] = [n for n in numbers if f"{n}\n".encode() in data]
        printed.append(number)
    assert sorted(printed) == numbers
    assert not [path.name for path in (tmp_path / "spool").iterdir() if path.suffix == ".tmp"]
