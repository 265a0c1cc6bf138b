"""Booking and dossier codes in one canonical form, applied once where a code enters the backend.

A code arrives typed on a kiosk keyboard, read from a QR or sent by a bank: in lower case, with spaces around it,
with full-width or superscript digits. If the look-up folded those and the update did not, ``bk-…`` would find
the booking ``BK-…`` and then mark nothing used, so it could be checked in again and again. Every route that takes
a code (look-up, payment, bank callback, check-in) passes it through :func:`canonical_code` first, and the store
only ever sees the canonical form.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

MAX_CODE_CHARS = 64  # national dossier codes are 23 characters, booking codes 16


def canonical_code(text: str) -> str:
    """NFKC (full-width and superscript digits become ASCII), stripped, upper case: ``" bk-251120-demo01"`` →
    ``"BK-251120-DEMO01"``."""
    return unicodedata.normalize("NFKC", text).strip().upper()


# a code in a JSON body: at most MAX_CODE_CHARS, canonical once validated
Code = Annotated[str, StringConstraints(min_length=1, max_length=MAX_CODE_CHARS), AfterValidator(canonical_code)]
