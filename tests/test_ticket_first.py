"""The number is on screen before its ticket is printed: rendering and printing follow the answer, never precede it.

A real core (local SQLite queue, a ``file:`` printer) whose ticket renderer is held at a gate: the answer — a
``ticket`` event for a tap on a service, a ``booking`` event for a booking checked in with the (real, seeded)
reference backend — must arrive while no ticket has been rendered, and the print still happens afterwards — also
when the citizen has already left, and as a failed print (number kept) when rendering itself breaks. python-escpos's capabilities
are parsed once and cached in the data dir, in a process of their own here (the test process has them loaded).
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading

import pytest

from config.loader import load_config
from kiosk.backend_client import BackendClient
from kiosk.core import KioskCore
from kiosk.i18n import tr
from kiosk.queue_flow import QueueFlow
from tests.support import PATIENCE_S, ROOT

BOOKING = "BK-251120-DEMO01"  # the backend's seeded booking, valid all of today


@pytest.fixture
def kiosk(tmp_path, monkeypatch):
    """A core printing to a file; ``kiosk.gate`` holds every ticket rendering until set, ``kiosk.rendered`` counts
    the tickets rendered (by number) and the threads they were rendered on."""
    config = load_config(None, [f"data_dir={tmp_path / 'data'}", "scanner.connection=sim:127.0.0.1:0",
                                f"printer.connection=file:{tmp_path / 'printer.bin'}"])
    gate, rendered = threading.Event(), queue.Queue()
    real_render = QueueFlow._render

    def gated_render(flow, ticket, lang):
        rendered.put((ticket.number, threading.current_thread().name))
        assert gate.wait(PATIENCE_S), "the test never opened the gate"
        return real_render(flow, ticket, lang)

    monkeypatch.setattr(QueueFlow, "_render", gated_render)
    core = KioskCore(config)
    core.gate, core.rendered, core.printer_file = gate, rendered, tmp_path / "printer.bin"
    core.answers, core.prints = queue.Queue(), queue.Queue()
    core.events.subscribe("ticket", lambda outcome: core.answers.put(outcome))
    core.events.subscribe("ticket_print", lambda **outcome: core.prints.put(outcome))
    yield core
    gate.set()
    core.close()


def checking_in(kiosk: KioskCore, backend) -> queue.Queue:
    """Connect ``kiosk`` to ``backend``; the returned queue collects its ``booking`` answers."""
    kiosk.backend_client = BackendClient(backend.url, backend.token, timeout_s=PATIENCE_S)
    answers: queue.Queue = queue.Queue()
    kiosk.events.subscribe("booking", lambda outcome: answers.put(outcome))
    return answers


@pytest.fixture(params=["service tap", "booking check-in"])
def take(request, kiosk):
    """One way to get a number; calling it returns the ticket as its answer showed it."""
    if request.param == "service tap":
        answers, start = kiosk.answers, lambda: kiosk.take_number("HT")
    else:
        answers, start = checking_in(kiosk, request.getfixturevalue("admin_backend")), lambda: kiosk.check_in(BOOKING)

    def taken():
        start()
        return answers.get(timeout=PATIENCE_S).ticket

    return taken


def test_the_answer_comes_before_rendering_and_the_print_after_it(kiosk, take):
    ticket = take()  # while every rendering is held at the gate
    assert ticket is not None and ticket.print_state == "printing" and kiosk.prints.empty()
    assert ticket.print_text == tr("ticket.printing", "vi")
    kiosk.gate.set()
    printed = kiosk.prints.get(timeout=PATIENCE_S)
    assert printed["ticket_id"] == ticket.id and printed["state"] == "printed"
    assert kiosk.ticket_view(ticket.id).print_text == tr("ticket.printed", "vi")
    number, thread = kiosk.rendered.get(timeout=PATIENCE_S)
    assert number == ticket.number and thread == "render"  # the render lane, not the answering worker
    assert ticket.number.encode() in kiosk.printer_file.read_bytes()


def test_a_committed_ticket_prints_though_the_citizen_left_before_it_rendered(kiosk, take):
    ticket = take()
    kiosk.session.end()  # idle reset between the answer and the print: the session forgets the ticket
    assert kiosk.ticket_view(ticket.id) is None
    kiosk.gate.set()
    assert kiosk.prints.get(timeout=PATIENCE_S)["state"] == "printed"
    assert ticket.number.encode() in kiosk.printer_file.read_bytes()


def test_a_ticket_that_cannot_be_rendered_is_a_failed_print_and_the_number_stands(kiosk, take, monkeypatch,
                                                                                  caplog):
    def broken(_flow, _ticket, _lang):
        raise ValueError("a font went missing")

    monkeypatch.setattr(QueueFlow, "_render", broken)
    ticket = take()
    assert ticket is not None  # issued and shown: rendering comes after
    failed = kiosk.prints.get(timeout=PATIENCE_S)
    assert failed["state"] == "failed" and failed["reason"] == "unknown"
    view = kiosk.ticket_view(ticket.id)
    assert view.can_reprint and view.print_text == tr("ticket.print_failed", "vi", reason=tr("status.unknown", "vi"))
    assert "rendering ticket" in caplog.text and not kiosk.printer_file.exists()


def test_two_scans_of_one_booking_at_once_give_one_ticket(kiosk, admin_backend):
    answers = checking_in(kiosk, admin_backend)
    kiosk.check_in(BOOKING)
    kiosk.check_in(BOOKING)  # scanned again before the first answer
    first, second = answers.get(timeout=PATIENCE_S), answers.get(timeout=PATIENCE_S)
    assert first.ticket is not None and first.ticket.priority == "booking"
    assert second.ticket is None and second.message == tr("booking.used", "vi", code=BOOKING)
    kiosk.gate.set()
    assert kiosk.prints.get(timeout=PATIENCE_S)["ticket_id"] == first.ticket.id
    assert [item.waiting for item in kiosk.queue.services() if item.code == "HT"] == [1]  # one ticket in the line


def test_the_first_frame_starts_loading_the_renderer_on_the_render_lane(kiosk):
    kiosk.ui_ready()
    number, thread = kiosk.rendered.get(timeout=PATIENCE_S)  # the sample ticket, before any citizen's
    assert thread == "render" and number == "A000"
    kiosk.gate.set()
    kiosk.take_number("HT")  # queued behind the warm-up on the same lane: rendered once it is done
    outcome = kiosk.answers.get(timeout=PATIENCE_S)
    assert kiosk.rendered.get(timeout=PATIENCE_S)[0] == outcome.ticket.number
    assert kiosk.prints.get(timeout=PATIENCE_S)["state"] == "printed"
    assert b"A000" not in kiosk.printer_file.read_bytes()  # the warm-up rendered, it printed nothing


LOAD = """
import os, sys, time
from pathlib import Path
from devices.escpos.capability_cache import PICKLE_DIR_ENV, load_capabilities
started = time.perf_counter()
load_capabilities(Path(sys.argv[1]))
import escpos.capabilities
assert escpos.capabilities.get_profile("default").profile_data["name"], "no default profile"
assert PICKLE_DIR_ENV not in os.environ, "the variable leaked into the process"
print(escpos.capabilities.full_load)
"""


def load_in_a_new_process(cache) -> str:
    env = {key: value for key, value in os.environ.items() if key != "ESCPOS_CAPABILITIES_PICKLE_DIR"}
    run = subprocess.run([sys.executable, "-c", LOAD, str(cache)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout.strip()


def test_capabilities_are_parsed_once_then_read_from_the_data_dir(tmp_path):
    cache = tmp_path / "data" / "cache"
    assert load_in_a_new_process(cache) == "True"  # parsed, and the parse saved
    (pickled,) = cache.glob("*.capabilities.pickle")
    assert oct(cache.stat().st_mode & 0o777) == "0o700"
    assert load_in_a_new_process(cache) == "False"  # the next start reads it
    pickled.write_bytes(pickled.read_bytes()[:100])  # cut short: power lost while it was written
    assert load_in_a_new_process(cache) == "True"  # parsed again, not a broken printer
    assert load_in_a_new_process(cache) == "False" and pickled.stat().st_size > 10_000
