"""The paper the preview draws on: a roll of the profile's dot width that grows downwards, and printer-font text.

Everything placed is an *ink mask* (mode ``1``, 1 = ink) so overlapping prints add ink like a thermal head
does. Built-in fonts are imitated with Noto Sans drawn into the printer's character cells (font A 12x24,
font B 9x17) and scaled by the ``GS !`` multipliers with nearest neighbour, as the printer scales its bitmaps.
The roll stops at ``MAX_HEIGHT`` so a hostile byte stream cannot make an enormous image.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import qrcode
from PIL import Image, ImageDraw

from devices.escpos.bands import THRESHOLD, font

MAX_HEIGHT = 20_000
CUT_DOTS = 12
FONT_CELLS = {False: (12, 24), True: (9, 17)}
"""Cell size by "font B selected"."""
GLYPH_PX = {False: 20, True: 14}
OVERHANG = 6
"""Extra rows above the cell: stacked tone marks on capitals rise above a 24-dot cell, as on real printers."""


@dataclass(frozen=True)
class TextStyle:
    bold: bool = False
    underline: bool = False
    width: int = 1
    height: int = 1
    font_b: bool = False


def clusters(text: str) -> list[str]:
    """Printer cells: each base character with the combining marks that follow it (left over after NFC)."""
    cells: list[str] = []
    for char in text:
        if cells and unicodedata.combining(char):
            cells[-1] += char
        else:
            cells.append(char)
    return cells


def cell_size(style: TextStyle) -> tuple[int, int]:
    width, height = FONT_CELLS[style.font_b]
    return width * style.width, (height + OVERHANG) * style.height


@lru_cache(maxsize=2048)
def cell_mask(cluster: str, style: TextStyle) -> Image.Image:
    """One character cell as an ink mask, wide glyphs squeezed into the fixed cell like a bitmap font."""
    width, height = FONT_CELLS[style.font_b]
    face = font(GLYPH_PX[style.font_b], bold=style.bold)
    advance = max(width, round(face.getlength(cluster)))
    gray = Image.new("L", (advance, height + OVERHANG), 0)
    ImageDraw.Draw(gray).text((advance / 2, height - 5 + OVERHANG), cluster, font=face, fill=255, anchor="ms")
    if advance > width:
        gray = gray.resize((width, gray.height), Image.Resampling.BOX)
    if style.underline:
        ImageDraw.Draw(gray).line([(0, gray.height - 2), (width, gray.height - 2)], fill=255, width=2)
    mask = gray.point(lambda value: 255 if value >= THRESHOLD else 0).convert("1")
    if style.width == 1 and style.height == 1:
        return mask
    return mask.resize((mask.width * style.width, mask.height * style.height), Image.Resampling.NEAREST)


def qr_mask(data: bytes, module: int, error_correction: int) -> Image.Image | None:
    """What ``GS ( k`` print draws; ``None`` when the stored data cannot form a symbol (empty or too long)."""
    if not data:
        return None
    code = qrcode.QRCode(error_correction=error_correction, box_size=max(1, module), border=0)
    code.add_data(data)
    try:
        code.make(fit=True)
    except qrcode.exceptions.DataOverflowError:
        return None
    matrix = code.get_matrix()
    size = len(matrix)
    small = Image.new("1", (size, size), 0)
    small.putdata([1 if dark else 0 for row in matrix for dark in row])
    return small.resize((size * module, size * module), Image.Resampling.NEAREST)


class Paper:
    def __init__(self, dots: int) -> None:
        self.dots = dots
        self.y = 0
        self._marks: list[tuple[Image.Image, int, int]] = []

    @property
    def full(self) -> bool:
        return self.y >= MAX_HEIGHT

    def place(self, mask: Image.Image, x: int, advance: int | None = None) -> None:
        """Put ``mask`` at the current line, ``x`` dots from the left, then move the paper on."""
        if not self.full:
            self._marks.append((mask, x, self.y))
        self.feed(mask.height if advance is None else advance)

    def feed(self, dots: int) -> None:
        self.y = min(MAX_HEIGHT, self.y + max(0, dots))

    def cut_line(self) -> None:
        dashes = Image.new("1", (self.dots, 2), 0)
        draw = ImageDraw.Draw(dashes)
        for x in range(0, self.dots, 16):
            draw.line([(x, 0), (x + 8, 0)], fill=1, width=2)
        self.feed(CUT_DOTS // 2)
        self.place(dashes, 0, advance=CUT_DOTS // 2)

    def image(self) -> Image.Image:
        height = max([self.y] + [min(MAX_HEIGHT, y + mask.height) for mask, _, y in self._marks] + [1])
        page = Image.new("L", (self.dots, height), 255)
        for mask, x, y in self._marks:
            page.paste(0, (x, y), mask)
        return page
