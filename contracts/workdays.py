"""Working days in Vietnam: weekends and public holidays do not count towards a dossier's due date.

Solar holidays are fixed (1/1, 30/4, 1/5, 2/9 and, from 2025, 1/9 alongside). Lunar ones (Tết, Giỗ Tổ Hùng
Vương) and the compensatory days move every year, so they are listed as announced for 2025–2027; extend
``ANNOUNCED`` when the government publishes a new year's schedule.
"""

from __future__ import annotations

import datetime as dt

FIXED = {(1, 1), (4, 30), (5, 1), (9, 1), (9, 2)}
ANNOUNCED: dict[int, list[tuple[int, int]]] = {
    # Tết Ất Tỵ 25/1–2/2/2025, Giỗ Tổ 7/4/2025
    2025: [(1, 27), (1, 28), (1, 29), (1, 30), (1, 31), (4, 7)],
    # Tết Bính Ngọ around 17/2/2026 (14/2–22/2), Giỗ Tổ 26/4/2026 (Sunday → 27/4)
    2026: [(2, 16), (2, 17), (2, 18), (2, 19), (2, 20), (4, 27)],
    # Tết Đinh Mùi around 6/2/2027 (4/2–10/2), Giỗ Tổ 16/4/2027
    2027: [(2, 4), (2, 5), (2, 8), (2, 9), (2, 10), (4, 16)],
}


def is_holiday(day: dt.date) -> bool:
    return (day.month, day.day) in FIXED or (day.month, day.day) in ANNOUNCED.get(day.year, [])


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and not is_holiday(day)


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (the day of receipt does not count)."""
    current = start
    remaining = days
    while remaining > 0:
        current += dt.timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current
