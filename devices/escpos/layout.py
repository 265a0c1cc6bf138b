"""Line wrapping for every strategy: greedy on word boundaries, breaking a word only when it alone is too long.

Printer text is measured in columns, raster text in dots; both come down to "does this line fit", so the
wrapper takes that test as a function. Nothing is ever cut off: a service name longer than the paper wraps.
"""

from __future__ import annotations

from collections.abc import Callable


def wrap(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Lines of ``text`` (explicit newlines kept) that each satisfy ``fits`` where at all possible."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(_wrap_paragraph(paragraph, fits))
    return lines


def wrap_columns(text: str, columns: int) -> list[str]:
    return wrap(text, lambda line: len(line) <= columns)


def _wrap_paragraph(paragraph: str, fits: Callable[[str], bool]) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in paragraph.split():
        candidate = f"{current} {word}" if current else word
        if fits(candidate):
            current = candidate
            continue
        if current:
            lines.append(current)
        pieces = _break_word(word, fits)
        lines.extend(pieces[:-1])
        current = pieces[-1]
    lines.append(current)
    return lines


def _break_word(word: str, fits: Callable[[str], bool]) -> list[str]:
    """Split a word that does not fit on an empty line; one character per line at worst, never an empty piece."""
    pieces: list[str] = []
    piece = ""
    for char in word:
        if piece and not fits(piece + char):
            pieces.append(piece)
            piece = ""
        piece += char
    pieces.append(piece)
    return pieces
