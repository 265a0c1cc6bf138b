"""A sent job is not a printed one: network and serial printers that drop, stall or run out of paper around a
ticket make the citizen see "could not print — your number is kept", the technician see the fault, and the
number stay in the queue; a healthy printer still says "printed" within milliseconds.

The printers are the simulator's real TCP server on 127.0.0.1 (and a socat pty pair for serial) with its ``DLE EOT``
firmware (``devices.sim.escpos_device.PrinterCore``) turned faulty at a chosen moment.
"""

from __future__ import annotations

import queue
import re
import threading
import time

import pytest
import serial

from config.loader import load_config
from config.schema import parse_connection
from devices.errors import DeviceOffline, DeviceTimeout, PaperOut
from devices.factory import open_printer
from devices.sim.escpos_device import PrinterCore, TcpPrinterSimulator, serve_stream
from devices.transports import SerialPrinter, TcpPrinter
from kiosk.core import KioskCore
from kiosk.i18n import tr
from tests.support import PATIENCE_S, eventually

JOB = b"\x1b@" + b"HT-0042\n" * 40 + b"\x1dV\x00"
STATUS_REQUEST = re.compile(rb"\x10\x04[\x01\x02\x04]")


class TurningCore(PrinterCore):
    """Answers like a healthy printer until a job's first bytes arrive, then behaves as ``then``: a state of the
    simulated firmware, ``silent`` (never answers again) or ``drop`` (closes the connection)."""

    def __init__(self, then: str) -> None:
        super().__init__("ok")
        self.then = then

    def feed(self, data, reply) -> None:
        if STATUS_REQUEST.sub(b"", data):  # job bytes in this chunk: the fault strikes before they are answered
            self.state = self.then
        super().feed(data, reply)


@pytest.fixture
def printer_server():
    servers: list[TcpPrinterSimulator] = []

    def start(core: PrinterCore) -> TcpPrinterSimulator:
        servers.append(TcpPrinterSimulator())
        servers[-1].core = core
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def take_number(tmp_path, port: int):
    """Take a number on a real core printing to ``tcp:127.0.0.1:port`` (1 s status timeout); returns the core, the
    ticket as the screen shows it once the print outcome is known, and the ``ticket_print`` event's fields."""
    config = load_config(None, [f"data_dir={tmp_path / 'data'}", "scanner.connection=sim:127.0.0.1:0",
                                f"printer.connection=tcp:127.0.0.1:{port}?timeout=1"])
    core = KioskCore(config)
    tickets: queue.Queue = queue.Queue()
    prints: queue.Queue = queue.Queue()
    core.events.subscribe("ticket", lambda outcome: tickets.put(outcome))
    core.events.subscribe("ticket_print", lambda **outcome: prints.put(outcome))
    core.take_number("HT")
    outcome = tickets.get(timeout=PATIENCE_S)
    assert outcome.ticket is not None, outcome.refusal
    printed = prints.get(timeout=PATIENCE_S)
    return core, core.ticket_view(outcome.ticket.id), printed


FAULTS = [  # (what the printer does, the status code the citizen's message and the technician's log name)
    (TurningCore("drop"), "offline"),  # takes the ticket's first bytes, then drops the connection
    (TurningCore("silent"), "timeout"),  # takes the ticket, then never answers
    (TurningCore("paper_out"), "paper_out"),  # runs out of paper on this ticket
    (TurningCore("cover_open"), "cover_open"),
    (PrinterCore("paper_out"), "paper_out"),  # out of paper before the ticket: it is not even sent
    (PrinterCore("silent"), "timeout"),  # accepts the connection and never answers anything
    (PrinterCore("drop"), "offline"),  # accepts the connection and closes it
]


@pytest.mark.parametrize(("core", "status"), FAULTS, ids=["drop", "silent-after", "paper-out-on-it", "cover-open-on-it",
                                                            "paper-out-before", "never-answers", "closes"])
def test_a_printer_fault_around_the_ticket_shows_could_not_print_and_keeps_the_number(
        tmp_path, printer_server, core, status):
    server = printer_server(core)
    kiosk, ticket, printed = take_number(tmp_path, server.port)
    try:
        assert printed["state"].value == "failed" and printed["reason"] == status
        assert ticket.print_state == "failed" and ticket.can_reprint
        assert ticket.print_text == tr("ticket.print_failed", "vi", reason=tr(f"status.{status}", "vi"))
        assert "Số của bạn vẫn được giữ" in ticket.print_text and re.fullmatch(r"[A-Z]+\d+", ticket.number)
        assert bool(server.core.received) == isinstance(core, TurningCore)  # the fault struck after it took the job
        assert kiosk.last_error is not None and kiosk.last_error.startswith("printer: ")  # the technician's status
        assert [s.waiting for s in kiosk.queue.services() if s.code == "HT"] == [1]  # the number is still queued
    finally:
        kiosk.close()


def test_paper_out_before_the_ticket_withholds_it_so_the_reprint_prints_it_once(tmp_path, printer_server):
    server = printer_server(PrinterCore("paper_out"))
    kiosk, ticket, _printed = take_number(tmp_path, server.port)
    try:
        assert ticket.print_state == "failed" and bytes(server.core.received) == b""
        server.core.state = "ok"  # the technician loads a roll
        reprinted: queue.Queue = queue.Queue()
        kiosk.events.subscribe("ticket_print", lambda **outcome: reprinted.put(outcome))
        kiosk.reprint_ticket(ticket.id)
        assert reprinted.get(timeout=PATIENCE_S)["state"].value == "printed"
        assert kiosk.ticket_view(ticket.id).print_text == tr("ticket.printed", "vi")
        assert bytes(server.core.received).count(b"\x1b@") == 1  # one ticket came out: ESC @ starts each job
    finally:
        kiosk.close()


def test_a_healthy_network_printer_says_printed_within_milliseconds(tmp_path, printer_server):
    server = printer_server(PrinterCore("ok"))
    kiosk, ticket, printed = take_number(tmp_path, server.port)
    try:
        assert printed["state"].value == "printed" and ticket.print_text == tr("ticket.printed", "vi")
        assert kiosk.last_error is None and bytes(server.core.received).startswith(b"\x1b@")
        driver = TcpPrinter("127.0.0.1", server.port)
        started = time.perf_counter()
        for _ in range(20):
            driver.send(JOB)
        assert (time.perf_counter() - started) / 20 < 0.5  # 3 ms on a quiet machine; the bound is for a loaded one
    finally:
        kiosk.close()


@pytest.mark.parametrize(("core", "error"), [(TurningCore("drop"), DeviceOffline), (TurningCore("silent"), DeviceTimeout),
                                             (TurningCore("paper_out"), PaperOut)])
def test_the_tcp_driver_raises_for_the_fault(printer_server, core, error):
    server = printer_server(core)
    started = time.monotonic()
    with pytest.raises(error):
        TcpPrinter("127.0.0.1", server.port, confirm_timeout=0.5).send(JOB)
    assert time.monotonic() - started < PATIENCE_S


def test_confirm_0_sends_to_a_printer_without_a_return_line_and_counts_it_printed(tmp_path, printer_server):
    server = printer_server(PrinterCore("silent"))
    config = load_config(None, [f"data_dir={tmp_path}", f"printer.connection=tcp:127.0.0.1:{server.port}?confirm=0"])
    open_printer(config).send(JOB)
    eventually(lambda: bytes(server.core.received) == JOB, message="the whole job arrived")


@pytest.mark.parametrize("timeout", ["abc", "0", "61"])
def test_a_malformed_status_timeout_is_refused_at_configuration(timeout):
    with pytest.raises(ValueError, match="timeout must be seconds"):
        parse_connection(f"tcp:10.0.0.9:9100?timeout={timeout}")


@pytest.fixture
def serial_printer(pty_pair):
    """A serial printer on a socat pty pair, its firmware a :class:`PrinterCore` the test sets."""
    ours, theirs = pty_pair
    port, stop = serial.Serial(theirs, 115200), threading.Event()
    workers: list[threading.Thread] = []

    def start(core: PrinterCore) -> SerialPrinter:
        workers.append(threading.Thread(target=serve_stream, args=(port, core, stop), daemon=True))
        workers[-1].start()
        return SerialPrinter(ours, baudrate=115200, confirm_timeout=0.5)

    yield start
    stop.set()
    for worker in workers:
        worker.join(2)
    port.close()


@pytest.mark.parametrize(("core", "error"), [(PrinterCore("paper_out"), PaperOut),
                                             (TurningCore("silent"), DeviceTimeout),
                                             (TurningCore("paper_out"), PaperOut)])
def test_the_serial_driver_raises_for_the_fault(serial_printer, core, error):
    printer = serial_printer(core)
    with pytest.raises(error):
        printer.send(JOB)


def test_the_serial_driver_prints_on_a_healthy_printer(serial_printer):
    core = PrinterCore("paper_low")  # near the end of the roll: still printing
    serial_printer(core).send(JOB)
    eventually(lambda: bytes(core.received) == JOB, message="the whole job arrived")
