"""Hourly figures of one centre's day, from its 15-minute history (:meth:`backend.city.CityStore.history`).

A history row is one service in one 15-minute slot: ``issued``, ``served`` and ``no_shows`` are the day's
cumulative counts at the slot's last report, so an hour's tickets are the difference between the cumulative count
at its last slot and at the last slot before it (a service first seen later in the day starts from zero; a count
that goes down — a branch restored from a backup — adds nothing rather than a negative hour). Waits per hour: the
longest estimate given during the hour (``wait_now_max``) and the day's 90th percentile as it stood at the hour's
end (``wait_p90_min``: branches report the day's percentile, not the hour's), both the worst service's, as the
city table shows. ``waiting_max`` is the most people waiting at once in any slot of the hour (services summed).

Hours run over the centre's opening day (:data:`DAY_HOURS`) widened to any hour with figures; an hour with no
report is None, so a chart shows a gap instead of a made-up zero.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from config.localtime import LOCAL_TZ

COUNTS = ("issued", "served", "no_shows")
DAY_HOURS = range(7, 18)  # 07:00–17:59: a centre's usual opening hours, always shown


def _slot_time(row: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(row["slot"]).astimezone(LOCAL_TZ)


def hourly(rows: list[dict[str, Any]], day: date) -> dict[int, dict[str, Any]]:
    """Hour of ``day`` (local) → its figures (module docstring); hours without a report are absent."""
    rows = sorted((row for row in rows if _slot_time(row).date() == day), key=_slot_time)
    last: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)  # hour → service → its last row in the hour
    slot_waiting: dict[datetime, int] = defaultdict(int)
    wait_now_max: dict[int, float | None] = {}
    for row in rows:
        slot = _slot_time(row)
        last[slot.hour][row["service"]] = row
        slot_waiting[slot] += row.get("waiting_max") or 0
        if row.get("wait_now_min") is not None:
            wait_now_max[slot.hour] = max(wait_now_max.get(slot.hour) or 0.0, row["wait_now_min"])
    seen: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))  # service → cumulative so far
    figures: dict[int, dict[str, Any]] = {}
    for hour in sorted(last):
        added = dict.fromkeys(COUNTS, 0)
        for service, row in last[hour].items():
            for name in COUNTS:
                value = row.get(name) or 0
                added[name] += max(0, value - seen[service][name])
                seen[service][name] = max(seen[service][name], value)
        p90s = [row["wait_p90_min"] for row in last[hour].values() if row.get("wait_p90_min") is not None]
        figures[hour] = {**added, "waiting_max": max(n for slot, n in slot_waiting.items() if slot.hour == hour),
                         "wait_p90_min": max(p90s, default=None), "wait_now_max": wait_now_max.get(hour)}
    return figures


def day_comparison(today_rows: list[dict[str, Any]], today: date, earlier_rows: list[dict[str, Any]],
                   earlier: date) -> dict[str, Any]:
    """``{"today", "compare_day", "hours": [{"hour", "label", "today", "compare"}]}``: two days hour by hour, for
    the drill-down's charts (``today``/``compare`` are an hour's figures or None)."""
    now_figures, then_figures = hourly(today_rows, today), hourly(earlier_rows, earlier)
    shown = set(DAY_HOURS) | set(now_figures) | set(then_figures)
    return {"today": today.isoformat(), "compare_day": earlier.isoformat(),
            "hours": [{"hour": hour, "label": f"{hour:02d}:00", "today": now_figures.get(hour),
                       "compare": then_figures.get(hour)} for hour in range(min(shown), max(shown) + 1)]}
