"""``python main.py doctor``: one line per check, exit 0 only when healthy; each failure names what to fix."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading

import pytest

from config.loader import load_config
from contracts.pin import hash_pin
from kiosk.doctor import check_backend, check_data_dir, run_checks
from tests.support import ROOT

OWN_PIN = f"technician.pin_hash={hash_pin('913572', n=2**10)}"  # a site's own PIN: the demo one fails doctor


def doctor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BACKEND_", "QUEUE_"))}
    return subprocess.run([sys.executable, "main.py", "doctor", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**clean, **(env or {})})


def test_healthy_install_passes_every_check(tmp_path):
    result = doctor("--set", f"data_dir={tmp_path}", "--set", OWN_PIN)
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 0, result.stdout
    assert len(lines) >= 7 and all(line.startswith("PASS") for line in lines)


def test_printer_out_of_paper_fails_the_printer_check(tmp_path):
    result = doctor("--set", f"data_dir={tmp_path}", "--set", "printer.connection=sim:?fault=paper_out", "--set",
                    OWN_PIN)
    assert result.returncode == 1
    assert [line for line in result.stdout.splitlines() if line.startswith("FAIL")] == [
        "FAIL  printer: sim:?fault=paper_out (generic-80): paper_out"
    ]


def test_bad_config_is_a_failed_check_not_a_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[printer]\nkind = 'laser'\n")
    result = doctor("--config", str(bad))
    assert result.returncode == 1 and result.stdout.startswith("FAIL  config:") and "printer.kind" in result.stdout


def test_unwritable_data_dir_fails(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    config = load_config(None, [f"data_dir={blocker / 'data'}"])
    assert not check_data_dir(config).ok


@pytest.fixture
def health_server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 — http.server API
            self.send_response(200 if self.path == "/health" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_backend_check_against_a_real_server_and_a_closed_port(health_server):
    assert check_backend(load_config(None, [f"backend.url={health_server}"])).ok
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    result = check_backend(load_config(None, [f"backend.url=http://127.0.0.1:{closed}"]))
    assert not result.ok and "unreachable" in result.detail


def test_checks_never_raise(tmp_path):
    config = load_config(None, [f"data_dir={tmp_path}", "printer.kind=tcp", "printer.connection=tcp:127.0.0.1:1"])
    results = run_checks(config)
    assert {r.name for r in results} >= {"data dir", "printer", "fonts", "clock"}
