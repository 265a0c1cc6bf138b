"""Vietnamese text helpers: NFC normalisation and accent folding for search ("ho tich" finds "Hộ tịch")."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower-case, strip every diacritic (đ → d) and collapse white space."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return _SPACES.sub(" ", stripped).strip().casefold()


def mask_name(name: str | None) -> str | None:
    """"Nguyễn Văn An" → "Nguyễn V. A.": enough for the citizen to recognise, too little to identify."""
    if not name:
        return None
    parts = name.split()
    return " ".join([parts[0], *[f"{p[0]}." for p in parts[1:]]])
