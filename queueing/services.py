"""Service definitions (from config or content) and their opening hours in local time (Asia/Ho_Chi_Minh)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
ALWAYS_OPEN = {day: ["00:00-24:00"] for day in WEEKDAYS}


def _parse_window(text: str) -> tuple[time, time | None]:
    match = _WINDOW.match(text)
    if not match:
        raise ValueError(f"opening window {text!r} must look like 07:30-11:30")
    start = time(int(match[1]), int(match[2]))
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
    hours: dict[str, list[str]] = ALWAYS_OPEN
    daily_cap: int | None = Field(default=None, ge=1)

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
        return f"{self.prefix}{seq:0{self.digits}d}"

    def _windows(self, day: date) -> list[tuple[datetime, datetime]]:
        spans = []
        for text in self.hours.get(WEEKDAYS[day.weekday()], []):
            start, end = _parse_window(text)
            begin = datetime.combine(day, start, LOCAL_TZ)
            finish = datetime.combine(day, end, LOCAL_TZ) if end else datetime.combine(day + timedelta(days=1),
                                                                                        time(0), LOCAL_TZ)
            spans.append((begin, finish))
        return sorted(spans)

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(LOCAL_TZ)
        return any(begin <= local < end for begin, end in self._windows(local.date()))

    def next_opening(self, moment: datetime) -> datetime | None:
        """The next time the service opens after ``moment`` (within a week), or None."""
        local = moment.astimezone(LOCAL_TZ)
        for offset in range(8):
            for begin, _end in self._windows(local.date() + timedelta(days=offset)):
                if begin > local:
                    return begin
        return None
