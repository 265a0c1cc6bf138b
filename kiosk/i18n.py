"""Citizen-facing text from gettext catalogues (``assets/locale/<lang>/LC_MESSAGES/kiosk.po``).

Message ids are symbolic keys (``home.take_number``) so the Vietnamese and English catalogues are peers and a
test can check that both define every key. Catalogues are read with polib at start-up (no compile step), and
every string is NFC-normalised so diacritics compare and render the same whatever editor wrote the file.
A missing key shows the key itself — visible in screenshots and caught by the catalogue tests — never a crash.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path

import polib

LOCALE_DIR = Path(__file__).resolve().parent.parent / "assets" / "locale"
LANGUAGES = ("vi", "en")
DOMAIN = "kiosk"


@cache
def catalogue(lang: str) -> dict[str, str]:
    po = polib.pofile(str(LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"))
    return {entry.msgid: unicodedata.normalize("NFC", entry.msgstr) for entry in po if entry.msgstr}


def tr(key: str, lang: str, **values: object) -> str:
    """Translate ``key`` into ``lang``, filling ``{placeholders}`` from ``values``."""
    text = catalogue(lang).get(key) or catalogue("vi").get(key) or key
    return text.format(**values) if values else text
