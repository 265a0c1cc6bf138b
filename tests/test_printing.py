"""The print queue: order, never blocking the caller, faults reported per job, a bad callback survived."""

from __future__ import annotations

import threading

from devices.errors import PaperOut
from devices.sim.printer import SimPrinter, set_fault
from kiosk.printing import PrintQueue


class SlowPrinter:
    name = "slow"

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.jobs: list[bytes] = []

    def send(self, job: bytes) -> None:
        self.gate.wait(5)
        self.jobs.append(job)

    def status(self):  # pragma: no cover - not used by the queue
        raise AssertionError

    def close(self) -> None:
        pass


def test_submit_returns_at_once_and_jobs_print_in_order():
    printer = SlowPrinter()
    queue = PrintQueue(printer)
    results: list[object] = []
    for n in range(3):
        queue.submit(bytes([n]), results.append)  # the printer is stuck: submit must not wait
    assert printer.jobs == []
    printer.gate.set()
    queue.close()
    assert printer.jobs == [b"\x00", b"\x01", b"\x02"] and results == [None, None, None]


def test_a_fault_is_reported_for_that_job_and_the_next_job_prints(tmp_path):
    printer = SimPrinter(tmp_path)
    errors: list[object] = []
    queue = PrintQueue(printer, on_error=errors.append)
    outcomes: list[object] = []
    done = threading.Event()
    set_fault(tmp_path, "paper_out")
    queue.submit(b"first", outcomes.append)
    queue.submit(b"wait", lambda _e: (set_fault(tmp_path, None), None)[1])
    queue.submit(b"second", lambda e: (outcomes.append(e), done.set()))
    assert done.wait(5)
    queue.close()
    assert isinstance(outcomes[0], PaperOut) and outcomes[1] is None
    assert isinstance(errors[0], PaperOut)
    assert [p.read_bytes() for p in printer.jobs()] == [b"second"]


def test_a_failing_callback_does_not_stop_the_worker(tmp_path):
    printer = SimPrinter(tmp_path)
    queue = PrintQueue(printer)
    done = threading.Event()
    queue.submit(b"a", lambda _e: 1 / 0)
    queue.submit(b"b", lambda _e: done.set())
    assert done.wait(5)
    queue.close()
    assert len(printer.jobs()) == 2
