"""Rendering documents to ESC/POS: exact bytes for small documents, strategy per profile, Vietnamese placement,
wrapping, and the sample ticket's size in every strategy."""

from __future__ import annotations

import unicodedata

import pytest
from escpos.printer import Dummy

from devices.escpos.document import QR, Align, BigNumber, Cut, Divider, Feed, Text
from devices.escpos.preview import printed_items
from devices.escpos.profiles import PrinterProfile, VietnameseCodepage, load_profile
from devices.escpos.render import Strategy, StrategyUnavailable, choose_strategy, render
from devices.escpos.sample import SAMPLE_SERVICE, sample_ticket
from devices.escpos.vietnamese import encode_cp1258, needs_vietnamese

INIT = b"\x1b@"
CP1258_AT_52 = VietnameseCodepage(codepage="cp1258", esc_t=52)
LONG_SERVICE = (
    "Đăng ký thường trú cho người chưa thành niên tại nơi cư trú"
    " của cha mẹ hoặc người giám hộ theo quy định"
)


def with_codepage(name: str) -> PrinterProfile:
    return load_profile(name).model_copy(update={"vietnamese": CP1258_AT_52})


def recorded(*commands: str, **kwargs: object) -> bytes:
    printer = Dummy()
    for command in commands:
        getattr(printer, command)(**kwargs)
    return printer.output


@pytest.fixture
def generic80() -> PrinterProfile:
    return load_profile("generic-80")


def test_cut_is_python_escpos_feed_and_full_cut(generic80: PrinterProfile) -> None:
    output = render([Cut()], generic80)
    assert output == INIT + recorded("cut")
    assert output.endswith(b"\x1dV\x00")


def test_partial_cut(generic80: PrinterProfile) -> None:
    assert render([Cut(partial=True)], generic80) == INIT + recorded("cut", mode="PART")


def test_cut_without_cutter_feeds_to_the_tear_bar() -> None:
    output = render([Cut()], load_profile("generic-58"))
    assert b"\x1dV" not in output
    assert output == INIT + b"\x1bd\x04"


@pytest.mark.parametrize(("align", "byte"), [(Align.CENTER, 1), (Align.RIGHT, 2)])
def test_alignment_is_esc_a_before_the_line(generic80: PrinterProfile, align: Align, byte: int) -> None:
    assert render([Text("Hello", align)], generic80) == INIT + b"\x1ba" + bytes([byte]) + b"Hello\n"


def test_left_aligned_plain_text_needs_no_style_commands(generic80: PrinterProfile) -> None:
    assert render([Text("Quay 3"), Feed(2)], generic80) == INIT + b"Quay 3\n" + b"\x1bd\x02"


def test_style_is_sent_only_when_it_changes(generic80: PrinterProfile) -> None:
    doc = [Text("A", bold=True, width=2, height=3), Text("B", bold=True, width=2, height=3), Text("C")]
    expected = INIT + b"\x1bE\x01" + b"\x1d!\x12" + b"A\n" + b"B\n" + b"\x1bE\x00" + b"\x1d!\x00" + b"C\n"
    assert render(doc, generic80) == expected


def test_divider_spans_the_columns(generic80: PrinterProfile) -> None:
    assert render([Divider()], generic80) == INIT + b"-" * 48 + b"\n"


def test_native_qr_uses_gs_paren_k(generic80: PrinterProfile) -> None:
    output = render([QR("http://x/t/1", size=6)], generic80)
    printer = Dummy()
    printer.qr("http://x/t/1", size=6, ec=1, native=True)
    assert printer.output in output
    assert b"\x1dv0" not in output


def test_qr_without_native_support_is_a_raster_image() -> None:
    output = render([QR("http://x/t/1")], load_profile("xprinter-xp58"))
    assert b"\x1d(k" not in output
    assert [item.kind for item in printed_items(output, load_profile("xprinter-xp58"))] == ["raster"]


def test_rendering_prints_nothing_to_stdout(generic80: PrinterProfile, capsys: pytest.CaptureFixture[str]) -> None:
    render(sample_ticket(), generic80)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("name", "strategy"),
    [
        ("generic-58", Strategy.HYBRID),
        ("generic-80", Strategy.HYBRID),
        ("xprinter-xp58", Strategy.HYBRID),
        ("xprinter-xp80", Strategy.HYBRID),
        ("epson-tm-t82", Strategy.CODEPAGE),
        ("epson-tm-t88", Strategy.CODEPAGE),
        ("sim", Strategy.CODEPAGE),
    ],
)
def test_strategy_follows_the_profile(name: str, strategy: Strategy) -> None:
    assert choose_strategy(load_profile(name)) is strategy


def test_printer_without_text_gets_the_whole_ticket_as_an_image(generic80: PrinterProfile) -> None:
    profile = generic80.model_copy(update={"text": False})
    assert choose_strategy(profile) is Strategy.RASTER
    kinds = [item.kind for item in printed_items(render(sample_ticket(), profile), profile)]
    assert kinds == ["raster", "cut"]


def test_codepage_strategy_needs_a_vietnamese_code_page(generic80: PrinterProfile) -> None:
    with pytest.raises(StrategyUnavailable):
        render(sample_ticket(), generic80, Strategy.CODEPAGE)


def test_codepage_mode_selects_the_code_page_once_after_init() -> None:
    profile = load_profile("epson-tm-t88")
    output = render(sample_ticket() + sample_ticket(), profile)
    assert output.startswith(INIT + b"\x1bt\x34")
    assert output.count(b"\x1bt") == 1


def test_codepage_text_decodes_back_to_the_same_nfc_string() -> None:
    profile = load_profile("epson-tm-t88")
    output = render(sample_ticket(), profile)
    assert encode_cp1258(SAMPLE_SERVICE) + b"\n" in output
    start = output.index(encode_cp1258(SAMPLE_SERVICE))
    raw = output[start : output.index(b"\n", start)]
    assert unicodedata.normalize("NFC", raw.decode("cp1258")) == SAMPLE_SERVICE
    assert SAMPLE_SERVICE in [item.text for item in printed_items(output, profile)]
    assert b"\x1dv0" not in output, "code-page mode needs no raster at all"


@pytest.mark.parametrize("name", ["generic-80", "generic-58"])
def test_hybrid_rasters_exactly_the_lines_with_diacritics(name: str) -> None:
    profile = load_profile(name)
    doc = sample_ticket()
    items = [item for item in printed_items(render(doc, profile), profile) if item.kind != "cut"]
    texts = [item.text for item in items if item.kind == "text"]
    assert all(text.isascii() for text in texts)
    assert "A012" in texts, "an ASCII big number stays printer text"
    assert "-" * profile.columns in texts
    lines = [b for b in doc if isinstance(b, Text)]
    expected_bands = [line for line in lines if needs_vietnamese(line.text)]
    bands = [item for item in items if item.kind == "raster"]
    assert len(bands) >= len(expected_bands) == len(lines)
    assert all(width < profile.dots for width, _ in (band.size for band in bands)), "bands are cropped to the text"


def test_hybrid_keeps_ascii_lines_as_text_between_bands(generic80: PrinterProfile) -> None:
    doc = [Text("Quầy số 3", Align.CENTER), Text("Counter 3", Align.CENTER), Text("Đã gọi", Align.CENTER)]
    items = printed_items(render(doc, generic80), generic80)
    assert [(item.kind, item.text) for item in items] == [("raster", ""), ("text", "Counter 3"), ("raster", "")]


def test_non_ascii_big_number_is_a_band_in_hybrid(generic80: PrinterProfile) -> None:
    items = printed_items(render([BigNumber("Ư012")], generic80), generic80)
    assert [item.kind for item in items] == ["raster"]
    assert items[0].size[1] > 100, "the number stays very large"


@pytest.mark.parametrize("name", ["generic-58", "epson-tm-t88"])
def test_long_service_name_wraps_in_codepage_mode_without_losing_words(name: str) -> None:
    profile = with_codepage(name)
    text = Text(LONG_SERVICE, Align.CENTER, bold=True, width=2, height=2)
    lines = [item.text for item in printed_items(render([text], profile), profile)]
    assert len(lines) > 2
    assert all(len(line) <= profile.columns // 2 for line in lines)
    assert " ".join(lines) == LONG_SERVICE


@pytest.mark.parametrize("name", ["generic-58", "generic-80"])
def test_long_service_name_wraps_into_bands_that_fit_the_paper(name: str) -> None:
    profile = load_profile(name)
    text = Text(LONG_SERVICE, Align.CENTER, bold=True, width=2, height=2)
    bands = printed_items(render([text], profile), profile)
    assert len(bands) > 2
    assert all(band.kind == "raster" and band.size[0] <= profile.dots for band in bands)


def test_a_word_longer_than_the_line_is_broken_not_dropped(generic80: PrinterProfile) -> None:
    word = "X" * 60
    lines = [item.text for item in printed_items(render([Text(word)], generic80), generic80)]
    assert "".join(lines) == word and len(lines) == 2


SIZE_CASES = [
    (58, Strategy.CODEPAGE, with_codepage("generic-58")),
    (58, Strategy.HYBRID, load_profile("generic-58")),
    (58, Strategy.RASTER, load_profile("generic-58")),
    (80, Strategy.CODEPAGE, with_codepage("generic-80")),
    (80, Strategy.HYBRID, load_profile("generic-80")),
    (80, Strategy.RASTER, load_profile("generic-80")),
]


@pytest.mark.parametrize(("width", "strategy", "profile"), SIZE_CASES, ids=lambda v: getattr(v, "value", v))
def test_sample_ticket_size_per_strategy(width: int, strategy: Strategy, profile: PrinterProfile) -> None:
    size = len(render(sample_ticket(), profile, strategy))
    print(f"{width} mm {strategy.value}: {size} B")
    limit = {Strategy.CODEPAGE: 600, Strategy.HYBRID: 6 * 1024, Strategy.RASTER: 48 * 1024}[strategy]
    assert size <= limit


@pytest.mark.parametrize("width", [58, 80])
def test_strategies_are_ordered_by_cost(width: int) -> None:
    sizes = {s: len(render(sample_ticket(), p, s)) for w, s, p in SIZE_CASES if w == width}
    assert sizes[Strategy.CODEPAGE] * 5 < sizes[Strategy.HYBRID] < sizes[Strategy.RASTER] / 5


def test_hybrid_80mm_ticket_meets_the_issue_goal(generic80: PrinterProfile) -> None:
    size = len(render(sample_ticket(), generic80, Strategy.HYBRID))
    seconds_at_115200 = size / (115_200 / 10)
    assert size <= 6 * 1024 and seconds_at_115200 < 0.6


def test_render_is_pure(generic80: PrinterProfile) -> None:
    assert render(sample_ticket(), generic80) == render(sample_ticket(), generic80)
