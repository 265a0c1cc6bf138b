"""The ``raster`` strategy: the whole ticket drawn as one full-width image, then cut.

The last resort (and the baseline in ``bench/ticket_bytes.py``): it needs nothing from the printer but
``GS v 0``, and costs the most bytes. Glyphs are drawn at full resolution with the same sizes the other
strategies use, so a ticket looks the same whichever way it was sent.
"""

from __future__ import annotations

from escpos.printer import Dummy
from PIL import Image

from devices.escpos.bands import Band, TextStyle, qr_band, text_band
from devices.escpos.commands import (
    BAND_GAP_DOTS,
    INIT,
    QR_QUIET_DOTS,
    big_number_size,
    cut,
    new_printer,
    qr_module,
    send_band,
)
from devices.escpos.document import QR, Align, BigNumber, Block, Cut, Divider, Document, Feed, Text
from devices.escpos.layout import wrap
from devices.escpos.profiles import PrinterProfile

LINE_DOTS = 34
"""One text line of a 203 dpi printer (1/6 inch), used for Feed."""
RULE_DOTS = 2


def render_page(doc: Document, profile: PrinterProfile) -> bytes:
    printer = new_printer(profile)
    printer._raw(INIT)
    page = _Page(profile.dots)
    for block in doc:
        if isinstance(block, Cut):
            _flush(printer, page)
            cut(printer, profile, block)
            page = _Page(profile.dots)
        else:
            page.add(block, profile)
    _flush(printer, page)
    return printer.output


def _flush(printer: Dummy, page: _Page) -> None:
    image = page.image()
    if image is not None:
        send_band(printer, Band(image))


class _Page:
    def __init__(self, dots: int) -> None:
        self.dots = dots
        self.strips: list[tuple[Image.Image | None, Align, int]] = []

    def add(self, block: Block, profile: PrinterProfile) -> None:
        match block:
            case Text():
                self._text(block.text, block.align, TextStyle(block.bold, block.width, block.height, False))
            case BigNumber():
                size = big_number_size(block, profile)
                self._blank(LINE_DOTS // 2)
                self._text(block.text, Align.CENTER, TextStyle(True, size, size, False))
                self._blank(LINE_DOTS // 2)
            case QR():
                self._blank(QR_QUIET_DOTS)
                self.strips.append((qr_band(block.data, qr_module(block, profile), False).image, Align.CENTER, 0))
                self._blank(QR_QUIET_DOTS)
            case Divider():
                self._blank(BAND_GAP_DOTS)
                self.strips.append((Image.new("1", (self.dots, RULE_DOTS), 0), Align.LEFT, BAND_GAP_DOTS))
            case Feed():
                self._blank(block.lines * LINE_DOTS)

    def _text(self, text: str, align: Align, style: TextStyle) -> None:
        for line in text.split("\n"):
            for piece in wrap(line, lambda candidate: style.printed_width(candidate) <= self.dots):
                band = text_band(piece, style)
                if band is None:
                    self._blank(LINE_DOTS)
                else:
                    self.strips.append((band.image, align, BAND_GAP_DOTS))

    def _blank(self, rows: int) -> None:
        self.strips.append((None, Align.LEFT, rows))

    def image(self) -> Image.Image | None:
        if all(strip is None for strip, _, _ in self.strips):
            return None
        height = sum((0 if strip is None else strip.height) + gap for strip, _, gap in self.strips)
        page = Image.new("1", (self.dots, height), 1)
        y = 0
        for strip, align, gap in self.strips:
            if strip is not None:
                page.paste(strip, (_x(strip.width, self.dots, align), y))
                y += strip.height
            y += gap
        return page


def _x(width: int, dots: int, align: Align) -> int:
    if align is Align.CENTER:
        return max(0, (dots - width) // 2)
    if align is Align.RIGHT:
        return max(0, dots - width)
    return 0
