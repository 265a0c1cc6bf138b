"""Reports need their own credential on both servers, and that credential reads reports and nothing else.

Attack (issue 16, "every caller from the network authenticates"): anyone on a branch LAN read the queue server's
daily figures per counter (``/api/report``, ``/api/report.csv``), which name how each counter performed; and the
backend's survey reports had only the admin token, so whoever reads the figures held the keys to everything. Each
test starts the real server (``queue serve`` / ``backend serve``) with its secrets in the environment or a file.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.stores import store_target
from tests.support import ROOT, ServeProcess, dossier_body, queue_token, server_env

pytestmark = pytest.mark.stores  # the servers run on store_target: SQLite, then PostgreSQL

QUEUE_REPORT = "queue-report-" + secrets.token_urlsafe(16)
BACKEND_REPORT = "backend-report-" + secrets.token_urlsafe(16)
ADMIN = "admin-" + secrets.token_urlsafe(24)
KIOSK = "kiosk-" + secrets.token_urlsafe(16)
QUEUE_REPORTS = ("/api/report", "/api/report.csv")
SURVEY_REPORTS = ("/api/reports/surveys", "/api/reports/surveys.csv")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def secret_file(path: Path, text: str) -> Path:
    path.write_text(text + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def queue_serve(tmp_path: Path, **env: str) -> ServeProcess:
    return ServeProcess("queue", "serve", "--db", str(store_target(tmp_path / "queue.db")), "--set", f"data_dir={tmp_path}",
                        env=server_env(QUEUE_KIOSK_TOKEN=queue_token(), **env))


def test_the_queue_report_needs_a_report_token_which_issues_nothing(tmp_path):
    server = queue_serve(tmp_path, QUEUE_REPORT_TOKEN=f"{QUEUE_REPORT}, another-reader-{QUEUE_REPORT}")
    try:
        with httpx.Client(base_url=server.url, timeout=10) as lan:
            for path in QUEUE_REPORTS:
                for who in ({}, bearer(queue_token()), bearer("x" * len(QUEUE_REPORT))):
                    refused = lan.get(path, headers=who)
                    assert refused.status_code == 401, (path, who, refused.text)
                    assert refused.json()["code"] == "report_refused" and "report token" in refused.json()["error"]
                assert lan.get(path, headers=bearer(QUEUE_REPORT)).status_code == 200
            assert lan.get("/api/report.csv", headers=bearer(QUEUE_REPORT)).text.startswith("\ufeffdate,scope")
            ticket = lan.post("/api/tickets", json={"service": "HT", "request_id": "report-1"},
                              headers=bearer(QUEUE_REPORT))
            block = lan.post("/api/blocks", json={"service": "HT", "size": 10}, headers=bearer(QUEUE_REPORT))
            call = lan.post("/api/counters/1/call-next", headers=bearer(QUEUE_REPORT))
            assert (ticket.status_code, block.status_code, call.status_code) == (401, 401, 401)
    finally:
        server.stop()


def test_a_queue_server_without_a_report_token_refuses_every_reader_and_says_so(tmp_path):
    server = queue_serve(tmp_path)
    try:
        refused = httpx.get(f"{server.url}/api/report", headers=bearer(queue_token()), timeout=10)
        assert refused.status_code == 401 and "QUEUE_REPORT_TOKEN is not set" in refused.json()["error"]
    finally:
        assert "No report token (QUEUE_REPORT_TOKEN or --report-token-file)" in server.stop()


def queue_report_cli(server_url: str, tmp_path: Path, *flags: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", "queue", "report", "--json", "--set", "queue.mode=branch",
                           "--set", f"queue.server={server_url}", "--set", f"data_dir={tmp_path / 'kiosk'}", *flags],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=server_env(QUEUE_KIOSK_TOKEN=queue_token(), **env))


def test_queue_report_on_a_kiosk_sends_the_report_token_and_says_when_it_has_none(tmp_path):
    token_file = secret_file(tmp_path / "report-token", QUEUE_REPORT)
    server = ServeProcess("queue", "serve", "--db", str(store_target(tmp_path / "queue.db")), "--set", f"data_dir={tmp_path}",
                          "--report-token-file", str(token_file), env=server_env(QUEUE_KIOSK_TOKEN=queue_token()))
    try:
        missing = queue_report_cli(server.url, tmp_path)
        assert missing.returncode == 2 and "set QUEUE_REPORT_TOKEN or pass --report-token-file" in missing.stderr
        wrong = queue_report_cli(server.url, tmp_path, QUEUE_REPORT_TOKEN="y" * 32)
        assert wrong.returncode == 1 and "refused the report" in wrong.stderr
        read = queue_report_cli(server.url, tmp_path, "--report-token-file", str(token_file))
        assert read.returncode == 0, read.stderr
        assert set(json.loads(read.stdout)) == {"date", "services", "counters"}
    finally:
        server.stop()


@pytest.fixture
def backend(tmp_path):
    """``backend serve`` with its admin, kiosk and report tokens in the environment."""
    server = ServeProcess("backend", "serve", "--db", str(store_target(tmp_path / "backend.db")),
                          env=server_env(BACKEND_ADMIN_TOKEN=ADMIN, BACKEND_KIOSK_TOKEN=KIOSK,
                                         BACKEND_REPORT_TOKEN=BACKEND_REPORT))
    yield server
    server.stop()


def test_a_backend_report_token_reads_the_survey_reports_and_nothing_else(backend):
    with httpx.Client(base_url=backend.url, timeout=10) as city:
        for path in SURVEY_REPORTS:
            assert city.get(path, headers=bearer(BACKEND_REPORT)).status_code == 200, path
            assert city.get(path, headers=bearer(ADMIN)).status_code == 200, "an administrator still reads them"
            assert city.get(path, headers=bearer(KIOSK)).status_code == 403
        filed = city.post("/api/dossiers", json=dossier_body("HT05"),
                          headers={**bearer(KIOSK), "Idempotency-Key": "report-dossier-1"})
        assert filed.status_code == 201, filed.text
        code = filed.json()["code"]
        for method, path, body in (("GET", f"/api/dossiers/{code}", None),
                                   ("GET", f"/api/dossiers/{code}/payment", None),
                                   ("POST", "/api/dossiers", dossier_body("HT05")),
                                   ("POST", "/api/admin/kiosks", {"kiosk_id": "HN-99"})):
            refused = city.request(method, path, json=body,
                                   headers={**bearer(BACKEND_REPORT), "Idempotency-Key": "report-dossier-2"})
            assert (refused.status_code, refused.json()["error"]) == (403, "forbidden"), (method, path)
        spec = city.get("/openapi.json").json()
        assert spec["paths"]["/api/reports/surveys"]["get"]["security"] == [{"reportToken": []}]
        assert spec["components"]["securitySchemes"]["reportToken"] == {"type": "http", "scheme": "bearer"}


def test_a_report_token_that_is_also_an_admin_token_is_refused_at_start(tmp_path):
    """The store keeps one role per token: the admin token would silently have become a report token."""
    result = subprocess.run([sys.executable, "main.py", "backend", "serve", "--db", str(store_target(tmp_path / "b.db")),
                             "--report-token-file", str(secret_file(tmp_path / "report-token", ADMIN))],
                            cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env=server_env(BACKEND_ADMIN_TOKEN=ADMIN))
    assert result.returncode == 2 and "give reports their own token" in result.stderr
