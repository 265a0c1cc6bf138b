"""Turn the raw bytes a scanner sent into text, repairing what scanners do to it and keeping what they did not.

Real scanners add CR/LF/TAB, NUL padding, STX/ETX framing and a UTF-8 BOM around the data, a symbology prefix
(``]Q1``) before it, and keyboard-wedge scanners turn UTF-8 into latin-1/cp1252 mojibake ("Nguyá»…n" for
"Nguyễn"). Those are removed or repaired at the ends only: a control or invisible character (NUL, RTL override,
zero-width space, …) *inside* the data was put there by something else, so it stays and :func:`hidden_character`
lets the parsers refuse the payload instead of silently reading a different text than the one printed.
Input is capped so a stuck scanner cannot feed megabytes.
"""

from __future__ import annotations

import re
import unicodedata

MAX_PAYLOAD = 4096
_FRAMING = "".join(map(chr, range(0x20))) + "\x7f"  # C0 controls (CR, LF, TAB, NUL, STX, ETX, …) and DEL
_AIM_PREFIX = re.compile(r"^\][A-Za-z][0-9A-Za-z]")  # symbology identifier some scanners send first, e.g. ]Q1
_MOJIBAKE_HINT = re.compile(r"[ÃÄÅÆÂáº»¡¢£¤¥¦§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿]")
# controls, format characters (bidi overrides, zero-width, BOM), surrogates, private use, unassigned, separators
_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def _repair_mojibake(text: str) -> str:
    if not _MOJIBAKE_HINT.search(text):
        return text
    for codec in ("cp1252", "latin-1"):
        try:
            repaired = text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        return repaired
    return text


def _trim(text: str) -> str:
    """Whitespace and control framing off both ends (a trailing NUL, CR/LF), repeated around an AIM prefix."""
    text = text.strip().strip(_FRAMING).strip()
    return _AIM_PREFIX.sub("", text).strip().strip(_FRAMING).strip()


def decode_scan(raw: bytes | str) -> tuple[str, bool]:
    """The text between the framing, NFC, and whether the input was cut at :data:`MAX_PAYLOAD` bytes."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    truncated = len(raw) > MAX_PAYLOAD
    raw = raw[:MAX_PAYLOAD]
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "replace") if truncated else _decode_legacy(raw)
    text = _trim(text).removeprefix("\ufeff")
    return unicodedata.normalize("NFC", _repair_mojibake(text)), truncated


def hidden_character(text: str) -> bool:
    """Whether ``text`` holds a character that prints as nothing or changes how the rest prints."""
    return any(unicodedata.category(ch) in _HIDDEN for ch in text)


def _decode_legacy(raw: bytes) -> str:
    """Bytes that are not UTF-8: a Vietnamese Windows code page is the likeliest, then anything."""
    try:
        return raw.decode("cp1258")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
