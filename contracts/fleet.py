"""What a heartbeat may carry: the limits the kiosk cuts to and the backend enforces on the same numbers."""

from __future__ import annotations

from contracts.scrub import scrub

LOG_TAIL_LINES = 50
LOG_LINE_CHARS = 300
SHORT_TEXT_CHARS = 200


def short(text: str, limit: int = SHORT_TEXT_CHARS) -> str:
    """Scrubbed and cut to ``limit`` characters (an ellipsis marks the cut)."""
    text = scrub(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
