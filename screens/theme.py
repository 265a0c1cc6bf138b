"""Colour themes as data: the standard theme and a high-contrast one, checked against WCAG AA by a test.

Roles, not colours, appear in the kv files: ``text``/``muted``/``accent``/``danger_text``/``success_text`` are
text on ``background`` or ``surface``; ``on_fill`` is text on every fill (``primary``, ``primary_dark``,
``neutral``, ``danger``, ``success``, ``tiles``); ``ticker_text`` is text on ``ticker_bg``.
"""

from __future__ import annotations

from dataclasses import dataclass

RGBA = tuple[float, float, float, float]


def hex_rgba(value: str) -> RGBA:
    value = value.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, 1.0)


@dataclass(frozen=True)
class Theme:
    name: str
    background: RGBA
    surface: RGBA
    text: RGBA
    muted: RGBA
    accent: RGBA
    danger_text: RGBA
    success_text: RGBA
    on_fill: RGBA
    primary: RGBA
    primary_dark: RGBA
    neutral: RGBA
    danger: RGBA
    success: RGBA
    tiles: tuple[RGBA, RGBA, RGBA, RGBA]
    ticker_bg: RGBA
    ticker_text: RGBA

    @property
    def fills(self) -> tuple[RGBA, ...]:
        return (self.primary, self.primary_dark, self.neutral, self.danger, self.success, *self.tiles)


STANDARD = Theme(
    name="standard",
    background=hex_rgba("#F4F6FA"),
    surface=hex_rgba("#FFFFFF"),
    text=hex_rgba("#1A1F2B"),
    muted=hex_rgba("#4A5468"),
    accent=hex_rgba("#0B3C8C"),
    danger_text=hex_rgba("#A3221B"),
    success_text=hex_rgba("#1B6B3A"),
    on_fill=hex_rgba("#FFFFFF"),
    primary=hex_rgba("#0B3C8C"),
    primary_dark=hex_rgba("#072B66"),
    neutral=hex_rgba("#4A5468"),
    danger=hex_rgba("#B3261E"),
    success=hex_rgba("#1B6B3A"),
    tiles=(hex_rgba("#B3261E"), hex_rgba("#0B5CAD"), hex_rgba("#1B6B3A"), hex_rgba("#6B3FA0")),
    ticker_bg=hex_rgba("#FFE8A3"),
    ticker_text=hex_rgba("#3D2A00"),
)

HIGH_CONTRAST = Theme(
    name="high_contrast",
    background=hex_rgba("#000000"),
    surface=hex_rgba("#000000"),
    text=hex_rgba("#FFFFFF"),
    muted=hex_rgba("#FFFF66"),
    accent=hex_rgba("#FFFF00"),
    danger_text=hex_rgba("#FF9E9E"),
    success_text=hex_rgba("#7CFF9E"),
    on_fill=hex_rgba("#FFFFFF"),
    primary=hex_rgba("#0033B3"),
    primary_dark=hex_rgba("#001F66"),
    neutral=hex_rgba("#333333"),
    danger=hex_rgba("#A30000"),
    success=hex_rgba("#006B1F"),
    tiles=(hex_rgba("#A30000"), hex_rgba("#0033B3"), hex_rgba("#006B1F"), hex_rgba("#5A1F99")),
    ticker_bg=hex_rgba("#FFFF00"),
    ticker_text=hex_rgba("#000000"),
)

THEMES = {theme.name: theme for theme in (STANDARD, HIGH_CONTRAST)}


def relative_luminance(colour: RGBA) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: RGBA, b: RGBA) -> float:
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_pairs(theme: Theme) -> dict[str, tuple[RGBA, RGBA]]:
    """Every (foreground, background) pair the screens draw text with, by a readable name."""
    pairs = {}
    for role in ("text", "muted", "accent", "danger_text", "success_text"):
        for ground in ("background", "surface"):
            pairs[f"{role} on {ground}"] = (getattr(theme, role), getattr(theme, ground))
    for index, fill in enumerate(theme.fills):
        pairs[f"on_fill on fill #{index}"] = (theme.on_fill, fill)
    pairs["ticker_text on ticker_bg"] = (theme.ticker_text, theme.ticker_bg)
    return pairs
