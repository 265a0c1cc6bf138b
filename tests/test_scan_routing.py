"""What the kiosk tells the citizen about a scan: where it goes, and why a refused one was refused, in words."""

from __future__ import annotations

import pytest

from devices.payloads import parse_payload
from kiosk.scan_routing import reasons, refusal, route_scan

SCREENS = {"home", "lookup", "filing"}


@pytest.mark.parametrize(("payload", "vi", "en"), [
    ("000.00.13.H26-251399-0001", "Mã không dùng được: ngày tiếp nhận trong mã không có thật.",
     "This code cannot be used: the date in the code does not exist."),
    ("000-00-13-H26-251124-0001", "Mã không dùng được: phần mã cơ quan không đúng dạng 000.00.00.H00.",
     "This code cannot be used: the agency part is not of the form 000.00.00.H00."),
    ("000.00.13.H26-251124-0001\u200b", "Mã không dùng được: mã có ký tự ẩn hoặc ký tự điều khiển xen vào.",
     "This code cannot be used: the code holds hidden or control characters."),
])
def test_a_refused_code_says_why_in_the_citizens_language(payload, vi, en):
    """GIVEN a malformed code scanned anywhere WHEN it is routed THEN the kiosk stays and words the reason."""
    route = route_scan(parse_payload(payload), SCREENS)
    assert route.screen is None
    assert (route.text("vi"), route.text("en")) == (vi, en)


@pytest.mark.parametrize("payload", ["hello", b"", b"\x00\r\n"])
def test_something_that_is_no_code_at_all_gets_the_general_hint(payload):
    route = route_scan(parse_payload(payload), SCREENS)
    assert route.message_key == "scan.unknown" and refusal(parse_payload(payload)) is None
    assert route.text("vi").startswith("Mã không hợp lệ. Hãy đưa mã QR")


def test_a_valid_code_opens_the_lookup_and_a_card_is_only_acknowledged():
    dossier = route_scan(parse_payload("000.00.13.h26-251124-0001\r\n"), SCREENS)
    assert (dossier.screen, dossier.text("vi")) == ("lookup", "Đã đọc mã hồ sơ 000.00.13.H26-251124-0001")
    card = parse_payload("001090012345|123456789|Nguyễn Văn An|01011990|NAM|Hà Nội|15082021")
    assert card["valid"] is False and route_scan(card, SCREENS).message_key == "scan.cccd"


def test_a_damaged_card_lists_every_reason_in_one_line():
    card = parse_payload("001090012345|12345|Nguyễn Văn An|01011990|nam|Hà Nội|15082021")
    assert reasons(card["problems"], "vi") == ("số CMND cũ phải gồm 9 hoặc 12 chữ số; "
                                              "giới tính phải là Nam hoặc Nữ như in trên thẻ")
    assert refusal(card, "filing.cccd_bad").text("vi") == (
        "Không đọc được thẻ CCCD (số CMND cũ phải gồm 9 hoặc 12 chữ số; giới tính phải là Nam hoặc Nữ như in trên "
        "thẻ). Vui lòng quét lại hoặc tự nhập.")
