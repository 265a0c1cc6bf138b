"""Colour themes as data, so contrast can be checked by a test and a high-contrast theme added without kv edits."""

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
    text: RGBA
    muted: RGBA
    primary: RGBA
    primary_dark: RGBA
    tiles: tuple[RGBA, RGBA, RGBA, RGBA]
    ticker_bg: RGBA
    ticker_text: RGBA
    danger: RGBA
    success: RGBA


STANDARD = Theme(
    name="standard",
    background=hex_rgba("#F4F6FA"),
    text=hex_rgba("#1A1F2B"),
    muted=hex_rgba("#4A5468"),
    primary=hex_rgba("#0B3C8C"),
    primary_dark=hex_rgba("#072B66"),
    tiles=(hex_rgba("#B3261E"), hex_rgba("#0B5CAD"), hex_rgba("#1B6B3A"), hex_rgba("#6B3FA0")),
    ticker_bg=hex_rgba("#FFE8A3"),
    ticker_text=hex_rgba("#3D2A00"),
    danger=hex_rgba("#B3261E"),
    success=hex_rgba("#1B6B3A"),
)
