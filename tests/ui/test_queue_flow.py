"""Take a number by touch: home → service → ticket on screen and on paper; a printer fault keeps the ticket."""

from __future__ import annotations

import threading

from devices.sim.printer import set_fault
from kiosk.i18n import tr
from tests.support import assert_not_blank


def service_rows_now(kiosk):
    return [w for w in kiosk.screen.ids.services.children[0].children if getattr(w, "code", "")]


def service_rows(kiosk):
    """The service rows once the core's list arrived (it is read on a worker)."""
    return kiosk.until(lambda: service_rows_now(kiosk), "the service list")


def waiting(kiosk, code: str) -> int:
    return next(service.waiting for service in kiosk.app.core.queue.services() if service.code == code)


def test_take_number_shows_ticket_and_prints_it(kiosk):
    printer = kiosk.app.core.printer
    jobs_before = len(printer.jobs())
    kiosk.tap(kiosk.screen.ids.queue)
    assert kiosk.screen.name == "queue"
    rows = {row.code: row for row in service_rows(kiosk)}
    assert "HT" in rows and "Hộ tịch" in rows["HT"].title and "Đang chờ" in rows["HT"].detail
    assert_not_blank(kiosk.screenshot("queue-services"))
    kiosk.tap(rows["HT"])
    kiosk.until(lambda: kiosk.screen.name == "ticket", "the ticket screen")
    ticket = kiosk.screen
    assert ticket.number.startswith("A") and len(ticket.number) == 4
    kiosk.until(lambda: ticket.print_state == "printed", "the print outcome")
    assert len(printer.jobs()) == jobs_before + 1
    assert printer.jobs()[-1].with_suffix(".png").exists()
    assert ticket.tracking_url.endswith(ticket.ticket.id)
    assert_not_blank(kiosk.screenshot("ticket"))


def test_two_quick_taps_on_a_service_give_exactly_one_ticket(kiosk):
    from kivy.tests.common import UnitTestTouch

    before = waiting(kiosk, "HT")
    kiosk.tap(kiosk.screen.ids.queue)
    row = {row.code: row for row in service_rows(kiosk)}["HT"]
    x, y = row.to_window(*row.center)
    for _ in range(2):  # no frame between the taps: the first answer cannot have arrived
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        touch.touch_up()
    kiosk.until(lambda: kiosk.screen.name == "ticket", "the ticket screen")
    kiosk.until(lambda: kiosk.screen.print_state == "printed", "the print outcome")
    assert waiting(kiosk, "HT") == before + 1


def test_a_slow_service_list_shows_the_progress_message_until_it_arrives(kiosk, monkeypatch):
    """GIVEN a queue that takes its time to list the services (a slow branch server)
    WHEN the citizen opens "Lấy số thứ tự"
    THEN the screen keeps drawing, says it is working on it, and shows the services once they arrive."""
    core = kiosk.app.core
    answered, list_services = threading.Event(), core.queue.services
    monkeypatch.setattr(core.queue, "services", lambda: answered.wait(30) and list_services())
    kiosk.tap(kiosk.screen.ids.queue)
    progress = kiosk.app.root.ids.progress
    kiosk.until(lambda: progress.opacity == 1, "the progress message")
    assert progress.text == tr("progress.wait", "vi") and service_rows_now(kiosk) == []
    assert_not_blank(kiosk.screenshot("queue-progress"))
    answered.set()
    assert {row.code for row in service_rows(kiosk)} >= {"HT", "CT"}
    kiosk.until(lambda: progress.opacity == 0, "the progress message to go")


def test_printer_out_of_paper_keeps_ticket_on_screen_and_reprint_works_when_back(kiosk):
    spool = kiosk.app.core.config.spool_dir
    set_fault(spool, "paper_out")
    try:
        kiosk.tap(kiosk.screen.ids.queue)
        kiosk.tap({row.code: row for row in service_rows(kiosk)}["CT"])
        kiosk.until(lambda: kiosk.screen.name == "ticket", "the ticket screen")
        ticket = kiosk.screen
        kiosk.until(lambda: ticket.print_state == "failed", "the print outcome")
        assert ticket.print_reason == "paper_out"
        assert ticket.number.startswith("B")
        assert "Hết giấy" in ticket.ids.print_message.text
        assert kiosk.app.core.last_error and "paper" in kiosk.app.core.last_error
        assert_not_blank(kiosk.screenshot("ticket-paper-out"))
    finally:
        set_fault(spool, None)
    jobs_before = len(kiosk.app.core.printer.jobs())
    kiosk.tap(ticket.ids.reprint)
    kiosk.until(lambda: ticket.print_state == "printed", "the reprint's outcome")
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
    kiosk.until(lambda: kiosk.screen.name == "ticket", "the ticket screen")
    assert kiosk.screen.ticket.priority == "elderly"
    assert kiosk.app.screen("queue").priority == ""


def test_help_button_gives_a_help_desk_priority_ticket_and_says_the_number(kiosk):
    voice_dir = kiosk.app.core.config.data_dir / "voice"
    before = set(voice_dir.glob("*.wav")) if voice_dir.exists() else set()
    help_button = kiosk.screen.ids.help
    assert help_button.text == "Cần hỗ trợ" and help_button.height >= kiosk.app.min_target
    kiosk.tap(help_button)
    kiosk.until(lambda: kiosk.screen.name == "ticket", "the ticket screen")
    ticket = kiosk.screen.ticket
    assert ticket.service_code == "HD" and ticket.priority == "help"
    def spoken():  # said on the voice worker; the file grows while espeak-ng speaks
        return [path for path in set(voice_dir.glob("*.wav")) - before if path.stat().st_size > 10_000]

    kiosk.until(spoken, "the spoken number")
    kiosk.app.core.voice.wait()
    assert len(set(voice_dir.glob("*.wav")) - before) == 1
    assert_not_blank(kiosk.screenshot("help-ticket"))


def test_each_step_is_spoken_when_the_citizen_arrives(kiosk):
    voice_dir = kiosk.app.core.config.data_dir / "voice"
    voice_dir.mkdir(exist_ok=True)
    before = set(voice_dir.glob("*.wav"))
    kiosk.tap(kiosk.screen.ids.queue)
    kiosk.until(lambda: set(voice_dir.glob("*.wav")) - before, "the spoken guidance")
    kiosk.app.core.voice.wait()
    assert len(set(voice_dir.glob("*.wav")) - before) == 1


def test_a_press_on_a_service_shows_at_once(kiosk):
    """The list fits, so it does not scroll and a press reaches its row at once: a scroll view holds a press until
    it knows the finger is not scrolling, and the row's pressed look then comes with the release, a frame the
    ticket's worker would wait behind."""
    from kivy.tests.common import UnitTestTouch

    kiosk.tap(kiosk.screen.ids.queue)
    row = {row.code: row for row in service_rows(kiosk)}["HT"]
    services = kiosk.screen.ids.services
    assert not services.do_scroll_x and not services.do_scroll_y
    touch = UnitTestTouch(*row.to_window(*row.center))
    touch.touch_down()
    assert row.state == "down"  # no frame, no scroll timeout: the press went straight to the row
    touch.touch_up()
    kiosk.until(lambda: kiosk.screen.name == "ticket", "the ticket screen")
    kiosk.until(lambda: row.state == "normal", "the row let go")



def test_the_ticket_screen_never_shows_the_previous_tickets_qr_code(kiosk):
    kiosk.tap(kiosk.screen.ids.queue)
    kiosk.tap({row.code: row for row in service_rows(kiosk)}["HT"])
    qr = kiosk.until(lambda: kiosk.screen.ids.qr if kiosk.screen.name == "ticket" else None, "the ticket screen")
    first = kiosk.until(lambda: qr.texture, "the first ticket's QR code")
    qr.data = kiosk.app.core.queue.tracking_url("another-ticket")  # what the next ticket's show() does
    assert qr.texture is None  # blank until the new code is encoded, never the previous one
    assert kiosk.until(lambda: qr.texture, "the new QR code") is not first
