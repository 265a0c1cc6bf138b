"""Render a document to the ESC/POS bytes of one print job: ``render(doc, profile) -> bytes``, a pure function.

The profile decides how Vietnamese reaches paper (``choose_strategy``):

- ``codepage`` — the printer has CP1258: all text as CP1258 bytes after one ``ESC t n``; a ticket is ~300 B.
- ``hybrid`` — no Vietnamese code page: ASCII-only lines stay printer text; each line with diacritics becomes a
  1-bit band cropped to the text's width (not the paper's), positioned with ``ESC a`` and sent with ``GS v 0``.
- ``raster`` — the whole ticket as one image; the last resort, for printers without usable text.

QR codes are printer-native (``GS ( k``) when the profile has it, an image otherwise. Standard commands come
from python-escpos's ``Dummy`` printer; encoded text is written with ``_raw``, never through its encoder
(it prints "?" for most toned Vietnamese letters).
"""

from __future__ import annotations

from enum import Enum

from escpos.constants import QR_ECLEVEL_M

from devices.escpos.bands import TextStyle, qr_band, text_band
from devices.escpos.commands import (
    BAND_GAP_DOTS,
    ESC,
    INIT,
    QR_QUIET_DOTS,
    big_number_size,
    cut,
    new_printer,
    qr_module,
    send_band,
)
from devices.escpos.document import QR, Align, BigNumber, Block, Cut, Divider, Document, Feed, Text
from devices.escpos.layout import wrap, wrap_columns
from devices.escpos.page import render_page
from devices.escpos.profiles import PrinterProfile
from devices.escpos.vietnamese import encode_cp1258, needs_vietnamese


class Strategy(str, Enum):
    CODEPAGE = "codepage"
    HYBRID = "hybrid"
    RASTER = "raster"


class StrategyUnavailable(ValueError):
    """The requested strategy needs a capability the printer profile does not have."""


def choose_strategy(profile: PrinterProfile) -> Strategy:
    """The cheapest strategy that prints correct Vietnamese on this printer."""
    if profile.text and profile.vietnamese is not None:
        return Strategy.CODEPAGE
    if profile.text and profile.raster:
        return Strategy.HYBRID
    return Strategy.RASTER


def check_strategy(strategy: Strategy, profile: PrinterProfile) -> None:
    needs = {
        Strategy.CODEPAGE: profile.text and profile.vietnamese is not None,
        Strategy.HYBRID: profile.text and profile.raster,
        Strategy.RASTER: profile.raster,
    }
    if not needs[strategy]:
        raise StrategyUnavailable(f"printer profile {profile.name!r} cannot print as {strategy.value!r}")


def render(doc: Document, profile: PrinterProfile, strategy: Strategy | None = None) -> bytes:
    strategy = strategy or choose_strategy(profile)
    check_strategy(strategy, profile)
    if strategy is Strategy.RASTER:
        return render_page(doc, profile)
    job = TextJob(profile, codepage=strategy is Strategy.CODEPAGE)
    for block in doc:
        job.add(block)
    return job.output


class TextJob:
    """Builds a text-based job, sending style commands only when the style changes (the state after ``ESC @``)."""

    def __init__(self, profile: PrinterProfile, *, codepage: bool) -> None:
        self.profile = profile
        self.codepage = codepage
        self.printer = new_printer(profile)
        self.printer._raw(INIT)
        if codepage and profile.vietnamese is not None:
            self.printer._raw(ESC + b"t" + bytes([profile.vietnamese.esc_t]))
        self._align = Align.LEFT
        self._bold = False
        self._size = (1, 1)

    @property
    def output(self) -> bytes:
        return self.printer.output

    def add(self, block: Block) -> None:
        match block:
            case Text():
                self._text(block)
            case BigNumber():
                size = big_number_size(block, self.profile)
                self._text(Text(block.text, Align.CENTER, bold=True, width=size, height=size))
            case QR():
                self._qr(block)
            case Divider():
                self._line("-" * self.profile.columns, Align.LEFT, False, (1, 1))
            case Feed():
                self.printer.print_and_feed(block.lines)
            case Cut():
                cut(self.printer, self.profile, block)

    def _text(self, block: Text) -> None:
        size = (block.width, block.height)
        for line in block.text.split("\n"):
            if self.codepage or not needs_vietnamese(line):
                for piece in wrap_columns(line, self.profile.columns // block.width):
                    self._line(piece, block.align, block.bold, size)
            else:
                self._bands(line, block)

    def _line(self, line: str, align: Align, bold: bool, size: tuple[int, int]) -> None:
        self._style(align, bold, size)
        encoded = encode_cp1258(line) if self.codepage else line.encode("ascii")
        self.printer._raw(encoded + b"\n")

    def _bands(self, line: str, block: Text) -> None:
        style = TextStyle(bold=block.bold, width=block.width, height=block.height)
        for piece in wrap(line, lambda text: style.printed_width(text) <= self.profile.dots):
            band = text_band(piece, style)
            if band is None:
                self.printer._raw(b"\n")
                continue
            self._style(block.align, self._bold, self._size)
            send_band(self.printer, band)
            self.printer._raw(ESC + b"J" + bytes([BAND_GAP_DOTS]))

    def _qr(self, block: QR) -> None:
        module = qr_module(block, self.profile)
        self._style(Align.CENTER, self._bold, self._size)
        self.printer._raw(ESC + b"J" + bytes([QR_QUIET_DOTS]))
        if self.profile.native_qr:
            self.printer.qr(block.data, ec=QR_ECLEVEL_M, size=module, native=True)
        else:
            send_band(self.printer, qr_band(block.data, module))
        self.printer._raw(ESC + b"J" + bytes([QR_QUIET_DOTS]))

    def _style(self, align: Align, bold: bool, size: tuple[int, int]) -> None:
        if align != self._align:
            self.printer.set(align=align.value)
            self._align = align
        if bold != self._bold:
            self.printer.set(bold=bold)
            self._bold = bold
        if size != self._size:
            self.printer.set(custom_size=True, width=size[0], height=size[1])
            self._size = size
