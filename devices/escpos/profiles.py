"""Printer capability profiles: what a printer model can do, as data (``profiles.json`` next to this module).

Each entry says the paper geometry (``paper_width_mm``, printable ``dots``, font A ``columns``), whether and where
the printer carries a Vietnamese code page (``vietnamese``: ``{"codepage": "cp1258", "esc_t": n}`` or null),
and the features the renderer may use (``native_qr`` = ``GS ( k``, ``cutter`` = ``GS V``, ``raster`` =
``GS v 0``, ``status`` = ``DLE EOT``, ``text`` = built-in fonts). ``notes`` records where each value comes from,
because cheap printers differ in exactly the values that decide whether Vietnamese prints correctly.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

PROFILES_FILE = Path(__file__).with_name("profiles.json")


class ProfileError(ValueError):
    """The profile file is unreadable or an entry is inconsistent."""


class UnknownProfile(ProfileError):
    """No profile with the configured name."""


class VietnameseCodepage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    codepage: Literal["cp1258"]
    esc_t: int = Field(ge=0, le=255)


class PrinterProfile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    paper_width_mm: Literal[58, 80]
    dots: int = Field(ge=128, le=1024)
    columns: int = Field(ge=16, le=80)
    vietnamese: VietnameseCodepage | None
    native_qr: bool
    cutter: bool
    raster: bool
    status: bool
    text: bool = True
    notes: str = ""

    @model_validator(mode="after")
    def _can_print_vietnamese(self) -> PrinterProfile:
        """Refuse a profile that could not put diacritics on paper at all, rather than print them wrong later."""
        if not self.raster and not (self.text and self.vietnamese):
            raise ValueError("needs raster support or a Vietnamese code page to print Vietnamese")
        return self


@lru_cache(maxsize=4)
def load_profiles(path: Path = PROFILES_FILE) -> dict[str, PrinterProfile]:
    """All profiles in ``path`` by name; read once, since profiles are looked up for every print job."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["profiles"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProfileError(f"{path}: cannot read profiles ({exc})") from exc
    profiles: dict[str, PrinterProfile] = {}
    for index, entry in enumerate(entries):
        try:
            profile = PrinterProfile.model_validate(entry)
        except ValidationError as exc:
            raise ProfileError(f"{path}: profile #{index}: {exc}") from exc
        if profile.name in profiles:
            raise ProfileError(f"{path}: profile {profile.name!r} defined twice")
        profiles[profile.name] = profile
    return profiles


def load_profile(name: str, path: Path = PROFILES_FILE) -> PrinterProfile:
    profiles = load_profiles(path)
    try:
        return profiles[name]
    except KeyError:
        raise UnknownProfile(f"unknown printer profile {name!r}; known: {', '.join(sorted(profiles))}") from None
