"""The city operations view: every centre's newest branch report, joined with what the backend knows itself.

A branch queue server reports its figures (contracts B, :mod:`backend.city`); the backend adds what only it sees:
which of the centre's kiosks are out of paper or silent (their fleet heartbeats) and the dossiers filed at them.
One ENTRY per centre (contracts C)::

    {"centre", "name", "reported_at", "stale", "target_wait_min", "flag", "waiting", "virtual_waiting", "issued",
     "served", "no_shows", "wait_now_min", "wait_p90_min", "counters_open", "kiosks_online", "kiosks_offline",
     "kiosks_out_of_paper", "displays_online", "dossiers_today", "on_time_rate", "services": [{..., "flag"}]}

Choices the figures rest on:

* A centre's waits are its worst service's (``wait_now_min``, ``wait_p90_min``: the maximum over services): a
  citizen in the slowest line is the one a leader must see, and an average would hide that line.
* Flags: red when a wait is over the centre's target, amber from :data:`AMBER_SHARE` of it, green otherwise;
  ``stale`` overrides them when the backend received nothing from the centre for :data:`STALE_AFTER_S` (the
  figures shown are then the last ones known). Staleness counts from the backend's receipt, not the report's own
  time, so a branch clock that is off does not turn a live centre grey.
* A kiosk is offline when its branch reports it so or the backend stopped hearing its heartbeats (either way a
  citizen there may not get served); out of paper comes from its heartbeat's printer state.
* ``dossiers_today``: dossiers received since local midnight from any of the centre's kiosks. ``on_time_rate``:
  of the dossiers from its kiosks whose result became ready in the last :data:`ON_TIME_DAYS` days, the share ready
  on or before their due date (a day's handful of results would swing wildly; the city's own figure, 99.85 %, is
  quarterly). None when none finished.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from backend.city import CityStore
from backend.city_hours import day_comparison
from backend.fleet import FleetStore
from config.localtime import LOCAL_TZ
from config.schema import CENTRE_ID_PATTERN
from contracts.sqldb import Database

Flag = Literal["green", "amber", "red", "stale"]
CENTRE_ID = re.compile(CENTRE_ID_PATTERN)  # a centre id as branches send it (fullmatch it)
STALE_AFTER_S = 90
AMBER_SHARE = 0.8
ON_TIME_DAYS = 30
COMPARE_WEEKS = 4  # "the same weekday last month": four weeks back, so Mondays compare with Mondays
REFRESH_S = 15.0  # live pages get a fresh snapshot at least this often (staleness moves without any report)
LIVE_MIN_S = 1.0  # …and at most this often, however fast reports arrive
BACKEND_FACTS_TTL_S = 30.0  # live pages read heartbeat and dossier figures at most this often
SERVICE_FIGURES = ("waiting", "virtual_waiting", "issued", "served", "no_shows", "counters_open")


def wait_flag(wait_now_min: float | None, wait_p90_min: float | None, target_min: float) -> Flag:
    """Red past the target, amber from :data:`AMBER_SHARE` of it, green below (or when no wait is known)."""
    worst = max((wait for wait in (wait_now_min, wait_p90_min) if wait is not None), default=None)
    if worst is None or worst < AMBER_SHARE * target_min:
        return "green"
    return "red" if worst > target_min else "amber"


def _worst(values: Iterable[float | None]) -> float | None:
    return max((value for value in values if value is not None), default=None)


@dataclass(frozen=True)
class KioskFacts:
    """What the backend's fleet heartbeats say about kiosks, by id."""

    out_of_paper: frozenset[str] = frozenset()
    silent: frozenset[str] = frozenset()

    @classmethod
    def from_fleet(cls, fleet: FleetStore) -> KioskFacts:
        states = fleet.kiosks()
        return cls(frozenset(k.kiosk_id for k in states if k.status.get("printer") == "paper_out"),
                   frozenset(k.kiosk_id for k in states if "silent" in k.flags))


@dataclass(frozen=True)
class DossierFacts:
    """Dossiers per kiosk: received today, and (finished, finished on time) over :data:`ON_TIME_DAYS`."""

    today: dict[str, int]
    finished: dict[str, tuple[int, int]]

    @classmethod
    def read(cls, db: Database, now: datetime) -> DossierFacts:
        """Two grouped queries over the backend's dossiers (read-only). ``received_at`` and timeline times are
        ISO texts written in local time, so they compare as text with a local midnight."""
        midnight = now.astimezone(LOCAL_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
        today = db.query("SELECT kiosk_id, COUNT(*) FROM dossiers WHERE kiosk_id IS NOT NULL AND received_at >= ? "
                         "GROUP BY kiosk_id", [midnight.isoformat()])
        finished = db.query(
            "SELECT d.kiosk_id, COUNT(*), SUM(CASE WHEN SUBSTR(f.done, 1, 10) <= d.due_date THEN 1 ELSE 0 END) "
            "FROM dossiers d JOIN (SELECT code, MIN(at) AS done FROM timeline WHERE status = 'result_ready' "
            "GROUP BY code) f ON f.code = d.code WHERE d.kiosk_id IS NOT NULL AND f.done >= ? GROUP BY d.kiosk_id",
            [(midnight - timedelta(days=ON_TIME_DAYS)).isoformat()])
        return cls({kiosk: int(count) for kiosk, count in today},
                   {kiosk: (int(done), int(on_time)) for kiosk, done, on_time in finished})

    def of(self, kiosks: Iterable[str]) -> tuple[int, float | None]:
        """(received today, on-time rate) over ``kiosks``."""
        kiosks = list(kiosks)
        done = sum(self.finished.get(kiosk, (0, 0))[0] for kiosk in kiosks)
        on_time = sum(self.finished.get(kiosk, (0, 0))[1] for kiosk in kiosks)
        return sum(self.today.get(kiosk, 0) for kiosk in kiosks), (round(on_time / done, 4) if done else None)


def centre_entry(report: dict[str, Any], received_at: datetime, now: datetime, kiosks: KioskFacts,
                 dossiers: DossierFacts) -> dict[str, Any]:
    """One centre's ENTRY (module docstring) from its newest report and the backend's own facts."""
    target = report["target_wait_min"]
    services = [{**service, "flag": wait_flag(service.get("wait_now_min"), service.get("wait_p90_min"), target)}
                for service in report["services"]]
    wait_now = _worst(service.get("wait_now_min") for service in services)
    wait_p90 = _worst(service.get("wait_p90_min") for service in services)
    stale = (now - received_at).total_seconds() > STALE_AFTER_S
    ids = [kiosk["id"] for kiosk in report.get("kiosks", [])]
    offline = [kiosk["id"] for kiosk in report.get("kiosks", []) if not kiosk["online"] or kiosk["id"] in kiosks.silent]
    dossiers_today, on_time = dossiers.of(ids)
    totals = {name: sum(service.get(name) or 0 for service in services) for name in SERVICE_FIGURES}
    return {
        "centre": report["centre"], "name": report["name"], "reported_at": report["at"], "stale": stale,
        "target_wait_min": target, "flag": "stale" if stale else wait_flag(wait_now, wait_p90, target),
        **totals, "counters_open": report.get("counters_open", totals["counters_open"]),
        "wait_now_min": wait_now, "wait_p90_min": wait_p90,
        "kiosks_online": len(ids) - len(offline), "kiosks_offline": offline,
        "kiosks_out_of_paper": [kiosk for kiosk in ids if kiosk in kiosks.out_of_paper],
        "displays_online": report.get("displays_online", 0),
        "dossiers_today": dossiers_today, "on_time_rate": on_time, "services": services,
    }


class CityView:
    """The view's figures over the stores.

    :meth:`snapshot` and :meth:`centre` read everything afresh (the API, the CSV, a page being opened).
    :meth:`live` is what the open pages' event streams send: one snapshot shared by every stream of this process,
    rebuilt when the reports' version changes but at most every :data:`LIVE_MIN_S` (with hundreds of centres
    reporting every 30 s the version changes many times a second) and at least every :data:`REFRESH_S`, with the
    heartbeat and dossier figures read at most every :data:`BACKEND_FACTS_TTL_S`.
    """

    def __init__(self, city: CityStore, fleet: FleetStore, dossiers: Database,
                 clock: Callable[[], datetime] = lambda: datetime.now(LOCAL_TZ),
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.city, self.fleet, self.dossiers = city, fleet, dossiers
        self._clock, self._monotonic = clock, monotonic
        self._lock = threading.Lock()
        self._live: tuple[float, dict[str, Any]] | None = None  # (built at, snapshot)
        self._facts: tuple[float, KioskFacts, DossierFacts] | None = None  # (read at, ...)

    def version(self) -> str:
        return self.city.version()

    def _backend_facts(self, now: datetime, *, cached: bool) -> tuple[KioskFacts, DossierFacts]:
        tick = self._monotonic()
        if not cached or self._facts is None or tick - self._facts[0] >= BACKEND_FACTS_TTL_S:
            self._facts = (tick, KioskFacts.from_fleet(self.fleet), DossierFacts.read(self.dossiers, now))
        return self._facts[1], self._facts[2]

    def _build(self, version: str, *, cached: bool) -> dict[str, Any]:
        now = self._clock()
        kiosks, dossiers = self._backend_facts(now, cached=cached)
        return {"at": now.isoformat(timespec="seconds"), "version": version, "centres": [
            centre_entry(row, datetime.fromisoformat(row["received_at"]), now, kiosks, dossiers)
            for row in self.city.centres()]}

    def snapshot(self) -> dict[str, Any]:
        """``{"at", "version", "centres": [ENTRY, ...]}``, centres by name, read now."""
        with self._lock:
            return self._build(self.city.version(), cached=False)

    def live(self, version: str) -> dict[str, Any]:
        """The shared snapshot for event streams (class docstring); ``version``: the one the stream just read."""
        with self._lock:
            tick = self._monotonic()
            if self._live is not None:
                built_at, shown = self._live
                age = tick - built_at
                if age < LIVE_MIN_S or (shown["version"] == version and age < REFRESH_S):
                    return shown
            self._live = (tick, self._build(version, cached=True))
            return self._live[1]

    def centre(self, centre: str) -> dict[str, Any] | None:
        """The drill-down of ``centre`` (None when it never reported): its ENTRY and the hourly figures of today
        beside the same weekday :data:`COMPARE_WEEKS` weeks ago."""
        entry = next((entry for entry in self.snapshot()["centres"] if entry["centre"] == centre), None)
        if entry is None:
            return None
        now = self._clock().astimezone(LOCAL_TZ)
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        earlier = today - timedelta(weeks=COMPARE_WEEKS)
        day = timedelta(days=1)
        return {"at": now.isoformat(timespec="seconds"), "centre": entry,
                **day_comparison(self.city.history(centre, today, today + day), today.date(),
                                 self.city.history(centre, earlier, earlier + day), earlier.date())}
