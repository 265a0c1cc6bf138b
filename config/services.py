"""Service definitions (from config or content) and their opening hours in local time (Asia/Ho_Chi_Minh).

A service as config/content writes it (TOML or JSON, one mapping per service)::

    code = "HT"                      # 1-8 capitals/digits, unique
    name_vi = "Hộ tịch"
    name_en = "Civil status"
    prefix = "A"                     # ticket numbers look like A012
    digits = 3
    first_number = 1                 # some centres start at 101; ours start where the admin says
    counters = [1, 2]
    hours = { mon = ["08:00-11:30", "13:30-17:00"], sat = ["08:00-11:30"] }   # or "always"
    daily_cap = 200                  # optional

Weekdays missing from ``hours`` are closed. Without ``hours`` a service keeps office hours: Monday to Friday
08:00-11:30 and 13:30-17:00, Saturday morning. Vietnam has no daylight saving, so local windows map to fixed
instants.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from config.localtime import LOCAL_TZ

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
_WEEKDAY_HOURS = ["08:00-11:30", "13:30-17:00"]
OFFICE_HOURS: dict[str, list[str]] = {**{day: _WEEKDAY_HOURS for day in WEEKDAYS[:5]}, "sat": ["08:00-11:30"]}
ALWAYS_OPEN: dict[str, list[str]] = {day: ["00:00-24:00"] for day in WEEKDAYS}


def _parse_window(text: str) -> tuple[time, time | None]:
    match = _WINDOW.match(text)
    if not match:
        raise ValueError(f"opening window {text!r} must look like 07:30-11:30")
    start = time(int(match[1]), int(match[2]))
    if match[3] == "24" and match[4] != "00":
        raise ValueError(f"opening window {text!r} ends after midnight")
    end = None if match[3] == "24" else time(int(match[3]), int(match[4]))  # None = midnight at the end of the day
    if end is not None and end <= start:
        raise ValueError(f"opening window {text!r} ends before it starts")
    return start, end


class ServiceDef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[A-Z0-9]{1,8}$")
    name_vi: str = Field(min_length=1)
    name_en: str = ""
    prefix: str = Field(default="A", pattern=r"^[A-Z]{0,3}$")
    digits: int = Field(default=3, ge=1, le=6)
    first_number: int = Field(default=1, ge=0)
    counters: list[int] = [1]
    hours: dict[str, list[str]] = OFFICE_HOURS
    daily_cap: int | None = Field(default=None, ge=1)

    @field_validator("hours", mode="before")
    @classmethod
    def _always(cls, hours: object) -> object:
        return ALWAYS_OPEN if hours == "always" else hours

    @field_validator("hours")
    @classmethod
    def _valid_hours(cls, hours: dict[str, list[str]]) -> dict[str, list[str]]:
        for day, windows in hours.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r}; use {', '.join(WEEKDAYS)}")
            for window in windows:
                _parse_window(window)
        return hours

    def format_number(self, seq: int) -> str:
        """``A012``; a number past the digit count just grows (``A1000``) rather than wrapping to a duplicate."""
        return f"{self.prefix}{seq:0{self.digits}d}"

    def _windows(self, day: date) -> list[tuple[datetime, datetime]]:
        spans = []
        for text in self.hours.get(WEEKDAYS[day.weekday()], []):
            start, end = _parse_window(text)
            finish = datetime.combine(day + timedelta(days=1), time(0), LOCAL_TZ) if end is None else \
                datetime.combine(day, end, LOCAL_TZ)
            spans.append((datetime.combine(day, start, LOCAL_TZ), finish))
        return sorted(spans)

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(LOCAL_TZ)
        return any(begin <= local < end for begin, end in self._windows(local.date()))

    def next_opening(self, moment: datetime) -> datetime | None:
        """The next time the service opens after ``moment`` (within a week), or None if it never opens."""
        local = moment.astimezone(LOCAL_TZ)
        for offset in range(8):
            for begin, _end in self._windows(local.date() + timedelta(days=offset)):
                if begin > local:
                    return begin
        return None


_SERVICE_LIST = TypeAdapter(list[ServiceDef])


def load_services(items: Iterable[Mapping[str, Any] | ServiceDef]) -> list[ServiceDef]:
    """Validate a list of service mappings (as config or content delivers them); codes must be unique.

    :raises pydantic.ValidationError: a field is wrong (the error names the item and the field).
    :raises ValueError: two services share a code.
    """
    services = _SERVICE_LIST.validate_python(list(items))
    codes = [service.code for service in services]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise ValueError(f"service codes must be unique; repeated: {', '.join(duplicates)}")
    return services
