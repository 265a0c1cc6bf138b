"""The city operations view: flags, hourly figures and the CSV as functions; the ENTRY of every centre from real
stores (branch reports, kiosk heartbeats, dossiers); the admin-only API; the admin pages' CSV and live event stream
(across two backend processes on one store); and the wall screen in a real headless Chromium, which must update
without a reload when a branch's queue grows. Tests that build a store are marked ``stores`` (SQLite, then
PostgreSQL). Screenshots: artifacts/screens/city.png and city-centre.png (1920×1080)."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from backend.admin.city_events import city_stream
from backend.app import BackendSettings
from backend.city import CityStore
from backend.city_csv import HEADERS, city_csv
from backend.city_hours import day_comparison, hourly
from backend.city_view import STALE_AFTER_S, CityView, wait_flag
from backend.fleet import FleetStore, HeartbeatBody
from backend.server import RunningBackend, open_store, start_in_thread
from backend.store import BackendStore
from config.localtime import LOCAL_TZ
from config.services import ServiceDef
from contracts.sqldb import StoreUnavailable
from queueing.city_figures import Centre
from queueing.engine import QueueEngine
from queueing.server.city_sender import CityLink, CitySender
from tests.security.browser import admin_session
from tests.stores import store_target
from tests.support import ARTIFACTS, PATIENCE_S, WallClock, dossier_body, eventually, take

ADMIN, REPORTER = "city-view-admin-token", "city-view-report-token"
KIOSKS = {"HN-HK-01": "city-view-kiosk-1", "HN-05-01": "city-view-kiosk-2"}
TODAY = dt.datetime.now(LOCAL_TZ).date()
AT = dt.datetime.combine(TODAY, dt.time(17), LOCAL_TZ)  # the live reports' own time (shown, never judged)
SCREENS = ARTIFACTS / "screens"
CHROMIUM = Path("/usr/bin/chromium")


def service(code: str, name: str, waiting: int, *, issued: int = 40, wait_now: float | None = 10.0,
            wait_p90: float | None = 12.0, **more: Any) -> dict[str, Any]:
    return {"code": code, "name": name, "waiting": waiting, "virtual_waiting": 0, "issued": issued,
            "served": max(0, issued - waiting), "no_shows": 1, "wait_now_min": wait_now, "wait_p90_min": wait_p90,
            "counters_open": 1, **more}


def report(centre: str, seq: int, *services: dict[str, Any], at: dt.datetime = AT, name: str = "",
           kiosks: dict[str, bool] | None = None, target: int = 30) -> dict[str, Any]:
    """A REPORT of contracts B."""
    return {"centre": centre, "name": name or f"Chi nhánh {centre}", "seq": seq, "at": at.isoformat(),
            "target_wait_min": target, "services": list(services), "counters_open": len(services),
            "kiosks": [{"id": kiosk, "online": online, "last_seen": at.isoformat()}
                       for kiosk, online in (kiosks or {}).items()], "displays_online": 1}


# -- pure parts ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("wait_now", "wait_p90", "expected"), [
    (None, None, "green"), (23.9, None, "green"), (24.0, None, "amber"), (30.0, 12.0, "amber"),
    (30.1, None, "red"), (None, 31.0, "red"), (10.0, 25.0, "amber"), (5.0, 45.0, "red")])
def test_flags_are_red_past_the_target_and_amber_from_80_percent(wait_now, wait_p90, expected):
    assert wait_flag(wait_now, wait_p90, 30) == expected


def slot(hour: int, minute: int, service_code: str, issued: int, *, waiting: int = 3,
         p90: float | None = 10.0, now: float | None = 8.0, day: dt.date = TODAY) -> dict[str, Any]:
    start = dt.datetime.combine(day, dt.time(hour, minute), LOCAL_TZ)
    return {"slot": start.isoformat(), "service": service_code, "waiting_last": waiting, "waiting_max": waiting,
            "issued": issued, "served": issued // 2, "no_shows": 0, "wait_now_min": now, "wait_p90_min": p90}


def test_hourly_tickets_are_differences_of_the_days_cumulative_counts():
    rows = [slot(8, 0, "HT", 4, waiting=2), slot(8, 45, "HT", 10, waiting=5, p90=14.0, now=20.0),
            slot(8, 45, "CT", 3, waiting=4), slot(9, 15, "HT", 18, p90=16.0),
            slot(11, 0, "HT", 25, p90=None, now=None), slot(11, 0, "CT", 2),  # a count going down adds nothing
            slot(9, 0, "HT", 99, day=TODAY - dt.timedelta(days=1))]  # another day: ignored
    hours = hourly(rows, TODAY)
    assert sorted(hours) == [8, 9, 11]  # no report at 10: no figures, not zeros
    assert [hours[h]["issued"] for h in (8, 9, 11)] == [13, 8, 7]
    assert hours[8]["waiting_max"] == 9  # 5 + 4 at 08:45, the fullest slot
    assert hours[8]["wait_p90_min"] == 14.0 and hours[8]["wait_now_max"] == 20.0
    assert hours[11]["wait_p90_min"] == 10.0  # CT's; HT reported none
    compared = day_comparison(rows, TODAY, [slot(8, 0, "HT", 6, day=TODAY - dt.timedelta(weeks=4))],
                              TODAY - dt.timedelta(weeks=4))
    assert [h["hour"] for h in compared["hours"]] == list(range(7, 18))
    assert compared["hours"][1]["compare"]["issued"] == 6 and compared["hours"][3]["today"] is None


def entry(centre: str, name: str, *services: dict[str, Any], flag: str = "green") -> dict[str, Any]:
    return {"centre": centre, "name": name, "reported_at": "2026-12-01T09:30:00+07:00", "flag": flag,
            "target_wait_min": 30, "kiosks_offline": ["HN-HK-02"], "kiosks_out_of_paper": [], "dossiers_today": 4,
            "on_time_rate": 0.975, "services": [{**s, "flag": "green"} for s in services]}


def test_the_csv_has_one_row_per_centre_and_service_with_a_bom_for_excel():
    data = city_csv([entry("HN-TTHCC", "Trung tâm Hoàn Kiếm", service("HT", "Hộ tịch", 12, wait_now=18.5),
                           service("CT", "=HYPERLINK(\"http://x\")", 3), flag="red"),
                     entry("HN-BD", "-Ba Đình", flag="stale")])
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == HEADERS and len(rows) == 4
    first = dict(zip(HEADERS, rows[1]))
    assert first["Trung tâm"] == "Trung tâm Hoàn Kiếm" and first["Dịch vụ"] == "Hộ tịch"
    assert first["Mức trung tâm"] == "vượt mục tiêu" and first["Chờ dự kiến (phút)"] == "18.5"
    assert first["Kiosk mất kết nối"] == "HN-HK-02" and first["Đúng hạn 30 ngày (%)"] == "97.5"
    assert rows[2][HEADERS.index("Dịch vụ")].startswith("'=")  # a spreadsheet shows it, never runs it
    assert rows[3][HEADERS.index("Trung tâm")] == "'-Ba Đình" and rows[3][HEADERS.index("Dịch vụ")] == ""
    assert rows[3][HEADERS.index("Mức trung tâm")] == "mất kết nối"


class _DownView:
    """A view whose database stops answering after the first snapshot."""

    def __init__(self) -> None:
        self.calls = 0

    def version(self) -> str:
        self.calls += 1
        if self.calls > 1:
            raise StoreUnavailable("connection refused")
        return "1"

    def live(self, version: str) -> dict[str, Any]:
        return {"at": "2026-12-01T09:00:00+07:00", "version": version, "centres": []}


def test_the_stream_says_the_database_is_down_and_ends():
    async def read() -> list[str]:
        return [part async for part in city_stream(_DownView(), lambda: True, poll_s=0.01)]

    parts = asyncio.run(read())
    assert parts[0].startswith("retry: ") and parts[1].startswith("event: city\n")
    assert parts[-1].startswith("event: unavailable\n") and "không trả lời" in parts[-1]


# -- on real stores --------------------------------------------------------------------------------------------------
class Stores:
    """The backend's stores at one target (SQLite files side by side, or one PostgreSQL database)."""

    def __init__(self, target: Path | str) -> None:
        self.target = target
        settings = BackendSettings.beside(target)
        self.backend = open_store(target)
        self.fleet = FleetStore(target if isinstance(target, str) else settings.fleet_db)
        self.city_target = target if isinstance(target, str) else settings.city_db

    def city(self, at: dt.datetime | None = None) -> CityStore:
        """The city tables; ``at``: a store whose clock says it is then (to record an earlier day's reports)."""
        return CityStore(self.city_target, clock=time.time if at is None else lambda: at.timestamp())

    def close(self) -> None:
        self.backend.close()
        self.fleet.db.close()


@pytest.fixture
def stores(tmp_path) -> Iterator[Stores]:
    opened = Stores(store_target(tmp_path / "backend.db"))
    yield opened
    opened.close()


def beat(fleet: FleetStore, kiosk: str, printer: str = "ok") -> None:
    fleet.record(HeartbeatBody(kiosk_id=kiosk, interval_s=30, branch="Hoàn Kiếm", app_version="0.1.0",
                               printer=printer, scanner="listening", outbox_depth=0, uptime_s=60))


def finish(store: BackendStore, code: str, *, late: bool) -> None:
    """The back office makes a dossier's result ready (no API does this yet): a timeline step, due date kept or
    moved into the past."""
    with store.db.connection() as conn:
        conn.execute("INSERT INTO timeline (code, at, status, note) VALUES (?, ?, 'result_ready', NULL)",
                     [code, dt.datetime.now(LOCAL_TZ).isoformat()])
        if late:
            conn.execute("UPDATE dossiers SET due_date = ? WHERE code = ?",
                         [(TODAY - dt.timedelta(days=1)).isoformat(), code])


@pytest.mark.stores
def test_each_centre_joins_its_report_with_heartbeats_and_dossiers(stores):
    city = stores.city()
    city.record([report("HN-HK", 1, service("HT", "Hộ tịch", 12, wait_now=35.0), service("CT", "Cư trú", 4),
                        kiosks={"HN-HK-01": True, "HN-HK-02": False}),
                 report("HN-BD", 1, service("HT", "Hộ tịch", 3, wait_now=None, wait_p90=25.0),
                        kiosks={"HN-BD-01": True}, target=30)], "digest")
    beat(stores.fleet, "HN-HK-01", printer="paper_out")
    codes = [stores.backend.submit(f"city-view-{n}", dossier_body("HT05", copies=n + 1), "HN-HK-01")[0]["code"]
             for n in range(3)]
    stores.backend.submit("city-view-other", dossier_body("HT05"), "HN-BD-01")
    finish(stores.backend, codes[0], late=False)
    finish(stores.backend, codes[1], late=True)
    view = CityView(city, stores.fleet, stores.backend.db)

    snapshot = view.snapshot()
    hk, bd = (next(e for e in snapshot["centres"] if e["centre"] == c) for c in ("HN-HK", "HN-BD"))
    assert [e["centre"] for e in snapshot["centres"]] == ["HN-BD", "HN-HK"]  # by name
    assert (hk["flag"], hk["waiting"], hk["wait_now_min"], hk["stale"]) == ("red", 16, 35.0, False)
    assert [s["flag"] for s in hk["services"]] == ["red", "green"]
    assert (hk["kiosks_online"], hk["kiosks_offline"], hk["kiosks_out_of_paper"]) == (1, ["HN-HK-02"], ["HN-HK-01"])
    assert (hk["dossiers_today"], hk["on_time_rate"]) == (3, 0.5)
    assert (bd["flag"], bd["wait_now_min"], bd["wait_p90_min"], bd["dossiers_today"], bd["on_time_rate"]) == (
        "amber", None, 25.0, 1, None)

    later = CityView(city, stores.fleet, stores.backend.db,
                     clock=lambda: dt.datetime.now(LOCAL_TZ) + dt.timedelta(seconds=STALE_AFTER_S + 1))
    assert {e["flag"] for e in later.snapshot()["centres"]} == {"stale"}  # the figures stay, marked out of date
    city.db.close()


@pytest.mark.stores
def test_the_drill_down_compares_today_hour_by_hour_with_four_weeks_ago(stores):
    before = dt.datetime.combine(TODAY - dt.timedelta(weeks=4), dt.time(8), LOCAL_TZ)
    old = stores.city(at=before + dt.timedelta(hours=10))
    old.record([report("HN-HK", n + 1, service("HT", "Hộ tịch", 2, issued=issued), at=before + dt.timedelta(
        minutes=minute)) for n, (minute, issued) in enumerate([(10, 5), (70, 9)])], "digest")
    old.db.close()
    city = stores.city()
    today = dt.datetime.combine(TODAY, dt.time(8), LOCAL_TZ)
    city.record([report("HN-HK", n + 3, service("HT", "Hộ tịch", 6, issued=issued, wait_p90=p90),
                        at=today + dt.timedelta(minutes=minute))
                 for n, (minute, issued, p90) in enumerate([(5, 7, 11.0), (50, 12, 14.0), (125, 30, 19.5)])],
                "digest")
    drill = CityView(city, stores.fleet, stores.backend.db).centre("HN-HK")
    city.db.close()
    assert drill["centre"]["issued"] == 30 and drill["compare_day"] == (TODAY - dt.timedelta(weeks=4)).isoformat()
    hours = {h["hour"]: h for h in drill["hours"]}
    assert [hours[h]["today"] and hours[h]["today"]["issued"] for h in (8, 9, 10)] == [12, None, 18]
    assert hours[10]["today"]["wait_p90_min"] == 19.5
    assert [hours[h]["compare"] and hours[h]["compare"]["issued"] for h in (8, 9, 10)] == [5, 4, None]


# -- over HTTP ---------------------------------------------------------------------------------------------------------
def start_backend(target: Path | str) -> RunningBackend:
    store = open_store(target)
    store.add_token("admin", None, ADMIN)
    store.add_token("report", None, REPORTER)
    for kiosk, token in KIOSKS.items():
        store.add_token("kiosk", kiosk, token)
    store.close()
    return start_in_thread(target, settings=BackendSettings.beside(target))


@pytest.fixture
def backend_target(tmp_path) -> Path | str:
    return store_target(tmp_path / "backend.db")


@pytest.fixture
def backend(backend_target) -> Iterator[RunningBackend]:
    running = start_backend(backend_target)
    yield running
    running.stop()


def send(url: str, *reports: dict[str, Any]) -> None:
    answer = httpx.post(f"{url}/api/city/reports", json={"reports": list(reports)},
                        headers={"Authorization": f"Bearer {REPORTER}"}, timeout=10)
    assert answer.status_code == 200 and answer.json()["accepted"] == len(reports), answer.text


def get(url: str, path: str, token: str | None = ADMIN) -> httpx.Response:
    return httpx.get(f"{url}{path}", headers={"Authorization": f"Bearer {token}"} if token else {}, timeout=10)


@pytest.mark.stores
def test_only_an_admin_token_reads_the_city(backend):
    send(backend.url, report("HN-HK", 1, service("HT", "Hộ tịch", 12)))
    for token, status in ((None, 401), ("wrong", 401), (KIOSKS["HN-HK-01"], 403), (REPORTER, 403)):
        for path in ("/api/city", "/api/city/HN-HK"):
            refused = get(backend.url, path, token)
            assert refused.status_code == status and set(refused.json()) == {"error", "message"}, (path, token)
    city = get(backend.url, "/api/city").json()
    assert [(c["centre"], [s["waiting"] for s in c["services"]]) for c in city["centres"]] == [("HN-HK", [12])]
    assert get(backend.url, "/api/city/HN-HK").json()["centre"]["waiting"] == 12
    for unknown in ("/api/city/HN-NONE", "/api/city/bad%20id", "/api/city/" + "A" * 40):
        refused = get(backend.url, unknown)
        assert refused.status_code == 404 and refused.json()["error"] == "not_found"


@pytest.mark.stores
@pytest.mark.parametrize("path", ["/admin/city", "/admin/city.csv", "/admin/city/events", "/admin/city/HN-HK"])
def test_the_city_pages_need_an_admin_session(backend, path):
    answer = httpx.get(f"{backend.url}{path}", timeout=10)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/admin/login?next=")


@pytest.mark.stores
def test_the_csv_export_downloads_for_a_logged_in_admin(backend):
    send(backend.url, report("HN-HK", 1, service("HT", "Hộ tịch", 12), service("CT", "Cư trú", 2),
                             name="Chi nhánh phường Hoàn Kiếm"))
    cookies, _csrf = admin_session(backend.url, ADMIN)
    answer = httpx.get(f"{backend.url}/admin/city.csv", cookies=cookies, timeout=10)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith('attachment; filename="thanh-pho-')
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert answer.content.startswith(b"\xef\xbb\xbf") and len(rows) == 3
    assert [row[HEADERS.index("Dịch vụ")] for row in rows[1:]] == ["Hộ tịch", "Cư trú"]
    assert rows[1][HEADERS.index("Trung tâm")] == "Chi nhánh phường Hoàn Kiếm"


@pytest.mark.stores
def test_a_stream_or_page_for_a_centre_that_never_reported_is_a_404_page(backend):
    """The fuzz test cannot follow a stream that never ends, so the stream's one input is checked here."""
    send(backend.url, report("HN-HK", 1, service("HT", "Hộ tịch", 5)))
    cookies, _csrf = admin_session(backend.url, ADMIN)
    with httpx.Client(base_url=backend.url, cookies=cookies, timeout=10) as client:
        for centre in ("HN-NONE", "\x00", "A" * 3000, "../HN-HK", "²", "HN-HK\n", ""):
            for path, params in (("/admin/city/events", {"centre": centre}), (f"/admin/city/{quote(centre, safe='')}", None)):
                if not centre and params is None:
                    continue
                answer = client.get(path, params=params)
                assert answer.status_code == 404, (path, centre)
                assert "Chưa có trung tâm nào" in answer.text or "/" in centre, (path, centre, answer.text)
        assert client.get("/admin/city/HN-HK").status_code == 200


def events(stream: Iterator[str]) -> Iterator[tuple[str, Any]]:
    """(event, data) of each SSE message in ``stream`` (its lines); comments are skipped."""
    name, data = "", ""
    for line in stream:
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and name:
            yield name, json.loads(data)
            name = ""


def next_event(stream: Iterator[tuple[str, Any]], wanted: Any) -> tuple[str, Any]:
    """The first message ``wanted(event, data)`` accepts (the stream's own time-outs bound the wait)."""
    for event, data in stream:
        if wanted(event, data):
            return event, data
    raise AssertionError("the stream ended")


def waiting_of(data: dict[str, Any], centre: str) -> int | None:
    return next((c["waiting"] for c in data.get("centres", []) if c["centre"] == centre), None)


@pytest.mark.stores
def test_the_live_stream_shows_a_report_another_backend_process_received(backend, backend_target):
    other = start_backend(backend_target)  # a second backend on the same store, as behind a load balancer
    try:
        send(backend.url, report("HN-HK", 1, service("HT", "Hộ tịch", 5)))
        cookies, csrf = admin_session(backend.url, ADMIN)
        with httpx.Client(base_url=backend.url, cookies=cookies, timeout=PATIENCE_S) as client, \
                client.stream("GET", "/admin/city/events") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            stream = events(response.iter_lines())
            assert waiting_of(next_event(stream, lambda e, d: e == "city")[1], "HN-HK") == 5
            send(other.url, report("HN-HK", 2, service("HT", "Hộ tịch", 19, wait_now=45.0)))
            event, data = next_event(stream, lambda e, d: waiting_of(d, "HN-HK") == 19)
            assert (event, data["centres"][0]["flag"], data["removed"]) == ("changes", "red", [])
            send(other.url, report("HN-BD", 1, service("HT", "Hộ tịch", 2)))
            _event, data = next_event(stream, lambda e, d: waiting_of(d, "HN-BD") == 2)
            assert [c["centre"] for c in data["centres"]] == ["HN-BD"]  # HN-HK did not change: not sent again
            client.post("/admin/logout", data={"csrf": csrf})
            send(other.url, report("HN-HK", 3, service("HT", "Hộ tịch", 20)))
            assert next_event(stream, lambda e, d: e not in ("city", "changes"))[0] == "logged_out"
    finally:
        other.stop()


# -- in a real browser -------------------------------------------------------------------------------------------------
HANOI = ["Hoàn Kiếm", "Ba Đình", "Cầu Giấy", "Đống Đa", "Hai Bà Trưng", "Tây Hồ", "Long Biên", "Hoàng Mai",
         "Thanh Xuân", "Hà Đông", "Từ Liêm", "Sơn Tây", "Sóc Sơn", "Đông Anh", "Gia Lâm", "Thanh Trì", "Ba Vì",
         "Chương Mỹ", "Thường Tín", "Mê Linh"]
SERVICES = [("HT", "Hộ tịch"), ("CT", "Cư trú"), ("DD", "Đất đai"), ("KD", "Kinh doanh")]


BUSY = [8, 12, 31, 10, 14, 26, 9, 7, 18, 22, 11, 35, 13, 6, 16, 25, 10, 9, 15]  # each centre's longest wait (min)


def wall_of_centres(seq: int) -> list[dict[str, Any]]:
    """Eighteen live centres (HN-01…HN-18), most calm, a few busy: a wall screen on a Monday morning."""
    reports = []
    for n, (place, busy) in list(enumerate(zip(HANOI, BUSY)))[1:]:
        services = [service(code, name, int(busy * share / 2) + 2, issued=30 + 3 * n + busy, wait_now=busy * share,
                            wait_p90=round(busy * share * 1.1, 1), virtual_waiting=n % 3)
                    for (code, name), share in zip(SERVICES, (1.0, 0.8, 0.6, 0.4))]
        kiosks = {f"HN-{n:02d}-01": True, f"HN-{n:02d}-02": n % 7 != 3}
        reports.append(report(f"HN-{n:02d}", seq, *services, name=f"Chi nhánh {place}", kiosks=kiosks,
                              at=AT + dt.timedelta(seconds=seq)))
    return reports


def history_of(centre: str, day: dt.date, first_seq: int, scale: float) -> list[dict[str, Any]]:
    """A day of reports every 15 minutes, 07:30–17:00, busiest mid-morning."""
    reports, issued = [], 0
    for n, minutes in enumerate(range(7 * 60 + 30, 17 * 60 + 1, 15)):
        rush = max(0.0, 1 - abs(minutes / 60 - 9.5) / 4)
        issued += int(scale * (2 + 10 * rush))
        at = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), LOCAL_TZ)
        reports.append(report(centre, first_seq + n, *(
            service(code, name, int((4 + 14 * rush) * share), issued=int(issued * share),
                    wait_now=round((5 + 30 * rush * scale) * share, 1),
                    wait_p90=round((8 + 28 * rush * scale) * share, 1))
            for (code, name), share in zip(SERVICES, (1.0, 0.7, 0.5, 0.3))), at=at, name=f"Chi nhánh {HANOI[0]}",
            kiosks={"HN-00-01": True}))
    return reports


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium); run scripts/bootstrap.sh as root")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    SCREENS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        yield launched
        launched.close()


# Both drill-down charts exist (Chart.js) and have painted pixels on their canvas.
CHARTS_DRAWN_JS = """() => ['chart-tickets', 'chart-waits'].every(id => {
    const canvas = document.getElementById(id), chart = window.Chart && Chart.getChart(canvas);
    if (!chart || canvas.width === 0) return false;
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    return pixels.some((value, i) => i % 4 === 3 && value > 0); })"""
def city_page(browser: Any, url: str) -> tuple[Any, Any, list[str]]:
    """(context, page, script errors and CSP refusals) of an administrator who logged in and opened /admin/city on
    a 1920×1080 wall screen."""
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                  viewport={"width": 1920, "height": 1080})
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{url}/admin/login?next=/admin/city")
    page.fill("#token", ADMIN)
    page.click("button[type=submit]")
    return context, page, errors


ROW_FLAG_JS = "centre => document.querySelector(`#city-rows tr[data-centre='${centre}']`)?.className"


@pytest.mark.stores
def test_the_wall_screen_updates_live_and_draws_the_drill_down_charts(backend, backend_target, browser):
    stores = Stores(backend_target)
    try:
        old = stores.city(at=dt.datetime.combine(TODAY - dt.timedelta(weeks=4), dt.time(18), LOCAL_TZ))
        old.record(history_of("HN-00", TODAY - dt.timedelta(weeks=4), 1, 0.8), "digest")
        old.db.close()
        silent = stores.city(at=dt.datetime.now(LOCAL_TZ) - dt.timedelta(minutes=5))  # last heard 5 minutes ago
        silent.record([report("HN-19", 1, service("HT", "Hộ tịch", 4), name=f"Chi nhánh {HANOI[19]}")], "digest")
        silent.db.close()
    finally:
        stores.close()
    send(backend.url, *history_of("HN-00", TODAY, 100, 1.2))  # HN-00: a whole day, for the drill-down
    send(backend.url, *wall_of_centres(1000))
    for n in range(3):  # three dossiers filed today at a kiosk of HN-05
        filed = httpx.post(f"{backend.url}/api/dossiers", json=dossier_body("HT05", copies=n + 1), timeout=10,
                           headers={"Authorization": f"Bearer {KIOSKS['HN-05-01']}", "Idempotency-Key": f"wall-{n:04d}"})
        assert filed.status_code == 201, filed.text
    context, page, errors = city_page(browser, backend.url)
    try:
        page.wait_for_selector("#city-rows tr[data-centre='HN-05']")
        assert page.evaluate("document.querySelectorAll('#city-rows tr').length") == 20
        assert page.evaluate("document.documentElement.scrollHeight") <= 1080, "20 centres fit without scrolling"
        assert "Chi nhánh Đống Đa" in page.inner_text("#city-rows")
        assert page.evaluate(ROW_FLAG_JS, "HN-05") == "flag-amber"
        assert page.evaluate(ROW_FLAG_JS, "HN-19") == "flag-stale"
        assert page.inner_text("#city-rows tr[data-centre='HN-05'] td:nth-child(12)") == "3"  # dossiers today
        page.evaluate("window.notReloaded = true")

        busier = wall_of_centres(1001)
        next(r for r in busier if r["centre"] == "HN-05")["services"][0].update(waiting=48, wait_now_min=52.0,
                                                                                issued=120)  # was amber
        send(backend.url, *busier)
        eventually(lambda: page.evaluate(ROW_FLAG_JS, "HN-05") == "flag-red", message="HN-05 turns red")
        assert page.evaluate("window.notReloaded") is True, "updated over SSE, not by reloading"
        page.click("button[data-sort=waiting]")
        assert page.evaluate("document.querySelector('#city-rows tr').dataset.centre") == "HN-05"
        assert "sort=waiting" in page.url
        page.screenshot(path=str(SCREENS / "city.png"))

        page.click("#city-rows tr[data-centre='HN-00'] a")
        page.wait_for_selector("#service-rows tr")
        eventually(lambda: page.evaluate(CHARTS_DRAWN_JS), message="both charts drawn")
        bars = page.evaluate("Chart.getChart(document.getElementById('chart-tickets')).data.datasets"
                             ".map(d => d.data.filter(v => v !== null).length)")
        assert bars[0] >= 9 and bars[1] >= 9, bars  # today and four weeks ago, every opening hour
        assert page.evaluate("document.documentElement.scrollHeight") <= 1080
        assert "Chi nhánh Hoàn Kiếm" in page.inner_text("h1")
        page.screenshot(path=str(SCREENS / "city-centre.png"))
        page.evaluate("window.notReloaded = true")
        send(backend.url, report("HN-00", 500, service("HT", "Hộ tịch", 77, issued=900, wait_now=61.0),
                                 name="Chi nhánh Hoàn Kiếm", at=AT + dt.timedelta(minutes=30)))
        eventually(lambda: page.inner_text("#centre-tiles .tile .value") == "77", message="the drill-down follows")
        assert page.inner_text("#centre-flag") == "Vượt mục tiêu" and page.evaluate("window.notReloaded") is True
        assert not errors, errors
    finally:
        context.close()


@pytest.mark.stores
def test_a_real_branch_queue_that_grows_turns_red_on_the_wall_screen(backend, browser, tmp_path):
    """End to end: the branch's queue engine, its city sender (as ``queue serve --report-to`` runs it, one turn at a
    time), the backend, the page."""
    clock = WallClock(dt.datetime.now(LOCAL_TZ).replace(microsecond=0))
    engine = QueueEngine(store_target(tmp_path / "queue.db"),
                         [ServiceDef(code="HT", name_vi="Hộ tịch", prefix="A", counters=[1], hours="always")],
                         clock=clock)
    sender = CitySender(CityLink(backend.url, REPORTER, Centre("HN-HK", "Chi nhánh Hoàn Kiếm", 30)), engine,
                        clock=clock)
    context = None
    try:
        take(engine, "HT")
        sender.step()
        context, page, errors = city_page(browser, backend.url)
        page.wait_for_selector("#city-rows tr[data-centre='HN-HK']")
        assert page.evaluate(ROW_FLAG_JS, "HN-HK") == "flag-green"
        for _ in range(12):  # twelve more people, one counter: the estimate passes the 30-minute target
            take(engine, "HT")
        clock.advance(seconds=30)  # the next report slot
        sender.step()
        eventually(lambda: page.evaluate(ROW_FLAG_JS, "HN-HK") == "flag-red", message="HN-HK turns red")
        assert page.inner_text("#city-rows tr[data-centre='HN-HK'] td.waiting") == "13"
        assert not errors, errors
    finally:
        if context is not None:
            context.close()
        sender.stop()
        engine.close()
