"""Raster pieces of a ticket: text drawn with Noto Sans into 1-bit bands cropped to the ink, and QR codes.

A band is what ``GS v 0`` prints: a 1-bit image (0 = ink, PIL's convention) plus the printer-side scale
(``GS v 0``'s ``m``: each bit printed 1 or 2 dots wide/high). Text bands are drawn at half horizontal
resolution and printed double width: that halves the bytes, and Noto Sans Bold stays crisp and its tone marks
unambiguous at 24 px, where a full-resolution band would blow the ~6 KB ticket budget. Thresholding (not
dithering) keeps glyph edges clean on thermal paper. QR codes with an even module size are sent at half size
and doubled both ways, which is lossless for square modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path(__file__).resolve().parents[2] / "assets" / "fonts"
BODY_PX = 24
"""Font size of 1x1 raster text: Noto's cap height then matches the printer's 12x24 font A (~17 dots)."""
THRESHOLD = 128
QR_ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M


@dataclass(frozen=True)
class Band:
    image: Image.Image
    scale_x: int = 1
    scale_y: int = 1


@lru_cache(maxsize=32)
def font(px: int, bold: bool = True) -> ImageFont.FreeTypeFont:
    name = "NotoSans-Bold.ttf" if bold else "NotoSans-Regular.ttf"
    return ImageFont.truetype(str(FONT_DIR / name), px)


@dataclass(frozen=True)
class TextStyle:
    """How one line of raster text is drawn: glyph size from the ``GS !``-style multipliers, plus printer scale."""

    bold: bool
    width: int = 1
    height: int = 1
    printer_scaled: bool = True

    @property
    def scale(self) -> tuple[int, int]:
        if not self.printer_scaled:
            return 1, 1
        return 2, 2 if self.height >= 2 else 1

    @property
    def px(self) -> int:
        return round(BODY_PX * self.height / self.scale[1])

    @property
    def stretch(self) -> float:
        """Horizontal resize of the drawn text so the printed glyphs get the requested width/height ratio."""
        scale_x, scale_y = self.scale
        return self.width / self.height * scale_y / scale_x

    @property
    def face(self) -> ImageFont.FreeTypeFont:
        # Bands printed at half horizontal resolution need bold strokes to survive; full resolution can honour it.
        return font(self.px, bold=self.bold or self.printer_scaled)

    def printed_width(self, text: str) -> float:
        return self.face.getlength(text) * self.stretch * self.scale[0]


def text_band(text: str, style: TextStyle) -> Band | None:
    """``text`` on one line, cropped to its ink; ``None`` when nothing would be printed (blank text)."""
    face = style.face
    left, top, right, bottom = face.getbbox(text)
    if right <= left or bottom <= top:
        return None
    canvas = Image.new("L", (right - left + 4, bottom - top + 4), 255)
    ImageDraw.Draw(canvas).text((2 - left, 2 - top), text, font=face, fill=0)
    if style.stretch != 1:
        canvas = canvas.resize((max(1, round(canvas.width * style.stretch)), canvas.height), Image.Resampling.BOX)
    return _crop_to_ink(_threshold(canvas), *style.scale)


def qr_band(data: str, module: int, printer_scaled: bool = True) -> Band:
    """The QR symbol without quiet zone: the paper around it is white and the caller feeds above and below."""
    code = qrcode.QRCode(error_correction=QR_ERROR_CORRECTION, box_size=1, border=0)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()
    size = len(matrix)
    image = Image.new("1", (size, size), 1)
    image.putdata([0 if dark else 1 for row in matrix for dark in row])
    scale = 2 if printer_scaled and module % 2 == 0 else 1
    box = module // scale
    return Band(image.resize((size * box, size * box), Image.Resampling.NEAREST), scale, scale)


def _threshold(gray: Image.Image) -> Image.Image:
    return gray.point(lambda value: 0 if value < THRESHOLD else 255).convert("1", dither=Image.Dither.NONE)


def _crop_to_ink(image: Image.Image, scale_x: int, scale_y: int) -> Band | None:
    ink = Image.eval(image.convert("L"), lambda value: 255 - value).getbbox()
    if ink is None:
        return None
    return Band(image.crop(ink), scale_x, scale_y)
