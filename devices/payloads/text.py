"""Turn the raw bytes a scanner sent into clean text, whatever the scanner did to them.

Real scanners add CR/LF/TAB, NUL padding, a UTF-8 BOM, prefixes and suffixes, and keyboard-wedge scanners turn
UTF-8 into latin-1/cp1252 mojibake ("Nguyá»…n" for "Nguyễn"). We strip the noise, repair the mojibake when the
repair gives valid UTF-8, and normalise to NFC. Input is capped so a stuck scanner cannot feed megabytes.
"""

from __future__ import annotations

import re
import unicodedata

MAX_PAYLOAD = 4096
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_AIM_PREFIX = re.compile(r"^\][A-Za-z][0-9A-Za-z]")  # symbology identifier some scanners send first, e.g. ]Q1
_MOJIBAKE_HINT = re.compile(r"[ÃÄÅÆÂáº»¡¢£¤¥¦§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿]")


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


def decode_scan(raw: bytes | str) -> tuple[str, bool]:
    """Clean text and whether the input was truncated to :data:`MAX_PAYLOAD` bytes."""
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
    text = _repair_mojibake(text.replace("\ufeff", ""))
    text = _CONTROL.sub("", text).replace("\r", "\n").replace("\t", " ")
    return _AIM_PREFIX.sub("", unicodedata.normalize("NFC", text).strip()), truncated


def _decode_legacy(raw: bytes) -> str:
    """Bytes that are not UTF-8: a Vietnamese Windows code page is the likeliest, then anything."""
    try:
        return raw.decode("cp1258")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
