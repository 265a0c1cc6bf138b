"""Personal data out of text that leaves its place: log lines, heartbeat log tails, error messages.

CCCD numbers and whole CCCD QR payloads, Vietnamese phone numbers, and everything after ``name=`` (or a
``"...name":`` JSON key) are replaced by a marker. The kiosk scrubs its log and what it sends; the backend scrubs
again what it stores, so a kiosk with an older scrubber cannot leak through it. The patterns err on the side of
hiding too much: a log line is worth less than a citizen's privacy.
"""

from __future__ import annotations

import re

PATTERNS = (
    (re.compile(r"(?<!\d)\d{12}\|[^\n]*"), "[cccd-qr]"),  # id|old id|name|birth date|sex|address|issue date
    (re.compile(r"(?<!\d)\d{12}(?!\d)"), "[cccd]"),
    # mobile 0xx xxx xxxx, landline 02xx xxx xxxx, either with +84 / 84 instead of the 0, spaces, dots or dashes
    (re.compile(r"(?<![\w+])(?:\+84|84|0)(?:[ .-]?\d){9,10}(?!\d)"), "[phone]"),
    (re.compile(r"(?i)(name(?:=|[\"']\s*:))[^\n]*"), r"\1[name]"),
    (re.compile(r"(?<!\d)\d{9,}(?!\d)"), "[number]"),  # old 9-digit CMND, card or account numbers written solid
)


def scrub(text: str) -> str:
    """``text`` with personal data replaced by markers."""
    for pattern, marker in PATTERNS:
        text = pattern.sub(marker, text)
    return text
