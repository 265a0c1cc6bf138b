"""Printer and scanner drivers over real transports: TCP sockets, socat serial pty pairs, pyserial loop://."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
import serial

from devices.errors import DeviceNotFound
from devices.printer import PrinterStatus
from devices.scanners import SerialScanner
from devices.sim.escpos_device import PrinterCore, TcpPrinterSimulator, serve_stream
from devices.sim.scanner import SimScanner
from devices.status import decode_status
from devices.transports import SerialPrinter, TcpPrinter
from kiosk.printing import PrintQueue
from tests.support import ROOT, eventually


@pytest.mark.parametrize(
    ("replies", "expected"),
    [
        ((0x12, 0x12, 0x12), PrinterStatus.OK),
        ((0x12, 0x12, 0x1E), PrinterStatus.PAPER_LOW),
        ((0x1A, 0x32, 0x7E), PrinterStatus.PAPER_OUT),
        ((0x1A, 0x16, 0x12), PrinterStatus.COVER_OPEN),
        ((None, None, None), PrinterStatus.OFFLINE),
        ((0xFF, 0x12, 0x12), PrinterStatus.OFFLINE),  # not a valid status byte: never "ok"
        ((0x1A, 0x12, 0x12), PrinterStatus.OFFLINE),
    ],
)
def test_dle_eot_replies_decode(replies, expected):
    assert decode_status(*replies) is expected


@pytest.fixture
def tcp_printer():
    sim = TcpPrinterSimulator()
    yield sim
    sim.stop()


@pytest.mark.parametrize(("state", "expected"), [("ok", "ok"), ("paper_low", "paper_low"),
                                                  ("paper_out", "paper_out"), ("cover_open", "cover_open"),
                                                  ("silent", "offline")])
def test_tcp_printer_status_from_the_simulated_firmware(tcp_printer, state, expected):
    tcp_printer.core.state = state
    assert TcpPrinter("127.0.0.1", tcp_printer.port).status().value == expected


def test_tcp_printer_receives_the_exact_job(tcp_printer):
    job = b"\x1b@" + "Đăng ký".encode("cp1258", "replace") + b"\x1dV\x00"
    TcpPrinter("127.0.0.1", tcp_printer.port).send(job)
    eventually(lambda: len(tcp_printer.core.received) >= len(job), message="the whole job arrived")
    assert bytes(tcp_printer.core.received) == job


def test_printer_back_after_power_off_prints_the_kept_job_within_5_seconds():
    """GIVEN a network printer that is switched off, WHEN a job fails and the printer comes back on the same port,
    THEN a reprint succeeds within 5 s of the printer being back."""
    sim = TcpPrinterSimulator()
    port = sim.port
    sim.stop()
    queue = PrintQueue(TcpPrinter("127.0.0.1", port, connect_timeout=1))
    outcome: list[object] = []
    failed = threading.Event()
    queue.submit(b"ticket", lambda e: (outcome.append(e), failed.set()))
    assert failed.wait(5) and isinstance(outcome[0], DeviceNotFound)
    back = TcpPrinterSimulator(port=port)
    try:
        started = time.monotonic()
        printed = threading.Event()
        queue.submit(b"ticket", lambda e: printed.set() if e is None else None)
        assert printed.wait(5)
        assert time.monotonic() - started <= 5  # the product's promise; a normal reprint takes milliseconds
        eventually(lambda: len(back.core.received) >= len(b"ticket"), message="the kept job arrived")
        assert bytes(back.core.received) == b"ticket"
    finally:
        queue.close()
        back.stop()


def test_serial_printer_over_a_pty_pair_prints_and_reads_status(pty_pair):
    ours, theirs = pty_pair
    core, stop = PrinterCore("paper_low"), threading.Event()
    port = serial.Serial(theirs, 115200)
    worker = threading.Thread(target=serve_stream, args=(port, core, stop), daemon=True)
    worker.start()
    try:
        printer = SerialPrinter(ours, baudrate=115200)
        assert printer.status() is PrinterStatus.PAPER_LOW
        printer.send(b"\x1b@hello\n")
        eventually(lambda: len(core.received) >= len(b"\x1b@hello\n"), message="the whole job arrived")
        assert bytes(core.received) == b"\x1b@hello\n"
        core.state = "silent"
        assert printer.status() is PrinterStatus.OFFLINE
    finally:
        stop.set()
        worker.join(2)
        port.close()


def test_missing_serial_port_is_not_found():
    with pytest.raises(DeviceNotFound):
        SerialPrinter("/dev/ttyDOESNOTEXIST").send(b"x")
    assert SerialPrinter("/dev/ttyDOESNOTEXIST").status() is PrinterStatus.OFFLINE


def collect(scanner, writes, *, codes: int):
    """What ``scanner`` delivers for ``writes``, once it has delivered ``codes`` of them (in order, so the last
    one written also proves that every earlier byte was read)."""
    got: list[bytes] = []
    scanner.start(got.append)
    try:
        for chunk in writes:
            scanner._reader.serial.write(chunk)
        eventually(lambda: len(got) >= codes, message=f"{codes} codes from the scanner")
    finally:
        scanner.stop()
    return got


def test_serial_scanner_frames_on_cr_lf_and_debounces_repeats():
    got = collect(SerialScanner("loop://", debounce_s=5),
                  [b"000.00.13.H26-251120-0001\r\n", b"000.00.13.H26-251120-0001\r", b"BK-251120-DEMO01\n"], codes=2)
    assert got == [b"000.00.13.H26-251120-0001", b"BK-251120-DEMO01"]


def test_serial_scanner_passes_binary_and_caps_a_runaway_payload():
    got = collect(SerialScanner("loop://"), [b"\xff\xfe\x00abc\r", b"A" * 10000], codes=2)
    assert got[0] == b"\xff\xfe\x00abc"
    assert len(got[1]) <= 8192 and set(got[1]) == {ord("A")}


def test_serial_scanner_over_a_pty_pair(pty_pair):
    ours, theirs = pty_pair
    got: list[bytes] = []
    scanner = SerialScanner(ours, baudrate=9600)
    scanner.start(got.append)
    try:
        with serial.Serial(theirs, 9600) as port:
            port.write("001090012345||Nguyễn Văn An|01011990|Nam|Hà Nội|15082021\r\n".encode())
        eventually(lambda: got, message="the code typed into the pty")
    finally:
        scanner.stop()
    assert got and got[0].decode().startswith("001090012345||Nguyễn")


def test_scan_sim_cli_reaches_a_listening_simulator_and_fails_clearly_without_one(tmp_path):
    got: list[bytes] = []
    sim = SimScanner("127.0.0.1", 0)
    sim.start(got.append)
    host, port = sim.address
    run = [sys.executable, "main.py", "devices", "scan-sim", "--set", f"scanner.connection=sim:{host}:{port}"]
    try:
        ok = subprocess.run([*run, "BK-251120-DEMO01"], cwd=ROOT, capture_output=True, text=True, timeout=30)
        eventually(lambda: got or ok.returncode != 0, message="the simulated scan")
    finally:
        sim.stop()
    assert ok.returncode == 0 and got == [b"BK-251120-DEMO01"]
    refused = subprocess.run([*run, "x"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert refused.returncode == 1 and "No kiosk scanner simulator listening" in refused.stderr


def test_test_print_cli_to_a_tcp_printer_and_to_a_dead_one(tcp_printer, tmp_path):
    run = [sys.executable, "main.py", "devices", "test-print", "--set", f"data_dir={tmp_path}", "--printer"]
    ok = subprocess.run([*run, f"tcp:127.0.0.1:{tcp_printer.port}"], cwd=ROOT, capture_output=True, text=True,
                        timeout=60)
    assert ok.returncode == 0 and ok.stdout.startswith("OK")
    assert bytes(tcp_printer.core.received).startswith(b"\x1b@")
    dead = subprocess.run([*run, "tcp:127.0.0.1:1"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert dead.returncode == 1 and "not_found" in dead.stderr
