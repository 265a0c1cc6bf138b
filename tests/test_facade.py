"""The core's facade: screens reach nothing behind it, and its slow intents answer later instead of blocking.

The first test reads every screen (.py and .kv) and fails on ``core.<part>.<member>``: a screen may call the
core's methods, read its plain view data and use its event bus (``core.events.…``), never a part inside it. The
others drive :class:`kiosk.core.KioskCore` without Kivy: each intent returns at once, the answer arrives as an
event with view data already in the citizen's language, and an intent that must not run twice refuses meanwhile.
"""

from __future__ import annotations

import queue
import re
import time
from pathlib import Path

import pytest

from config.loader import load_config
from kiosk.core import KioskCore
from kiosk.i18n import tr
from kiosk.lookup_flow import LookupResult
from kiosk.view_models.lookup import lookup_view
from tests.support import ROOT, FaultyServer, eventually

# ``core.<part>.<member>`` after anything but a module path (``kiosk.core.KioskCore`` in a docstring is fine)
REACH_IN = re.compile(r"(?<!kiosk\.)(?<!kivy\.)\bcore\.(?!events\b)([A-Za-z_]\w*)\.([A-Za-z_]\w*)")
INSTANT_S = 0.05  # what "returns at once" means here: the UI thread's budget for one callback


def screen_sources() -> list[Path]:
    return sorted([*(ROOT / "screens").glob("*.py"), *(ROOT / "screens").glob("*.kv")])


def test_no_screen_reaches_past_the_facade():
    found = [f"{path.relative_to(ROOT)}:{number}: {match.group(0)}"
             for path in screen_sources()
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             for match in REACH_IN.finditer(line)]
    assert len(screen_sources()) > 20  # the scan reads the screens (a moved folder must not make this pass)
    assert found == [], "screens reach into the core's parts:\n" + "\n".join(found)


def test_the_check_catches_a_reach_in_and_lets_the_event_bus_and_module_paths_through():
    assert REACH_IN.search("app.core.queue.take(code)")
    assert REACH_IN.search("on_release: app.core.session.start()")
    assert not REACH_IN.search("app.core.events.subscribe('ticket', show)")
    assert not REACH_IN.search("app.core.take_number(code, priority)")
    assert not REACH_IN.search("app.core.home_view().branch_name")
    assert not REACH_IN.search("#:import Window kivy.core.window.Window")
    assert not REACH_IN.search(":meth:`kiosk.core.KioskCore.open_device_setup`")


class Answers:
    """Events the core published, collected from whatever thread published them."""

    def __init__(self, core: KioskCore, *names: str) -> None:
        self._queues = {name: queue.Queue() for name in names}
        for name, received in self._queues.items():
            core.events.subscribe(name, lambda received=received, **payload: received.put(payload))

    def next(self, name: str, timeout: float = 30.0) -> dict:
        return self._queues[name].get(timeout=timeout)

    def pending(self, name: str) -> int:
        return self._queues[name].qsize()


def timed(call):
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


@pytest.fixture
def core(kiosk_config):
    core = KioskCore(kiosk_config)
    yield core
    core.close()


def test_a_ticket_request_answers_later_and_a_second_one_meanwhile_is_refused(core):
    answers = Answers(core, "ticket_requested", "ticket")
    before = next(s.waiting for s in core.queue.services() if s.code == "HT")
    first = core.take_number("HT")
    second = core.take_number("HT")  # a double tap: the first is still being issued
    assert first is not None and second is None
    assert answers.next("ticket_requested") == {"request": first}
    outcome = answers.next("ticket")["outcome"]
    assert outcome.request == first and outcome.refusal == ""
    ticket = outcome.ticket
    assert ticket.number.startswith("A") and ticket.service.startswith("Hộ tịch")
    assert ticket.ahead_text == tr("ticket.people_ahead", "vi", count=ticket.people_ahead)
    assert next(s.waiting for s in core.queue.services() if s.code == "HT") == before + 1
    assert answers.pending("ticket") == 0


def test_a_refused_ticket_comes_back_worded_in_the_citizens_language(core):
    answers = Answers(core, "ticket")
    core.set_language("en")
    assert core.take_number("NOPE") is not None
    outcome = answers.next("ticket")["outcome"]
    assert outcome.ticket is None and outcome.refusal == tr("queue.refused.unknown", "en")


def test_a_counter_number_falls_back_to_the_help_desk_when_the_counter_is_not_offered_here(core):
    answers = Answers(core, "ticket")
    core.take_counter_number("ZZ")
    ticket = answers.next("ticket")["outcome"].ticket
    assert ticket.service_code == "HD" and ticket.priority is None
    core.take_counter_number("CT")
    assert answers.next("ticket")["outcome"].ticket.service_code == "CT"


def test_the_service_list_arrives_as_rows_worded_for_the_screen(core):
    answers = Answers(core, "services")
    core.request_services()
    services = answers.next("services")["services"]
    rows = {row.code: row for row in services.rows}
    assert rows["HT"].title.startswith("Hộ tịch") and rows["HT"].detail.startswith("Đang chờ")
    assert services.message == ""


def test_pin_checks_run_off_the_callers_thread_one_at_a_time(core):
    answers = Answers(core, "pin")
    started, took = timed(lambda: core.check_pin("0000"))
    assert started and took < INSTANT_S  # scrypt alone takes longer than a UI frame may
    assert not core.check_pin("0000")  # Enter tapped twice: one attempt
    outcome = answers.next("pin")["outcome"]
    assert not outcome.ok and outcome.message == tr("pin.wrong", "vi", attempts=4)
    eventually(lambda: core.check_pin("246810"), message="the next check once the first answered")
    assert answers.next("pin")["outcome"].ok


def test_a_survey_answer_is_stored_on_a_worker_and_thanked(core):
    answers = Answers(core, "survey")
    before = len(core.survey.undelivered())
    assert core.send_survey(5, ("kiosk_easy",), kind="standalone")
    outcome = answers.next("survey")["outcome"]
    assert outcome.saved and outcome.message == tr("survey.thanks", "vi")
    assert len(core.survey.undelivered()) == before + 1


def test_lookup_answers_are_worded_for_the_screen():
    status = {"status": "needs_documents", "procedure_vi": "Đăng ký tạm trú", "procedure_en": "Temporary residence",
              "applicant": "Nguyễn V. A.", "received_at": "2025-11-20T08:00:00+07:00", "due_date": "2025-11-27",
              "fee": 15000, "paid": False, "missing": "Bản sao hợp đồng thuê nhà",
              "timeline": [{"status": "received"}, {"status": "needs_documents"}]}
    found = lookup_view(LookupResult("000.00.13.H26-251120-0003", "found", status), "vi")
    assert (found.procedure, found.current) == ("Đăng ký tạm trú", tr("status.needs_documents", "vi"))
    assert found.applicant == "Người nộp: Nguyễn V. A."
    assert found.fee == tr("lookup.fee_unpaid", "vi", fee="15.000")
    assert found.has_status and not found.is_problem and found.outcome_text == ""
    missing = lookup_view(LookupResult("X-1", "not_found"), "en")
    assert missing.is_problem and not missing.has_status
    assert missing.outcome_text == tr("lookup.not_found", "en", code="X-1")


def test_in_branch_mode_a_hanging_queue_server_never_holds_the_caller(tmp_path):
    """GIVEN a branch queue server that accepts connections and never answers
    WHEN the citizen asks for the services and for a help-desk number
    THEN each intent returns at once, and the answers (an empty list, a refusal) come when the timeouts expire."""
    with FaultyServer() as hanging:
        config = load_config(None, [f"data_dir={tmp_path / 'data'}", "scanner.connection=sim:127.0.0.1:0",
                                    "queue.mode=branch", f"queue.server={hanging.url}"])
        core = KioskCore(config)
        try:
            answers = Answers(core, "services", "ticket")
            _none, took = timed(core.request_services)
            assert took < INSTANT_S
            services = answers.next("services")["services"]
            assert services.rows == () and services.message == tr("queue.no_services", "vi")
            request, took = timed(core.take_help_number)
            assert request is not None and took < INSTANT_S
            outcome = answers.next("ticket")["outcome"]
            assert outcome.ticket is None and outcome.refusal == tr("queue.refused.unavailable", "vi")
        finally:
            core.close()
