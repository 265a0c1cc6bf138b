"""Nộp hồ sơ on the real app: search by Telex, scan a CCCD, fill, review, consent, submit, printed receipt decoded."""

from __future__ import annotations

from contracts.vietqr import fee_message
from devices.escpos.preview import printed_items
from devices.payloads import parse_payload
from devices.sim.scanner import send_payload
from kiosk.tickets import printer_profile
from tests.support import assert_not_blank, backend_ready, wait_for

CCCD = "001190012345|123456789|Lê Thị Hoa|12051990|Nữ|Số 5 Hàng Gai, Hoàn Kiếm, Hà Nội|15062021"


def keys_of(board):
    return {button.key: button for row in board.children for button in row.children}


def type_on(kiosk, board, keystrokes: str) -> None:
    keys = keys_of(board)
    for char in keystrokes:
        if char.isupper() and char not in keys:  # the Telex layout has lower-case keys and a shift key
            kiosk.tap(keys["⇧"])
            char = char.lower()
        kiosk.tap(keys["␣" if char == " " else char])


def open_filing(kiosk):
    backend_ready(kiosk)
    assert wait_for(kiosk, lambda: kiosk.app.core.catalogue is not None)
    kiosk.tap(kiosk.screen.ids.submit)
    screen = kiosk.screen
    assert screen.name == "submit"
    assert wait_for(kiosk, lambda: screen.state == "catalogue" and len(screen.ids.events.children) == 3)
    return screen


def test_catalogue_by_life_event_offers_the_birth_bundle(kiosk):
    screen = open_filing(kiosk)
    titles = [tile.title for tile in reversed(screen.ids.events.children)]
    assert titles == ["Khai sinh", "Khai tử", "Kết hôn"]
    assert_not_blank(kiosk.screenshot("filing-catalogue"))
    kiosk.tap(list(reversed(screen.ids.events.children))[0])
    assert screen.state == "results" and screen.bundle == ["HT01", "CT01", "BH01"]
    assert screen.ids.bundle.text == "Nộp cả 3 thủ tục một lần"
    kiosk.screenshot("filing-life-event-birth")
    screen.intent("open_event", "marriage")  # marriage registration itself needs both people at the counter
    kiosk.frames(2)
    assert screen.bundle == [] and screen.ids.bundle.opacity == 0


def test_without_a_catalogue_the_citizen_can_try_again(kiosk):
    screen = open_filing(kiosk)
    catalogue, kiosk.app.core.catalogue = kiosk.app.core.catalogue, None  # as after an offline start, no cache
    try:
        screen.intent("enter")
        kiosk.frames(2)
        assert screen.state == "unavailable"
        assert_not_blank(kiosk.screenshot("filing-unavailable"))
        kiosk.tap(screen.ids.retry)  # fetched on a worker; the catalogue shows when it arrives
        assert wait_for(kiosk, lambda: screen.state == "catalogue" and len(screen.ids.events.children) == 3)
    finally:
        kiosk.app.core.catalogue = kiosk.app.core.catalogue or catalogue


def test_telex_search_then_a_counter_only_procedure_offers_a_number(kiosk):
    screen = open_filing(kiosk)
    kiosk.tap(screen.ids.search)
    type_on(kiosk, screen.ids.search_keys, "chuwngs thuwcj")
    assert screen.ids.search_keys.text == "chứng thực"
    assert [row["title"].split()[:2] for row in screen.results[:3]] == [["Chứng", "thực"]] * 3
    kiosk.screenshot("filing-search")
    screen.intent("open_procedure", screen.results[0]["proc_id"])
    kiosk.frames(2)
    assert screen.state == "detail" and screen.ids.start.text == "Lấy số thứ tự cho quầy này"
    assert_not_blank(kiosk.screenshot("filing-detail-counter-only"))
    kiosk.tap(screen.ids.start)  # the number is taken off the UI thread; the ticket shows when it is issued
    assert wait_for(kiosk, lambda: kiosk.screen.name == "ticket")


def test_file_a_dossier_with_a_scanned_cccd_and_get_a_receipt_with_vietqr(kiosk):
    screen = open_filing(kiosk)
    screen.intent("open_procedure", "HT05")  # Cấp bản sao trích lục hộ tịch: 8.000 đ, a number and a checkbox field
    kiosk.frames(2)
    assert_not_blank(kiosk.screenshot("filing-detail"))
    kiosk.tap(screen.ids.start)
    assert screen.state == "form" and screen.step.label == "Họ và tên người nộp"
    assert screen.ids.scan_cccd.opacity == 1

    host, port = kiosk.app.core.scanner.address
    send_payload(host, port, (CCCD + "\r\n").encode())
    assert wait_for(kiosk, lambda: screen.ids.form_keys.text == "Lê Thị Hoa")
    assert screen.message == "Đã điền 4 mục từ thẻ CCCD. Vui lòng kiểm tra lại."
    assert_not_blank(kiosk.screenshot("filing-form-cccd-filled"))
    for _ in range(4):  # name, ID, date of birth, address: filled from the card
        kiosk.tap(screen.ids.next)
    assert screen.step.label == "Số điện thoại"
    type_on(kiosk, screen.ids.form_keys, "091234")
    kiosk.tap(screen.ids.next)
    assert screen.step.label == "Số điện thoại" and "Số điện thoại chưa đúng" in screen.message
    kiosk.screenshot("filing-form-error")
    type_on(kiosk, screen.ids.form_keys, "5678")
    kiosk.tap(screen.ids.next)
    assert screen.step.label == "Số bản"
    type_on(kiosk, screen.ids.form_keys, "2")
    kiosk.tap(screen.ids.next)
    assert screen.ids.form_parts.current == "choices"
    kiosk.screenshot("filing-form-choices")
    kiosk.tap(list(reversed(screen.ids.choices.children))[1])  # "Không": no post
    assert screen.state == "review"
    rows = {row["label"]: row["value"] for row in screen.review_rows}
    assert rows["Ngày sinh"] == "12/05/1990" and rows["Số bản"] == "2" and rows["Nhận kết quả qua bưu điện"] == "Không"
    assert_not_blank(kiosk.screenshot("filing-review"))

    kiosk.tap(screen.ids.submit)
    assert screen.state == "review" and screen.message == "Vui lòng đánh dấu đồng ý để gửi hồ sơ."
    jobs = len(kiosk.app.core.printer.jobs())
    kiosk.tap(screen.ids.consent)
    kiosk.tap(screen.ids.submit)
    assert wait_for(kiosk, lambda: screen.state == "done")
    code = screen.receipt_rows[0]["code"]
    assert code.startswith("000.00.13.H26-") and not screen.done.offline
    assert_not_blank(kiosk.screenshot("filing-done"))

    assert wait_for(kiosk, lambda: len(kiosk.app.core.printer.jobs()) == jobs + 1)
    receipt = kiosk.app.core.printer.jobs()[-1].read_bytes()
    qrs = [item.text for item in printed_items(receipt, printer_profile(kiosk.app.core.config)) if item.kind == "qr"]
    assert qrs[0] == code
    vietqr = parse_payload(qrs[1].encode())
    assert vietqr["kind"] == "vietqr" and vietqr["crc_ok"] and vietqr["amount"] == 8000
    assert vietqr["message"] == fee_message(code)
    kiosk.tap(screen.ids.finish)
    assert kiosk.screen.name == "home" and kiosk.app.core.filing.values == {}


def fill_applicant_from_card(kiosk, screen, proc_id: str) -> None:
    """Open ``proc_id``, scan the applicant's CCCD and answer up to the phone number (the card has none)."""
    screen.intent("open_procedure", proc_id)
    kiosk.frames(1)
    kiosk.tap(screen.ids.start)
    assert screen.take_scan(parse_payload(CCCD.encode()))
    for _ in range(4):  # name, ID, date of birth, address: filled from the card
        kiosk.tap(screen.ids.next)
    assert screen.step.label == "Số điện thoại"
    type_on(kiosk, screen.ids.form_keys, "0912345678")
    kiosk.tap(screen.ids.next)


def test_editing_from_review_returns_to_review(kiosk):
    screen = open_filing(kiosk)
    fill_applicant_from_card(kiosk, screen, "CT05")
    assert screen.state == "review"
    kiosk.frames(2)
    screen.intent("edit", "phone")
    kiosk.frames(2)
    assert screen.state == "form" and screen.step.label == "Số điện thoại"
    type_on(kiosk, screen.ids.form_keys, "⌫" * 10 + "0987654321")
    kiosk.tap(screen.ids.next)
    assert screen.state == "review"
    assert {row["path"]: row["value"] for row in screen.review_rows}["phone"] == "0987654321"


def household_group_question(kiosk):
    """Đăng ký thường trú (a repeated group of household members), on "add another person?"."""
    screen = open_filing(kiosk)
    fill_applicant_from_card(kiosk, screen, "CT01")
    kiosk.frames(2)
    return screen


def add_member(kiosk, screen, name: str, relation: str) -> None:
    kiosk.tap(screen.ids.add_member)
    type_on(kiosk, screen.ids.form_keys, name)
    kiosk.tap(screen.ids.next)
    kiosk.tap(screen.ids.next)  # the ID number is optional: left empty
    type_on(kiosk, screen.ids.form_keys, relation)
    kiosk.tap(screen.ids.next)


def test_household_members_are_added_one_person_at_a_time(kiosk):
    screen = household_group_question(kiosk)
    assert screen.step.kind == "group" and screen.ids.next.text == "Không, tiếp tục"
    assert "đã thêm 0 người" in screen.step.label
    kiosk.screenshot("filing-group-ask")
    kiosk.tap(screen.ids.add_member)
    assert screen.step.label.startswith("Họ và tên — người thứ 1")
    type_on(kiosk, screen.ids.form_keys, "Nguyeenx Minh Anh")
    assert screen.ids.form_keys.text == "Nguyễn Minh Anh"
    kiosk.tap(screen.ids.next)
    assert kiosk.app.core.filing.value("members.0.member_name") == "Nguyễn Minh Anh"
    assert screen.step.label.startswith("Số CCCD — người thứ 1")
    kiosk.tap(screen.ids.next)  # optional: left empty
    assert screen.step.label.startswith("Quan hệ với chủ hộ — người thứ 1")
    kiosk.tap(screen.ids.next)
    assert screen.message == "Vui lòng điền mục này"  # required: the page stays until it is answered
    type_on(kiosk, screen.ids.form_keys, "con")
    kiosk.tap(screen.ids.next)
    assert screen.step.kind == "group" and "đã thêm 1 người" in screen.step.label
    assert screen.step.label.endswith("\n1. Nguyễn Minh Anh") and "không bắt buộc" not in screen.ids.step_label.text
    assert_not_blank(kiosk.screenshot("filing-group-one-member"))


def test_a_member_added_by_mistake_is_removed_with_one_touch(kiosk):
    screen = household_group_question(kiosk)
    add_member(kiosk, screen, "Nguyeenx Minh Anh", "con")
    kiosk.tap(screen.ids.add_member)  # by mistake
    assert screen.step.label.startswith("Họ và tên — người thứ 2")
    assert screen.ids.remove_member.opacity == 1 and screen.ids.remove_member.text == "Bỏ người này"
    assert screen.ids.scan_cccd.opacity == 0
    assert_not_blank(kiosk.screenshot("filing-member-remove"))
    kiosk.tap(screen.ids.remove_member)
    assert screen.step.kind == "group" and screen.step.label.endswith("đã thêm 1 người. Thêm người nữa?\n1. Nguyễn Minh Anh")
    assert [m["member_name"] for m in kiosk.app.core.filing.value("members")] == ["Nguyễn Minh Anh"]
    assert screen.ids.remove_member.opacity == 0
    kiosk.tap(screen.ids.next)
    assert screen.state == "review"
