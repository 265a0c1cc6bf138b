"""Vietnamese text for printers: a correct CP1258 encoder and the test for "needs more than ASCII".

CP1258 (Windows-1258) has the letters with a shape mark as single bytes (â ă ê ô ơ ư đ and capitals), a few
precomposed toned Latin letters (à á è é í ó ù ú …), and the five tone marks only as *combining* bytes
(0xCC grave, 0xEC acute, 0xD2 hook above, 0xDE tilde, 0xF2 dot below). So "ờ" must go out as ơ (0xF5) followed
by 0xCC. Encoding one character at a time against the codec — what python-escpos does — turns every such letter
into "?". Here each NFC character is tried whole first, and only what CP1258 lacks is split into base + tone.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

CODEC = "cp1258"
TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
REPLACEMENT = b"?"


def needs_vietnamese(text: str) -> bool:
    """True when a printer's default (ASCII) character set cannot show ``text`` as written."""
    return not text.isascii()


def encode_cp1258(text: str) -> bytes:
    """``text`` as CP1258 bytes; characters CP1258 cannot express at all become ``?``."""
    return b"".join(_encode_char(char) for char in unicodedata.normalize("NFC", text))


@lru_cache(maxsize=1024)
def _encode_char(char: str) -> bytes:
    try:
        return char.encode(CODEC)
    except UnicodeEncodeError:
        pass
    parts = unicodedata.normalize("NFD", char)
    tones = "".join(c for c in parts if c in TONE_MARKS)
    base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONE_MARKS))
    try:
        return base.encode(CODEC) + tones.encode(CODEC)
    except UnicodeEncodeError:
        return REPLACEMENT
