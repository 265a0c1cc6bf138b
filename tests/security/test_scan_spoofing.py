"""Scanned payloads that read one way to a person and another to the kiosk are refused, never "cleaned".

Attack (issue 19): the parser stripped control characters anywhere, ignored invisible ones, cut a code out of a
longer string and trusted a VietQR whose CRC was right. So a QR could carry a name with a right-to-left override
or a zero-width space (the filing form took a name that is not the one printed), a label or trailing text around
a dossier code, or a payment code for another currency that the kiosk called valid.
"""

from __future__ import annotations

import pytest

from contracts.vietqr import crc16_ccitt
from devices.payloads import parse_payload

CARD = "001090012345|123456789|Nguyễn Văn An|01011990|Nam|Số 1 Hàng Bạc, Hoàn Kiếm, Hà Nội|15082021"


@pytest.mark.parametrize("spoofed", [
    CARD.replace("Nguyễn Văn An", "Nguyễn Văn\x00An"),  # a NUL that used to be deleted, joining two words
    CARD.replace("Nguyễn Văn An", "Nguyễn \u202enA năV"),  # shows as "Nguyễn Văn An", reads "nA năV"
    CARD.replace("Nguyễn Văn An", "Nguyễn Văn\u200b An"),  # a zero-width space inside the name
    CARD.replace("Nguyễn Văn An", "Nguyễn Văn \u0410n"),  # a Cyrillic А that looks like a Latin A
    CARD.replace("Hàng Bạc", "Hàng \u202ecạB"),  # an address that shows one street and reads another
])
def test_a_card_whose_text_differs_from_what_is_printed_fills_nothing(spoofed):
    """GIVEN a CCCD QR with an invisible or look-alike character WHEN scanned THEN it is a card, and invalid."""
    result = parse_payload(spoofed)
    assert result["kind"] == "cccd" and result["valid"] is False and result["problems"]


@pytest.mark.parametrize("payload", [
    "000-00-13-H26-251124-0001",  # used to be read as the code H26-251124-0001
    "000.00.13.H26-251124-0001' OR '1'='1",
    "Mã hồ sơ: 000.00.13.H26-251124-0001",
    "000.00.13.H26-251124-0001\n000.00.13.H26-251124-0002",  # two codes: which one would be looked up?
])
def test_a_code_is_never_cut_out_of_a_longer_string(payload):
    assert parse_payload(payload)["kind"] == "unknown"


def test_a_payment_code_with_a_right_crc_and_an_impossible_field_is_invalid():
    """GIVEN a VietQR in US dollars with a freshly computed CRC WHEN scanned THEN crc_ok but not valid."""
    body = "00020101021238570010A00000072701270006970436011300110012345670208QRIBFTTA5303840540510.005802VN6304"
    result = parse_payload(body + f"{crc16_ccitt(body.encode()):04X}")
    assert result["crc_ok"] is True
    assert result["valid"] is False and "vietqr_currency" in result["problems"]
