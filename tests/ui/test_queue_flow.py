"""Take a number by touch: home → service → ticket on screen and on paper; a printer fault keeps the ticket."""

from __future__ import annotations

from devices.sim.printer import set_fault
from tests.ui.test_shell import assert_not_blank


def service_rows(kiosk):
    kiosk.frames(4)
    return [w for w in kiosk.screen.ids.services.children[0].children if getattr(w, "code", "")]


def test_take_number_shows_ticket_and_prints_it(kiosk):
    printer = kiosk.app.core.printer
    jobs_before = len(printer.jobs())
    kiosk.tap(kiosk.screen.ids.queue)
    assert kiosk.screen.name == "queue"
    rows = {row.code: row for row in service_rows(kiosk)}
    assert "HT" in rows and "Hộ tịch" in rows["HT"].title and "Đang chờ" in rows["HT"].detail
    assert_not_blank(kiosk.screenshot("queue-services"))
    kiosk.tap(rows["HT"])
    assert kiosk.screen.name == "ticket"
    ticket = kiosk.screen
    assert ticket.number.startswith("A") and len(ticket.number) == 4
    kiosk.wait(0.8)
    assert ticket.print_state == "printed"
    assert len(printer.jobs()) == jobs_before + 1
    assert printer.jobs()[-1].with_suffix(".png").exists()
    assert ticket.tracking_url.endswith(ticket.ticket.id)
    assert_not_blank(kiosk.screenshot("ticket"))


def test_printer_out_of_paper_keeps_ticket_on_screen_and_reprint_works_when_back(kiosk):
    spool = kiosk.app.core.config.spool_dir
    set_fault(spool, "paper_out")
    try:
        kiosk.tap(kiosk.screen.ids.queue)
        kiosk.tap({row.code: row for row in service_rows(kiosk)}["CT"])
        ticket = kiosk.screen
        kiosk.wait(0.8)
        assert ticket.print_state == "failed" and ticket.print_reason == "paper_out"
        assert ticket.number.startswith("B")
        assert "Hết giấy" in ticket.ids.print_message.text
        assert kiosk.app.core.last_error and "paper" in kiosk.app.core.last_error
        assert_not_blank(kiosk.screenshot("ticket-paper-out"))
    finally:
        set_fault(spool, None)
    jobs_before = len(kiosk.app.core.printer.jobs())
    kiosk.tap(ticket.ids.reprint)
    kiosk.wait(0.8)
    assert ticket.print_state == "printed"
    assert len(kiosk.app.core.printer.jobs()) == jobs_before + 1


def test_priority_choice_is_printed_and_cleared_after_use(kiosk):
    kiosk.tap(kiosk.screen.ids.queue)
    kiosk.tap(kiosk.screen.ids.priority)
    assert kiosk.screen.name == "priority"
    kiosk.frames(4)
    rows = [w for w in kiosk.walk_screen() if getattr(w, "code", "") == "elderly"]
    kiosk.tap(rows[0])
    assert kiosk.screen.name == "queue" and kiosk.screen.priority == "elderly"
    kiosk.tap({row.code: row for row in service_rows(kiosk)}["HT"])
    assert kiosk.screen.ticket.priority == "elderly"
    assert kiosk.app.screen("queue").priority == ""


def test_help_button_gives_a_help_desk_priority_ticket_and_says_the_number(kiosk):
    voice_dir = kiosk.app.core.config.data_dir / "voice"
    before = set(voice_dir.glob("*.wav")) if voice_dir.exists() else set()
    help_button = kiosk.screen.ids.help
    assert help_button.text == "Cần hỗ trợ" and help_button.height >= kiosk.app.min_target
    kiosk.tap(help_button)
    assert kiosk.screen.name == "ticket"
    ticket = kiosk.screen.ticket
    assert ticket.service_code == "HD" and ticket.priority == "help"
    kiosk.app.core.voice.wait()
    spoken = set(voice_dir.glob("*.wav")) - before
    assert len(spoken) == 1 and next(iter(spoken)).stat().st_size > 10_000
    assert_not_blank(kiosk.screenshot("help-ticket"))


def test_each_step_is_spoken_when_the_citizen_arrives(kiosk):
    voice_dir = kiosk.app.core.config.data_dir / "voice"
    voice_dir.mkdir(exist_ok=True)
    before = set(voice_dir.glob("*.wav"))
    kiosk.tap(kiosk.screen.ids.queue)
    kiosk.app.core.voice.wait()
    assert len(set(voice_dir.glob("*.wav")) - before) == 1
