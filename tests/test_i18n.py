"""The gettext catalogues: both languages define every key, text is NFC, and the font has every glyph."""

from __future__ import annotations

import unicodedata

import pytest
from fontTools.ttLib import TTFont

from kiosk.i18n import LANGUAGES, LOCALE_DIR, catalogue, tr

FONT_DIR = LOCALE_DIR.parent / "fonts"


def test_catalogues_define_the_same_keys():
    keys = {lang: set(catalogue(lang)) for lang in LANGUAGES}
    assert keys["vi"] == keys["en"]
    assert len(keys["vi"]) > 20


@pytest.mark.parametrize("font", ["NotoSans-Regular.ttf", "NotoSans-Bold.ttf"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_font_has_every_glyph_of_the_catalogue(font, lang):
    cmap = TTFont(FONT_DIR / font).getBestCmap()
    used = {ch for text in catalogue(lang).values() for ch in text if not ch.isspace()}
    missing = sorted(ch for ch in used if ord(ch) not in cmap)
    assert missing == []


def test_vietnamese_text_is_nfc_and_fills_placeholders():
    for text in catalogue("vi").values():
        assert unicodedata.is_normalized("NFC", text)
    assert tr("pin.wrong", "vi", attempts=3) == "Sai mã PIN. Còn 3 lần thử."


def test_unknown_key_shows_itself_instead_of_crashing():
    assert tr("no.such.key", "en") == "no.such.key"


def test_font_has_every_literal_glyph_of_the_screens():
    """Symbols written straight into kv files or screen code must exist in the font too (□ boxes otherwise)."""
    import re

    from screens.keyboard_layouts import LAYOUTS, SPECIAL

    cmap = TTFont(FONT_DIR / "NotoSans-Bold.ttf").getBestCmap()
    screens = LOCALE_DIR.parent.parent / "screens"
    literals = "".join(re.findall(r'"([^"]*)"', "".join(p.read_text() for p in screens.glob("*.kv"))))
    keys = "".join(ch for row in LAYOUTS.values() for word in row for ch in word if ch not in SPECIAL)
    missing = sorted({ch for ch in literals + keys if not ch.isspace() and ord(ch) not in cmap})
    assert missing == []
