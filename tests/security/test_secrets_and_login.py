"""No built-in secrets, secrets kept out of ``ps``, admin login brute force locked out, doctor failing on weak
settings. Each test is an attack (or a weak setting) that worked on main before issue 16, tried against the real
``backend serve`` process or the real backend on 127.0.0.1."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from backend.admin.sessions import AdminSessions, LoginPolicy
from backend.app import BackendSettings
from backend.server import start_in_thread
from contracts.pin import hash_pin
from tests.stores import store_target
from tests.support import ROOT, FakeClock, ServeProcess, dossier_body, server_env

ADMIN = "admin-" + secrets.token_urlsafe(24)
KIOSKS = ["kiosk-one-" + secrets.token_urlsafe(16), "kiosk-two-" + secrets.token_urlsafe(16)]
OLD_DEMO_ACCOUNT = "113000006868"  # the account main once put in every fee QR code


def secret_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text + "\n", encoding="utf-8")
    path.chmod(mode)
    return path


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def backend(tmp_path):
    """``backend serve`` with its admin token in a file and two kiosk tokens in the environment."""
    token_file = secret_file(tmp_path / "admin-token", ADMIN)
    server = ServeProcess("backend", "serve", "--db", str(store_target(tmp_path / "backend.db")), "--admin-token-file",
                          str(token_file), env=server_env(BACKEND_KIOSK_TOKEN=",".join(KIOSKS)))
    yield server
    server.stop()


@pytest.mark.stores
def test_secrets_from_a_file_and_the_environment_work_and_never_show_in_ps(backend):
    assert httpx.post(f"{backend.url}/api/admin/kiosks", json={"kiosk_id": "HN-01"},
                      headers=bearer(ADMIN)).status_code == 201
    for token in KIOSKS:
        assert httpx.get(f"{backend.url}/api/dossiers/X/payment", headers=bearer(token)).status_code != 401
    command_line = Path(f"/proc/{backend.proc.pid}/cmdline").read_bytes().decode()
    assert not [secret for secret in (ADMIN, *KIOSKS) if secret in command_line]


@pytest.mark.stores
def test_no_bank_account_and_no_payment_secret_by_default(backend):
    """The fee QR paid into a demo account written in the code, and the callback key was a constant."""
    created = httpx.post(f"{backend.url}/api/dossiers", json=dossier_body("HT05"),
                         headers={**bearer(KIOSKS[0]), "Idempotency-Key": "dossier-0001"})
    assert created.status_code == 201, created.text
    payment = httpx.get(f"{backend.url}/api/dossiers/{created.json()['code']}/payment", headers=bearer(KIOSKS[0]))
    assert (payment.status_code, payment.json()["error"]) == (409, "payments_not_configured")
    assert OLD_DEMO_ACCOUNT not in payment.text
    stderr = backend.stop()
    assert "BACKEND_PAYMENT_SECRET is not set" in stderr and "BACKEND_BANK_ACCOUNT is not set" in stderr


@pytest.mark.stores
def test_the_bank_account_comes_from_the_environment(tmp_path):
    server = ServeProcess("backend", "serve", "--db", str(store_target(tmp_path / "backend.db")),
                          env=server_env(BACKEND_KIOSK_TOKEN=KIOSKS[0], BACKEND_BANK_BIN="970436",
                                         BACKEND_BANK_ACCOUNT="0011004455667"))
    try:
        created = httpx.post(f"{server.url}/api/dossiers", json=dossier_body("HT05"),
                             headers={**bearer(KIOSKS[0]), "Idempotency-Key": "dossier-0001"})
        qr = httpx.get(f"{server.url}/api/dossiers/{created.json()['code']}/payment", headers=bearer(KIOSKS[0]))
        assert qr.status_code == 200 and "0011004455667" in qr.json()["vietqr"]
    finally:
        server.stop()


@pytest.mark.stores
def test_a_token_taken_out_of_the_configuration_stops_working(tmp_path):
    db = str(store_target(tmp_path / "backend.db"))
    first = ServeProcess("backend", "serve", "--db", db, env=server_env(BACKEND_ADMIN_TOKEN=ADMIN))
    first.stop()
    rotated = "rotated-" + secrets.token_urlsafe(24)
    second = ServeProcess("backend", "serve", "--db", db, env=server_env(BACKEND_ADMIN_TOKEN=rotated))
    try:
        url = f"{second.url}/api/admin/kiosks"
        assert httpx.post(url, json={"kiosk_id": "K1"}, headers=bearer(ADMIN)).status_code == 401
        assert httpx.post(url, json={"kiosk_id": "K1"}, headers=bearer(rotated)).status_code == 201
    finally:
        second.stop()


def test_a_secret_file_other_users_can_read_is_refused(tmp_path):
    token_file = secret_file(tmp_path / "admin-token", ADMIN, mode=0o644)
    result = subprocess.run([sys.executable, "main.py", "backend", "serve", "--db", str(tmp_path / "b.db"),
                             "--admin-token-file", str(token_file)], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, env=server_env())
    assert result.returncode == 2 and f"chmod 600 {token_file}" in result.stderr


# -- the admin login ---------------------------------------------------------------------------------------------
@pytest.fixture
def admin_site(tmp_path):
    db = store_target(tmp_path / "backend.db")
    running = start_in_thread(db, settings=BackendSettings.beside(db))  # SQLite: sessions in fleet.db beside it
    running.store.add_token("admin", None, ADMIN)
    yield running, db
    running.stop()


def browser(url: str, address: str = "127.0.0.1") -> httpx.Client:
    """A browser on ``address`` (any 127.x address reaches the server as a different client)."""
    return httpx.Client(base_url=url, timeout=30, transport=httpx.HTTPTransport(local_address=address))


def log_in(client: httpx.Client, token: str) -> httpx.Response:
    form = client.get("/admin/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    return client.post("/admin/login", data={"csrf": csrf, "token": token, "next": "/admin/fleet"})


@pytest.mark.stores
def test_admin_login_brute_force_is_locked_out_and_the_real_admin_elsewhere_still_gets_in(admin_site):
    running, _db = admin_site
    with browser(running.url) as attacker:
        answers = [log_in(attacker, f"guess-{n}").status_code for n in range(LoginPolicy.free_failures + 1)]
        assert answers == [401] * LoginPolicy.free_failures + [429]
        locked = log_in(attacker, ADMIN)  # even the right token: refused before it is compared
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
        assert "Hãy thử lại sau" in locked.text
    with browser(running.url, "127.0.0.2") as admin:
        assert log_in(admin, ADMIN).status_code == 303


@pytest.mark.stores
def test_the_lockout_survives_a_restart(admin_site, tmp_path):
    running, db = admin_site
    with browser(running.url) as attacker:
        for n in range(LoginPolicy.free_failures + 1):
            log_in(attacker, f"guess-{n}")
    running.stop()
    restarted = start_in_thread(db, settings=BackendSettings.beside(db))
    try:
        with browser(restarted.url) as attacker:
            assert log_in(attacker, ADMIN).status_code == 429
    finally:
        restarted.stop()


@pytest.mark.stores
def test_backoff_doubles_and_the_global_limit_only_removes_free_tries(tmp_path):
    clock = FakeClock(start=1_000_000.0)
    policy = LoginPolicy(free_failures=3, first_block_s=10, max_block_s=60, global_failures=6)
    target = store_target(tmp_path / "fleet.db")
    guard = AdminSessions(target, clock=clock).guard(policy)
    blocks = [guard.failed("10.0.0.1") for _ in range(7)]
    assert blocks == [0, 0, 0, 10, 20, 40, 60]
    assert guard.retry_after("10.0.0.1") == 60
    # seven failures so far: past the global limit every new address is blocked at its first failure…
    assert guard.failed("10.0.0.2") == 10
    # …but an address that never failed is never blocked, and a success clears an address's record
    assert guard.retry_after("10.0.0.3") == 0
    guard.succeeded("10.0.0.2")
    assert guard.retry_after("10.0.0.2") == 0
    # persisted: another process on the same file sees the block
    assert AdminSessions(target, clock=clock).guard(policy).retry_after("10.0.0.1") == 60


# -- doctor ----------------------------------------------------------------------------------------------------------
def doctor(tmp_path: Path, *args: str, **env: str) -> list[str]:
    result = subprocess.run([sys.executable, "main.py", "doctor", "--set", f"data_dir={tmp_path}", *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, env=server_env(**env))
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert (result.returncode == 1) == bool(failed)
    return failed


OWN_PIN = f"technician.pin_hash={hash_pin('913572', n=2**10)}"


def test_doctor_fails_on_the_demo_technician_pin(tmp_path):
    assert [line for line in doctor(tmp_path) if "technician PIN" in line] == [
        "FAIL  technician PIN: still the demo PIN 246810: set technician.pin_hash from `python main.py config "
        "pin-hash`"]
    assert not [line for line in doctor(tmp_path, "--set", OWN_PIN) if "technician PIN" in line]


def test_doctor_fails_on_a_short_admin_token(tmp_path):
    failed = doctor(tmp_path, "--set", OWN_PIN, BACKEND_ADMIN_TOKEN="admin123")
    assert len(failed) == 1 and failed[0].startswith("FAIL  admin token: BACKEND_ADMIN_TOKEN has 8 characters")
    assert not doctor(tmp_path, "--set", OWN_PIN, BACKEND_ADMIN_TOKEN=ADMIN)


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o660])
def test_doctor_fails_on_a_key_file_other_users_can_read_or_change(tmp_path, mode):
    key = secret_file(tmp_path / "content-signing.key", "c2VjcmV0", mode=mode)
    failed = doctor(tmp_path, "--set", OWN_PIN, "--secret-file", str(key))
    assert len(failed) == 1 and failed[0].startswith(f"FAIL  secret files: {key} is")
    assert failed[0].endswith(f"run `chmod 600 {key}`")
    key.chmod(0o600)
    assert not doctor(tmp_path, "--set", OWN_PIN, "--secret-file", str(key))


def test_doctor_fails_on_a_readable_site_config_holding_a_token(tmp_path):
    site = tmp_path / "site.toml"
    site.write_text(f'[backend]\ntoken = "{KIOSKS[0]}"\n[technician]\npin_hash = "{hash_pin("913572", n=2**10)}"\n')
    site.chmod(0o644)
    failed = doctor(tmp_path, "--config", str(site))
    assert len(failed) == 1 and str(site) in failed[0]
