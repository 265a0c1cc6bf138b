"""Daily figures per service and per counter: tickets, no-shows, average and p90 wait and service time."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from queueing.engine import QueueEngine


def _seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def _figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    waits = [w for r in rows if (w := _seconds(r["queue_at"], r["called_at"])) is not None]
    services = [s for r in rows if r["state"] == "done"
                and (s := _seconds(r["serving_at"] or r["called_at"], r["finished_at"])) is not None]
    return {
        "tickets": len(rows),
        "no_shows": sum(r["state"] == "no_show" for r in rows),
        "waiting": sum(r["state"] == "waiting" for r in rows),
        "wait_avg_s": round(statistics.fmean(waits), 1) if waits else None,
        "wait_p90_s": round(_p90(waits), 1) if waits else None,
        "service_avg_s": round(statistics.fmean(services), 1) if services else None,
        "service_p90_s": round(_p90(services), 1) if services else None,
    }


def day_report(engine: QueueEngine, day: date) -> dict[str, Any]:
    rows = [r for r in engine.rows_for_day(day) if r["state"] != "transferred"]
    by_service: dict[str, list] = defaultdict(list)
    by_counter: dict[int, list] = defaultdict(list)
    for row in rows:
        by_service[row["service"]].append(row)
        if row["counter"] is not None:
            by_counter[row["counter"]].append(row)
    return {
        "date": day.isoformat(),
        "services": [{"service": code, **_figures(items)} for code, items in sorted(by_service.items())],
        "counters": [{"counter": counter, **_figures(items)} for counter, items in sorted(by_counter.items())],
    }
