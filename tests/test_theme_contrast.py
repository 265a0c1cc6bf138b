"""Every text/background pair of every theme meets WCAG AA (4.5:1); high contrast meets AAA (7:1) for body text."""

from __future__ import annotations

import pytest

from screens.theme import HIGH_CONTRAST, THEMES, contrast_ratio, hex_rgba, text_pairs


def test_contrast_formula_matches_known_values():
    assert contrast_ratio(hex_rgba("#000000"), hex_rgba("#FFFFFF")) == pytest.approx(21.0)
    assert contrast_ratio(hex_rgba("#777777"), hex_rgba("#FFFFFF")) == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("theme", THEMES.values(), ids=THEMES.keys())
def test_every_text_pair_meets_wcag_aa(theme):
    failing = {name: round(contrast_ratio(fg, bg), 2) for name, (fg, bg) in text_pairs(theme).items()
               if contrast_ratio(fg, bg) < 4.5}
    assert failing == {}


def test_high_contrast_body_text_meets_aaa():
    for name in ("text on background", "muted on background", "accent on background"):
        fg, bg = text_pairs(HIGH_CONTRAST)[name]
        assert contrast_ratio(fg, bg) >= 7.0, name
