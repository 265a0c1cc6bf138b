"""The ESC/POS preview: QR codes scan from the picture, text decodes, cuts show, and no byte stream breaks it."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from devices.escpos.paper import MAX_HEIGHT
from devices.escpos.preview import preview_image, preview_png, printed_items
from devices.escpos.profiles import PrinterProfile, VietnameseCodepage, load_profile
from devices.escpos.render import Strategy, render
from devices.escpos.sample import SAMPLE_URL, sample_ticket
from devices.escpos.vietnamese import encode_cp1258
from tests.support import ARTIFACTS

CP1258_AT_52 = VietnameseCodepage(codepage="cp1258", esc_t=52)


def _variant(name: str, **changes: object) -> PrinterProfile:
    return load_profile(name).model_copy(update=changes)


TICKETS = [
    ("80-codepage-native-qr", _variant("generic-80", vietnamese=CP1258_AT_52), Strategy.CODEPAGE),
    ("80-hybrid-native-qr", load_profile("generic-80"), Strategy.HYBRID),
    ("80-hybrid-raster-qr", _variant("generic-80", native_qr=False), Strategy.HYBRID),
    ("80-raster", load_profile("generic-80"), Strategy.RASTER),
    ("58-codepage-raster-qr", _variant("xprinter-xp58", vietnamese=CP1258_AT_52), Strategy.CODEPAGE),
    ("58-hybrid-native-qr", load_profile("generic-58"), Strategy.HYBRID),
    ("58-hybrid-raster-qr", load_profile("xprinter-xp58"), Strategy.HYBRID),
    ("58-raster", load_profile("generic-58"), Strategy.RASTER),
    ("tm-t88-codepage", load_profile("epson-tm-t88"), Strategy.CODEPAGE),
]


@pytest.mark.parametrize(("label", "profile", "strategy"), TICKETS, ids=[t[0] for t in TICKETS])
def test_sample_ticket_qr_scans_from_the_preview(label: str, profile: PrinterProfile, strategy: Strategy) -> None:
    image = preview_image(render(sample_ticket(), profile, strategy), profile)
    (ARTIFACTS / "tickets").mkdir(parents=True, exist_ok=True)
    image.save(ARTIFACTS / "tickets" / f"{label}.png")
    assert image.width == profile.dots
    assert [code.text for code in zxingcpp.read_barcodes(image)] == [SAMPLE_URL]


def test_preview_png_is_a_png_of_the_paper_width() -> None:
    profile = load_profile("generic-58")
    image = Image.open(io.BytesIO(preview_png(render(sample_ticket(), profile), profile)))
    assert image.format == "PNG" and image.width == 384


def test_vietnamese_slot_decodes_cp1258_with_combining_marks() -> None:
    profile = load_profile("sim")
    items = printed_items(b"\x1b@\x1bt\x34" + encode_cp1258("Giờ lấy số") + b"\n", profile)
    assert [item.text for item in items] == ["Giờ lấy số"]


def test_same_slot_on_a_printer_without_cp1258_is_not_vietnamese() -> None:
    items = printed_items(b"\x1bt\x34" + encode_cp1258("Giờ") + b"\n", load_profile("generic-80"))
    assert items[0].text != "Giờ"


def test_init_resets_the_code_page() -> None:
    data = b"\x1bt\x34" + bytes([0xF0]) + b"\n\x1b@" + bytes([0xF0]) + b"\n"
    texts = [item.text for item in printed_items(data, load_profile("sim"))]
    assert texts == ["đ", bytes([0xF0]).decode("cp437")]


def test_status_queries_print_nothing() -> None:
    data = b"\x10\x04\x01\x10\x04\x04\x1dr\x01Quay 3\n"
    assert [item.text for item in printed_items(data, load_profile("generic-80"))] == ["Quay 3"]


def test_text_wider_than_the_paper_wraps_like_a_printer() -> None:
    items = printed_items(b"x" * 40 + b"\n", load_profile("generic-58"))
    assert [len(item.text) for item in items] == [32, 8]


@pytest.mark.parametrize(
    ("data", "kinds"), [(b"\x1dV\x00", ["cut"]), (b"\x1dVA\x10", ["cut"]), (b"\x1dV\x01ab\n", ["cut", "text"])]
)
def test_cut_commands_are_recognised_with_their_lengths(data: bytes, kinds: list[str]) -> None:
    assert [item.kind for item in printed_items(data, load_profile("generic-80"))] == kinds


def test_cut_draws_a_dashed_line() -> None:
    image = preview_image(b"\x1dV\x00", load_profile("generic-80"))
    rows = [[image.getpixel((x, y)) for x in range(image.width)] for y in range(image.height)]
    dashed = [row for row in rows if 0 < row.count(0) < len(row)]
    assert dashed, "some row has both ink and paper"


def test_truncated_raster_prints_the_rows_that_arrived() -> None:
    header = b"\x1dv0\x00\x02\x00\x64\x00"  # 2 bytes wide, 100 rows declared
    items = printed_items(header + b"\xff\xff" * 10, load_profile("generic-80"))
    assert [(item.kind, item.size) for item in items] == [("raster", (16, 10))]


@pytest.mark.parametrize(("mode", "size"), [(0, (16, 4)), (1, (32, 4)), (2, (16, 8)), (3, (32, 8))])
def test_raster_scale_modes(mode: int, size: tuple[int, int]) -> None:
    data = b"\x1dv0" + bytes([mode, 2, 0, 4, 0]) + b"\xaa\x55" * 4
    assert printed_items(data, load_profile("generic-80"))[0].size == size


def test_endless_feeds_stop_at_the_paper_limit() -> None:
    image = preview_image(b"\x1bd\xff" * 10_000, load_profile("generic-80"))
    assert image.height <= MAX_HEIGHT


PREFIXES = [b"", b"\x1b@", b"\x1bt\x34", b"\x1dv0", b"\x1d(k", b"\x1b*!", b"\x1dk\x02", b"\x1d!\x77"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.sampled_from(PREFIXES), data=st.binary(max_size=600))
def test_preview_survives_any_bytes(prefix: bytes, data: bytes) -> None:
    profile = load_profile("sim")
    image = preview_image(prefix + data, profile)
    assert image.width == profile.dots and 1 <= image.height <= MAX_HEIGHT
