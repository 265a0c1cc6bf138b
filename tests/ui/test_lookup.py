"""Tra cứu hồ sơ by touch and by scan, against the embedded reference backend on 127.0.0.1."""

from __future__ import annotations

from devices.sim.scanner import send_payload
from tests.support import assert_not_blank, backend_ready, wait_for

DEMO = "000.00.13.H26-251120-000"


def test_scan_on_home_opens_lookup_and_shows_the_status(kiosk):
    backend_ready(kiosk)
    host, port = kiosk.app.core.scanner.address
    send_payload(host, port, f"{DEMO}3\r\n".encode())
    assert wait_for(kiosk, lambda: kiosk.screen.name == "lookup" and kiosk.screen.state == "found")
    lookup = kiosk.screen
    kiosk.frames(3)
    assert lookup.ids.procedure.text == "Đăng ký tạm trú"
    assert lookup.ids.current.text == "Cần bổ sung giấy tờ"
    assert lookup.ids.applicant.text == "Người nộp: Nguyễn V. A."
    assert not lookup.ids.rate.disabled and lookup.ids.rate.opacity == 1
    assert_not_blank(kiosk.screenshot("lookup-needs-documents"))
    jobs = len(kiosk.app.core.printer.jobs())
    kiosk.tap(lookup.ids.print_slip)
    assert wait_for(kiosk, lambda: len(kiosk.app.core.printer.jobs()) == jobs + 1)


def test_manual_entry_on_the_code_keyboard(kiosk):
    backend_ready(kiosk)
    kiosk.tap(kiosk.screen.ids.lookup)
    lookup = kiosk.screen
    kiosk.tap(lookup.ids.type_code)
    assert lookup.state == "entry"
    board = lookup.ids.keyboard
    keys = {button.key: button for row in board.children for button in row.children}
    for char in f"{DEMO}4":
        kiosk.tap(keys[char])
    assert board.text == f"{DEMO}4"
    assert_not_blank(kiosk.screenshot("lookup-entry"))
    kiosk.tap(lookup.ids.search)
    assert wait_for(kiosk, lambda: lookup.state == "found")
    kiosk.frames(3)
    assert lookup.ids.current.text == "Đã có kết quả" and "Quầy số 7" in lookup.ids.pickup.text
    assert_not_blank(kiosk.screenshot("lookup-result-ready"))


def test_unknown_code_offers_a_help_desk_number_and_garbage_is_refused(kiosk):
    backend_ready(kiosk)
    kiosk.tap(kiosk.screen.ids.lookup)
    lookup = kiosk.screen
    lookup.take_scan({"kind": "unknown", "length": 3})
    assert "Mã không hợp lệ" in lookup.message
    lookup.take_scan({"kind": "cccd", "id": "001090012345"})
    assert "căn cước" in lookup.message and kiosk.app.core.session.data == {}
    lookup.search("000.00.13.H26-251120-0999")
    assert wait_for(kiosk, lambda: lookup.state == "not_found")
    kiosk.frames(2)
    assert lookup.ids.print_slip.text == "Lấy số hỗ trợ"
    kiosk.tap(lookup.ids.print_slip)  # the number is issued on a worker; the ticket shows when it is
    assert wait_for(kiosk, lambda: kiosk.screen.name == "ticket")
    assert kiosk.screen.number.startswith("H")


def test_backend_down_shows_the_cached_status_with_its_time(kiosk):
    backend_ready(kiosk)
    core = kiosk.app.core
    core.backend_client.dossier_status(f"{DEMO}2")  # fills the cache
    real = core.backend_client
    from kiosk.backend_client import BackendClient

    core.backend_client = BackendClient("http://127.0.0.1:9", "x", timeout_s=0.5,
                                        cache_path=core.config.data_dir / "status-cache.db")
    try:
        kiosk.tap(kiosk.screen.ids.lookup)
        lookup = kiosk.screen
        lookup.search(f"{DEMO}2")
        assert wait_for(kiosk, lambda: lookup.state == "cached")
        kiosk.frames(2)
        assert "cập nhật lúc" in lookup.ids.outcome.text and lookup.ids.current.text == "Đang xử lý"
        lookup.search("000.00.13.H26-251120-0888")
        assert wait_for(kiosk, lambda: lookup.state == "unavailable")
        assert_not_blank(kiosk.screenshot("lookup-unavailable"))
    finally:
        core.backend_client = real


def test_booking_scan_checks_in_once_and_issues_a_priority_ticket(kiosk):
    backend_ready(kiosk)
    host, port = kiosk.app.core.scanner.address
    send_payload(host, port, b"BK-251120-DEMO01\r\n")
    assert wait_for(kiosk, lambda: kiosk.screen.name == "ticket")
    ticket = kiosk.screen.ticket
    assert ticket.service_code == "HT" and ticket.priority == "booking"
    assert_not_blank(kiosk.screenshot("booking-ticket"))
    kiosk.app.go_home()
    send_payload(host, port, b"BK-251120-DEMO01\r\n")
    assert wait_for(kiosk, lambda: kiosk.screen.name == "lookup" and kiosk.screen.state == "booking_refused")
    assert kiosk.screen.message == "Lịch hẹn BK-251120-DEMO01 đã được sử dụng để lấy số."
    send_payload(host, port, b"BK-251120-ZZZZ99\r\n")
    assert wait_for(kiosk, lambda: kiosk.screen.message.startswith("Không tìm thấy lịch hẹn BK-251120-ZZZZ99"))
    kiosk.frames(2)
    assert kiosk.screen.ids.rate.disabled and kiosk.screen.ids.rate.opacity == 0  # nothing to rate yet
    kiosk.screenshot("booking-unknown")
