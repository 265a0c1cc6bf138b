"""A centre's figures for the city view, read from the queue's database "now": the body of one branch report.

What each figure means (the backend's ``backend.city`` keeps them; docs/operations.md, "Branch figures to the city")::

    waiting          tickets in line now: printed, and phone numbers checked in (state ``waiting``)
    virtual_waiting  phone numbers not checked in yet (state ``virtual``; 0 on a server without phone numbers)
    issued           numbers issued today in the service (a transfer is not a new number, so it only grows)
    served, no_shows today so far (states ``done`` and ``no_show``)
    wait_now_min     the engine's estimate for a number taken now; None while the service is closed
    wait_p90_min     90th percentile of today's issue → call waits, as the daily report computes it; None before
                     the first call
    counters_open    counters with a live login (``counter_tokens``), per service those that serve it
    kiosks           every kiosk with a token, or heard from in the last day: online when heard within
                     ``Presence.GAP``
    displays_online  display boards following the event stream of the process that took the snapshot

Everything but the display boards is in the database, so any process of the server computes the same snapshot;
board streams are counted by the process that holds them, so with ``--workers N`` the figure is that process's
share (exact with one process, the default on SQLite).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from config.localtime import LOCAL_TZ
from queueing.engine import QueueEngine
from queueing.report import p90

FORGET_KIOSK = timedelta(days=1)  # a kiosk without a token here is listed this long after it was last heard


@dataclass(frozen=True)
class Centre:
    """Who the figures are about: the centre's id, name and its wait target in minutes (``branch.*`` config)."""

    id: str
    name: str
    target_wait_min: int


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _waits_s(rows: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Issue → call waits per service, in seconds, of today's called tickets (a transferred ticket is counted in
    the service that called it last, from the original issue time, as in ``queueing.report``)."""
    waits: dict[str, list[float]] = {}
    for row in rows:
        if row["called_at"] and row["state"] != "transferred":
            wait = (datetime.fromisoformat(row["called_at"]) - datetime.fromisoformat(row["queue_at"])).total_seconds()
            waits.setdefault(row["service"], []).append(max(0.0, wait))
    return waits


def _logged_in(engine: QueueEngine, now: datetime) -> set[int]:
    rows = engine.db.query("SELECT DISTINCT counter FROM counter_tokens WHERE expires > ?", [now.timestamp()])
    return {row[0] for row in rows}


def _kiosks(engine: QueueEngine, configured: Iterable[str], now: datetime,
            online_within: timedelta) -> list[dict[str, Any]]:
    heard = {kiosk: datetime.fromisoformat(last)
             for kiosk, last in engine.db.query("SELECT kiosk, last FROM kiosk_presence")}
    # a kiosk whose token was withdrawn stays in kiosk_presence: listed while heard from lately, then left out
    listed = set(configured) | {kiosk for kiosk, last in heard.items() if now - last <= FORGET_KIOSK}
    return [{"id": kiosk, "online": kiosk in heard and now - heard[kiosk] <= online_within,
             "last_seen": heard[kiosk].astimezone(LOCAL_TZ).isoformat(timespec="seconds") if kiosk in heard else None}
            for kiosk in sorted(listed)]


def branch_figures(engine: QueueEngine, centre: Centre, now: datetime, *, kiosks: Iterable[str] = (),
                   online_within: timedelta = timedelta(seconds=60), displays_online: int = 0) -> dict[str, Any]:
    """The report of contracts B for ``now`` without its ``seq`` (the outbox numbers it).

    :param kiosks: the kiosks with a token on this server (listed even before they were first heard from).
    :param online_within: how recently a kiosk must have been heard to count as online.
    """
    rows = engine.rows_for_day(now.astimezone(LOCAL_TZ).date())
    states: Counter[tuple[str, str]] = Counter((row["service"], row["state"]) for row in rows)
    issued = Counter(row["service"] for row in rows if row["transferred_from"] is None)
    waits = _waits_s(rows)
    estimates = {line.code: line.estimated_wait_s for line in engine.status().services}
    logged_in = _logged_in(engine, now)
    services = []
    for code, service in engine.services.items():
        services.append({
            "code": code, "name": service.name_vi, "waiting": states[code, "waiting"],
            "virtual_waiting": states[code, "virtual"], "issued": issued[code], "served": states[code, "done"],
            "no_shows": states[code, "no_show"],
            "wait_now_min": _minutes(estimates[code]) if service.is_open(now) else None,
            "wait_p90_min": _minutes(p90(waits[code])) if code in waits else None,
            "counters_open": len(logged_in & set(service.counters))})
    return {"centre": centre.id, "name": centre.name, "at": now.astimezone(LOCAL_TZ).isoformat(timespec="seconds"),
            "target_wait_min": centre.target_wait_min, "services": services, "counters_open": len(logged_in),
            "kiosks": _kiosks(engine, kiosks, now, online_within), "displays_online": displays_online}
