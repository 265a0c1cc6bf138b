"""Printer profiles: the shipped file loads, geometry is consistent, bad entries are refused with a named error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devices.escpos.profiles import PROFILES_FILE, ProfileError, UnknownProfile, load_profile, load_profiles

EXPECTED = ["generic-58", "generic-80", "xprinter-xp58", "xprinter-xp80", "epson-tm-t82", "epson-tm-t88", "sim"]


@pytest.mark.parametrize("name", EXPECTED)
def test_shipped_profiles_load_with_consistent_geometry(name: str) -> None:
    profile = load_profile(name)
    assert profile.name == name
    assert profile.columns * 12 <= profile.dots, "font A (12 dots) columns must fit the printable width"
    assert profile.dots <= profile.paper_width_mm * 8, "printable dots cannot exceed the paper at 203 dpi"
    assert profile.notes, "every entry documents where its values come from"


@pytest.mark.parametrize(("name", "slot"), [("epson-tm-t82", 52), ("epson-tm-t88", 52), ("generic-80", None)])
def test_vietnamese_code_page_slots(name: str, slot: int | None) -> None:
    vietnamese = load_profile(name).vietnamese
    assert (vietnamese.esc_t if vietnamese else None) == slot


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(UnknownProfile, match="generic-80"):
        load_profile("no-such-printer")


def _write(tmp_path: Path, entries: list[dict]) -> Path:
    path = tmp_path / "profiles.json"
    path.write_text(json.dumps({"profiles": entries}))
    return path


def _entry(**changes: object) -> dict:
    entry = json.loads(PROFILES_FILE.read_text())["profiles"][1]
    entry.update(changes)
    return entry


@pytest.mark.parametrize(
    "changes",
    [
        {"raster": False, "vietnamese": None},
        {"dots": 0},
        {"paper_width_mm": 76},
        {"vietnamese": {"codepage": "tcvn3", "esc_t": 30}},
        {"colour": True},
    ],
)
def test_inconsistent_entries_are_refused(tmp_path: Path, changes: dict) -> None:
    with pytest.raises(ProfileError, match="profile #0"):
        load_profiles(_write(tmp_path, [_entry(**changes)]))


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="twice"):
        load_profiles(_write(tmp_path, [_entry(), _entry()]))


def test_unreadable_file_is_a_profile_error(tmp_path: Path) -> None:
    path = tmp_path / "profiles.json"
    path.write_text("{not json")
    with pytest.raises(ProfileError, match="cannot read"):
        load_profiles(path)
