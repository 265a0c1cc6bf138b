"""Several `backend serve` processes on one PostgreSQL database behave as one backend.

Two real processes (A and B, started at the same moment, so their migrations and seeds race too) share a throw-away
PostgreSQL database: duplicate submissions sent to both at once make one dossier (a survey key one answer, a
booking one check-in), concurrent filings get dense
unique codes, sessions, login lockouts, look-up limits, content bundles and heartbeats made on one are seen by the
other; one process SIGKILLed under load loses no acknowledged dossier. These always need PostgreSQL (the
``pg_cluster`` fixture), whatever ``--store`` says.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from nacl.signing import SigningKey

from contracts.content.signing import encode_public_key
from contracts.sqldb import open_database
from tests.support import PATIENCE_S, ROOT, ServeProcess, dossier_body, make_bundle, server_env

ADMIN = secrets.token_urlsafe(24)
KIOSK = secrets.token_urlsafe(24)
LOOKUPS_PER_TOKEN = 4
AGENCY = "000.00.13.H26"
ROUNDS = 5
FILINGS = 50


def serve_pair(url: str, **env: str) -> tuple[ServeProcess, ServeProcess]:
    """Two `backend serve` processes on ``url``, started at the same moment."""
    environment = server_env(BACKEND_ADMIN_TOKEN=ADMIN, BACKEND_KIOSK_TOKEN=KIOSK, **env)
    words = ("backend", "serve", "--db", url, "--lookup-rate-per-token", str(LOOKUPS_PER_TOKEN))
    with ThreadPoolExecutor(2) as pool:
        started = [pool.submit(ServeProcess, *words, env=environment) for _ in range(2)]
        first, second = (future.result() for future in started)
    return first, second


@pytest.fixture(scope="module")
def content_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture(scope="module")
def pair(pg_cluster, content_key):
    url = pg_cluster.fresh_database()
    a, b = serve_pair(url, BACKEND_CONTENT_TRUSTED_KEYS=encode_public_key(content_key.verify_key))
    yield a, b, url
    a.stop()
    b.stop()


def kiosk(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {KIOSK}", **(extra or {})}


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run ``calls`` on threads released together by a barrier; their results in order."""
    barrier = threading.Barrier(len(calls))

    def released(call: Callable[[], Any]) -> Any:
        barrier.wait(timeout=PATIENCE_S)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(released, calls))


def todays_codes(url: str) -> list[str]:
    db = open_database(url)
    try:
        return [row[0] for row in db.query("SELECT code FROM dossiers WHERE code NOT LIKE '%-251120-%' ORDER BY code")]
    finally:
        db.close()


def assert_dense(codes: list[str]) -> None:
    """Codes of one day numbered 1..n: none twice, none skipped."""
    sequences = sorted(int(code.rsplit("-", 1)[1]) for code in codes)
    assert sequences == list(range(1, len(codes) + 1)), sequences


def submit(process: ServeProcess, key: str, body: dict[str, Any], timeout: float = 30) -> httpx.Response:
    return httpx.post(f"{process.url}/api/dossiers", json=body, headers=kiosk({"Idempotency-Key": key}),
                      timeout=timeout)


def test_two_processes_starting_together_migrate_and_seed_once(pair):
    _a, _b, url = pair
    db = open_database(url)
    try:
        names = [row[0] for row in db.query("SELECT name FROM _migrations")]
        demo = db.query("SELECT COUNT(*) FROM dossiers WHERE code LIKE '%-251120-%'")
        counter = db.query("SELECT last FROM day_counters WHERE day = '251120'")
        timeline = db.query("SELECT COUNT(*) FROM timeline WHERE code LIKE '%-251120-%'")
    finally:
        db.close()
    assert len(names) == len(set(names)) and "0001_backend" in names and "ratelimit_0001_hits" in names
    assert demo == [(5,)] and counter == [(5,)] and timeline == [(13,)]


def test_the_same_key_sent_to_both_at_once_makes_one_dossier_and_both_answers_carry_it(pair):
    a, b, url = pair
    for round_ in range(ROUNDS):
        key = f"twin-{round_}-{secrets.token_hex(4)}"
        body = dossier_body("HT05")
        answers = at_once([lambda p=process, k=key, d=body: submit(p, k, d) for process in (a, b)])
        assert sorted(answer.status_code for answer in answers) == [200, 201], [answer.text for answer in answers]
        assert answers[0].json()["code"] == answers[1].json()["code"]
    db = open_database(url)
    try:
        per_key = db.query("SELECT key, COUNT(*) FROM idempotency WHERE key LIKE 'twin-%' GROUP BY key")
    finally:
        db.close()
    assert len(per_key) == ROUNDS and all(count == 1 for _key, count in per_key)
    assert_dense(todays_codes(url))


def test_a_survey_key_and_a_booking_check_in_sent_to_both_at_once_count_once(pair):
    a, b, url = pair
    answer = {"rating": 4, "kind": "standalone", "branch": "Hoàn Kiếm", "answered_at": "2026-11-30T10:00:00+07:00"}
    key = f"survey-twin-{secrets.token_hex(4)}"
    recorded = at_once([lambda p=process: httpx.post(f"{p.url}/api/surveys", json=answer, timeout=30,
                                                      headers=kiosk({"Idempotency-Key": key})) for process in (a, b)])
    assert sorted(r.status_code for r in recorded) == [200, 201] and recorded[0].json() == recorded[1].json()
    checked = at_once([lambda p=process: httpx.post(f"{p.url}/api/bookings/BK-251120-DEMO01/checkin", headers=kiosk(),
                                                     timeout=30) for process in (a, b)])
    assert sorted(r.status_code for r in checked) == [200, 409]
    assert [r.json()["error"] for r in checked if r.status_code == 409] == ["used"]
    db = open_database(url)
    try:
        assert db.query("SELECT COUNT(*) FROM survey_answers WHERE key = ?", [key]) == [(1,)]
    finally:
        db.close()


def test_concurrent_filings_across_both_get_dense_unique_codes(pair):
    a, b, url = pair
    before = len(todays_codes(url))
    answers = at_once([lambda n=n: submit((a, b)[n % 2], f"dense-{n}-{secrets.token_hex(4)}",
                                          dossier_body("HT05")) for n in range(FILINGS)])
    assert [answer.status_code for answer in answers] == [201] * FILINGS
    codes = todays_codes(url)
    assert len(codes) == before + FILINGS and {answer.json()["code"] for answer in answers} <= set(codes)
    assert_dense(codes)


def login(process: ServeProcess, client: httpx.Client, token: str) -> httpx.Response:
    form = client.get(f"{process.url}/admin/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    return client.post(f"{process.url}/admin/login", data={"csrf": csrf, "token": token, "next": "/admin/fleet"})


def test_an_admin_session_made_on_one_process_works_on_the_other_and_logging_out_ends_it_there(pair):
    a, b, _url = pair
    with httpx.Client(timeout=10) as browser:  # cookies are per host, not per port: both processes get them
        assert login(a, browser, ADMIN).status_code == 303
        session = browser.cookies["admin_session"]
        page = browser.get(f"{b.url}/admin/fleet")
        assert page.status_code == 200 and 'name="csrf"' in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        assert browser.post(f"{b.url}/admin/logout", data={"csrf": csrf}).status_code == 303
    with httpx.Client(timeout=10, cookies={"admin_session": session}) as replay:
        assert replay.get(f"{a.url}/admin/fleet").status_code == 303  # to the login page: the session is over


def test_a_login_lockout_made_on_one_process_holds_on_the_other(pair):
    a, b, _url = pair
    # from an address of its own, so the lockout touches no other test
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(timeout=10, transport=transport) as guesser:
        statuses = [login(a, guesser, f"wrong-{n}").status_code for n in range(6)]
        assert statuses[:5] == [401] * 5 and statuses[5] == 429
        locked = login(b, guesser, ADMIN)  # the right token, on the other process: still blocked
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0


def test_the_look_up_limit_is_shared_by_both_processes(pair):
    a, b, _url = pair
    issued = httpx.post(f"{a.url}/api/admin/kiosks", json={"kiosk_id": "limits"},
                        headers={"Authorization": f"Bearer {ADMIN}"}).json()["token"]
    answers = [httpx.get(f"{(a, b)[n % 2].url}/api/dossiers/{AGENCY}-251120-0001",
                         headers={"Authorization": f"Bearer {issued}"}, timeout=10)
               for n in range(LOOKUPS_PER_TOKEN + 1)]
    assert [answer.status_code for answer in answers] == [200] * LOOKUPS_PER_TOKEN + [429]
    assert answers[-1].json()["error"] == "rate_limited" and int(answers[-1].headers["Retry-After"]) >= 1


def test_a_bundle_published_on_one_process_is_served_by_the_other(pair, content_key, tmp_path):
    a, b, _url = pair
    bundle = make_bundle(tmp_path, content_key, 7, text="Thông báo từ tiến trình A")
    published = httpx.post(f"{a.url}/api/content/bundles", content=bundle.read_bytes(),
                           headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30)
    assert published.status_code == 201, published.text
    fetched = httpx.get(f"{b.url}/api/content/latest", params={"kiosk": "cli"}, headers=kiosk(), timeout=30)
    assert fetched.status_code == 200 and fetched.content == bundle.read_bytes()
    assert fetched.headers["ETag"] == f'"{published.json()["sha256"]}"'
    again = httpx.get(f"{a.url}/api/content/latest", params={"kiosk": "cli"},
                      headers=kiosk({"If-None-Match": fetched.headers["ETag"]}), timeout=30)
    assert again.status_code == 304


def test_a_heartbeat_posted_to_one_process_shows_on_the_others_fleet(pair):
    a, b, _url = pair
    beat = {"kiosk_id": "K-ONE-TRUTH", "interval_s": 60, "branch": "Hoàn Kiếm", "app_version": "0.1.0",
            "printer": "paper_low", "scanner": "listening", "outbox_depth": 0, "uptime_s": 10}
    assert httpx.post(f"{a.url}/api/fleet/heartbeat", json=beat,
                      headers={"Authorization": f"Bearer {ADMIN}"}).status_code == 200
    fleet = httpx.get(f"{b.url}/api/fleet", headers={"Authorization": f"Bearer {ADMIN}"}).json()
    shown = [k for k in fleet["kiosks"] if k["kiosk_id"] == "K-ONE-TRUTH"]
    assert len(shown) == 1 and shown[0]["flags"] == ["paper_low"]
    with httpx.Client(timeout=10) as browser:
        assert login(b, browser, ADMIN).status_code == 303
        assert 'class="sev-orange" data-kiosk="K-ONE-TRUTH"' in browser.get(f"{b.url}/admin/fleet").text


def test_the_database_url_may_come_from_the_environment(pg_cluster, tmp_path):
    url = pg_cluster.fresh_database()
    migrated = subprocess.run([sys.executable, str(ROOT / "main.py"), "backend", "migrate"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60,
                              env=server_env(BACKEND_DATABASE_URL=url))
    assert migrated.returncode == 0 and "applied 0001_backend" in migrated.stdout, migrated.stderr
    server = ServeProcess("backend", "serve", env=server_env(BACKEND_DATABASE_URL=url, BACKEND_KIOSK_TOKEN=KIOSK),
                          cwd=tmp_path)
    try:
        code = submit(server, "from-the-environment", dossier_body("HT05")).json()["code"]
    finally:
        server.stop()
    assert code in todays_codes(url) and list(tmp_path.iterdir()) == []  # no backend-data/ made beside it


def test_a_process_killed_mid_load_loses_no_acknowledged_dossier_and_the_other_keeps_answering(pg_cluster):
    """GIVEN two processes taking filings alternately WHEN one is SIGKILLed half-way THEN every filing either
    process acknowledged is in the database, the other answers every filing sent to it, and a kiosk re-sending the
    unanswered ones (same keys) to the survivor gets exactly one dossier each, codes still dense."""
    url = pg_cluster.fresh_database()
    a, b = serve_pair(url)
    keys = [f"load-{n}-{secrets.token_hex(4)}" for n in range(60)]
    acknowledged: dict[str, str] = {}
    unanswered: list[str] = []
    lock = threading.Lock()
    half = threading.Event()

    def file(n: int) -> None:
        target = b if n % 2 else a
        try:
            answer = submit(target, keys[n], dossier_body("HT05"), timeout=60)
        except httpx.HTTPError:
            assert target is a, "the surviving process failed a filing"
            with lock:
                unanswered.append(keys[n])
            return
        assert answer.status_code == 201, answer.text
        with lock:
            acknowledged[keys[n]] = answer.json()["code"]
            if len(acknowledged) >= 15:
                half.set()

    try:
        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(file, n) for n in range(len(keys))]
            assert half.wait(PATIENCE_S)
            os.kill(a.proc.pid, signal.SIGKILL)
            for future in futures:
                future.result()
        assert a.proc.wait(timeout=10) == -signal.SIGKILL
        codes = set(todays_codes(url))
        assert set(acknowledged.values()) <= codes
        for key in unanswered:  # the kiosk's outbox retries, now to the survivor
            again = submit(b, key, dossier_body("HT05"))
            assert again.status_code in (200, 201)  # 200: A had committed it before dying
        codes_now = todays_codes(url)
        assert len(codes_now) == len(keys)
        assert_dense(codes_now)
    finally:
        a.stop()
        b.stop()


def test_two_workers_serve_one_port_and_a_sqlite_file_refuses_them(pg_cluster, tmp_path):
    url = pg_cluster.fresh_database()
    server = ServeProcess("backend", "serve", "--db", url, "--workers", "2",
                          env=server_env(BACKEND_KIOSK_TOKEN=KIOSK))
    try:
        codes = {submit(server, f"workers-{n}", dossier_body("HT05")).json()["code"] for n in range(10)}
        assert len(codes) == 10
        children = subprocess.run(["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True).stdout.split()
        workers = [pid for pid in children if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")]
        assert len(workers) == 2  # uvicorn's two workers (beside them: multiprocessing's resource tracker)
    finally:
        server.stop()
    refused = subprocess.run([sys.executable, str(ROOT / "main.py"), "backend", "serve", "--db",
                              str(tmp_path / "backend.db"), "--workers", "2"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=60, env=server_env())
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "postgresql://" in refused.stderr and list(Path(tmp_path).iterdir()) == []


def test_a_database_that_goes_away_is_a_503_with_retry_after_never_a_500(pg_cluster):
    """GIVEN a backend on a PostgreSQL database WHEN that database is dropped under it THEN look-ups, filings,
    admin pages and /health answer 503 store_unavailable with Retry-After (a load balancer stops sending, a
    kiosk keeps its filing), and the process stays up."""
    url = pg_cluster.fresh_database()
    server = ServeProcess("backend", "serve", "--db", url, env=server_env(BACKEND_KIOSK_TOKEN=KIOSK))
    try:
        assert httpx.get(f"{server.url}/health").json() == {"ok": True}
        name = url.split("@/", 1)[1].split("?")[0]
        pg_cluster.psql(f"DROP DATABASE {name} WITH (FORCE)")
        answers = [httpx.get(f"{server.url}/health", timeout=30),
                   httpx.get(f"{server.url}/api/dossiers/{AGENCY}-251120-0001", headers=kiosk(), timeout=30),
                   submit(server, "after-the-drop", dossier_body("HT05")),
                   httpx.get(f"{server.url}/admin/fleet", cookies={"admin_session": "some-session"}, timeout=30)]
        for answer in answers:
            assert answer.status_code == 503, (answer.request.url, answer.text)
            assert answer.json()["error"] == "store_unavailable" and int(answer.headers["Retry-After"]) > 0
        assert server.proc.poll() is None
    finally:
        server.stop()


def test_unreachable_postgres_stops_the_start_with_one_line_and_creates_nothing(tmp_path, pg_cluster):
    missing = pg_cluster.url("no_such_database")
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "backend", "serve", "--db", missing], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60, env=server_env())
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "no_such_database" in result.stderr and "cannot connect" in result.stderr
    assert list(tmp_path.iterdir()) == []
