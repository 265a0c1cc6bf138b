"""Daily figures per service and per counter: tickets, no-shows, average and p90 wait and service time.

Output (JSON-ready; seconds rounded to 0.1, ``None`` where there is nothing to measure)::

    {"date": "2026-11-24",
     "services": [{"service": "HT", "tickets": 120, "no_shows": 4, "waiting": 0, "transferred_out": 2,
                   "wait_avg_s": 640.5, "wait_p90_s": 1500.0, "service_avg_s": 310.2, "service_p90_s": 600.0}, …],
     "counters": [{"counter": 1, …same figures…}, …]}

wait = called_at − queue_at (for a transferred citizen that runs from the original issue time, which is what they
lived through); service time = finished_at − serving_at (called_at when the counter never pressed "start").
A transferred-out ticket is counted once, in the service that finally served the citizen, plus in
``transferred_out`` of the service that sent them on.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from queueing.engine import QueueEngine

Row = dict[str, Any]


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def p90(values: list[float]) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def _summary(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return round(statistics.fmean(values), 1), round(p90(values), 1)


def _figures(rows: list[Row]) -> dict[str, Any]:
    kept = [r for r in rows if r["state"] != "transferred"]
    waits = [w for r in kept if (w := _seconds(r["queue_at"], r["called_at"])) is not None]
    services = [s for r in kept if r["state"] == "done"
                and (s := _seconds(r["serving_at"] or r["called_at"], r["finished_at"])) is not None]
    wait_avg, wait_p90 = _summary(waits)
    service_avg, service_p90 = _summary(services)
    return {
        "tickets": len(kept),
        "no_shows": sum(r["state"] == "no_show" for r in kept),
        "waiting": sum(r["state"] == "waiting" for r in kept),
        "transferred_out": len(rows) - len(kept),
        "wait_avg_s": wait_avg, "wait_p90_s": wait_p90,
        "service_avg_s": service_avg, "service_p90_s": service_p90,
    }


def summarize(day: date, rows: list[Row]) -> dict[str, Any]:
    """Figures from the day's ticket rows (as ``QueueEngine.rows_for_day`` returns them)."""
    by_service: dict[str, list[Row]] = defaultdict(list)
    by_counter: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        by_service[row["service"]].append(row)
        if row["counter"] is not None:
            by_counter[row["counter"]].append(row)
    return {
        "date": day.isoformat(),
        "services": [{"service": code, **_figures(items)} for code, items in sorted(by_service.items())],
        "counters": [{"counter": counter, **_figures(items)} for counter, items in sorted(by_counter.items())],
    }


def day_report(engine: QueueEngine, day: date) -> dict[str, Any]:
    """The CLI's entry point: the report of one local day of ``engine``."""
    return engine.report(day)
