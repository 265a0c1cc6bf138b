"""A printable document: a sequence of blocks that says *what* goes on the ticket, not *how* a printer does it.

The same document renders to CP1258 text, to text with raster bands, or to one image (``render.py``), and
its text is NFC so every strategy and every test compares the same strings.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum


class Align(str, Enum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


def _check_multiplier(name: str, value: int) -> None:
    if not 1 <= value <= 8:
        raise ValueError(f"{name} multiplier must be 1-8, got {value}")


@dataclass(frozen=True)
class Text:
    """One paragraph; explicit newlines start new lines and long lines wrap on word boundaries.

    ``width``/``height`` are the printer's character multipliers (``GS !``), 1-8.
    """

    text: str
    align: Align = Align.LEFT
    bold: bool = False
    width: int = 1
    height: int = 1

    def __post_init__(self) -> None:
        _check_multiplier("width", self.width)
        _check_multiplier("height", self.height)
        object.__setattr__(self, "text", unicodedata.normalize("NFC", self.text))


@dataclass(frozen=True)
class BigNumber:
    """The queue number, as large as the paper allows (``size`` 1-8 to fix the multiplier)."""

    text: str
    size: int | None = None

    def __post_init__(self) -> None:
        if self.size is not None:
            _check_multiplier("size", self.size)
        object.__setattr__(self, "text", unicodedata.normalize("NFC", self.text))


@dataclass(frozen=True)
class QR:
    """A QR code; ``size`` is the module size in dots (1-16), ``None`` picks one for the paper width."""

    data: str
    size: int | None = None

    def __post_init__(self) -> None:
        if not self.data:
            raise ValueError("QR data must not be empty")
        if self.size is not None and not 1 <= self.size <= 16:
            raise ValueError(f"QR module size must be 1-16, got {self.size}")


@dataclass(frozen=True)
class Divider:
    """A full-width rule."""


@dataclass(frozen=True)
class Feed:
    lines: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.lines <= 255:
            raise ValueError(f"feed must be 1-255 lines, got {self.lines}")


@dataclass(frozen=True)
class Cut:
    """End of a ticket: cut where the printer has a cutter, otherwise feed to the tear bar."""

    partial: bool = False


Block = Text | BigNumber | QR | Divider | Feed | Cut
Document = Sequence[Block]
