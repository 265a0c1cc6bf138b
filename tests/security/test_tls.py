"""TLS: both servers serve HTTPS with a certificate from a local site CA made by the openssl commands of
docs/operations.md (run as written); a kiosk with the CA file talks to them, one without refuses with the fix,
and the admin cookies are Secure. On main before issue 16 neither server could serve TLS at all."""

from __future__ import annotations

import re
import secrets
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from config.loader import load_config
from kiosk.backend_client import BackendUnavailable, connect_remote
from kiosk.tls import transport_for
from tests.support import ROOT, ServeProcess, server_env

ADMIN = "admin-" + secrets.token_urlsafe(24)
KIOSK = "kiosk-" + secrets.token_urlsafe(24)


def documented_ca_commands() -> str:
    """The shell lines of the "HTTPS with the site's own CA" section, continuations joined."""
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8").replace("\\\n", " ")
    section = text.split("## HTTPS with the site's own CA", 1)[1].split("\n## ", 1)[0]
    return "\n".join(line.strip() for line in re.findall(r"^ {4}(.+)$", section, flags=re.MULTILINE))


@pytest.fixture(scope="module")
def site_ca(tmp_path_factory) -> Path:
    """The folder the documented commands fill (site-ca.pem, server.pem, server.key), for 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls") / "tls"
    script = documented_ca_commands().replace("/etc/kiosk/tls", str(folder)).replace("192.168.10.5", "127.0.0.1")
    result = subprocess.run(["bash", "-euc", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return folder


def trusting(folder: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(folder / "site-ca.pem"))


def tls_flags(folder: Path) -> tuple[str, ...]:
    return "--certfile", str(folder / "server.pem"), "--keyfile", str(folder / "server.key")


@pytest.fixture(scope="module")
def https_backend(site_ca, tmp_path_factory):
    db = tmp_path_factory.mktemp("backend") / "backend.db"
    server = ServeProcess("backend", "serve", "--db", str(db), *tls_flags(site_ca), scheme="https",
                          verify=trusting(site_ca), env=server_env(BACKEND_ADMIN_TOKEN=ADMIN, BACKEND_KIOSK_TOKEN=KIOSK))
    yield server
    server.stop()


def kiosk_config(tmp_path: Path, url: str, *extra: str):
    return load_config(None, [f"data_dir={tmp_path}", f"backend.url={url}", f"backend.token={KIOSK}", *extra])


def test_a_kiosk_with_the_site_ca_reaches_the_https_backend(https_backend, site_ca, tmp_path):
    client, close = connect_remote(kiosk_config(tmp_path, https_backend.url, f"backend.ca_file={site_ca}/site-ca.pem"))
    try:
        assert client.procedures()["procedures"]
    finally:
        close()


def test_a_kiosk_without_the_site_ca_refuses_the_certificate_and_says_how_to_fix_it(https_backend, tmp_path):
    client, close = connect_remote(kiosk_config(tmp_path, https_backend.url))
    try:
        with pytest.raises(BackendUnavailable, match="TLS certificate is not trusted; set backend.ca_file"):
            client.procedures()
    finally:
        close()


def test_admin_cookies_are_secure_under_tls(https_backend, site_ca):
    with httpx.Client(base_url=https_backend.url, verify=trusting(site_ca)) as browser:
        form = browser.get("/admin/login")
        assert "Secure" in form.headers["set-cookie"]
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        login = browser.post("/admin/login", data={"csrf": csrf, "token": ADMIN, "next": "/admin/fleet"})
    assert login.status_code == 303
    session = [c for c in login.headers.get_list("set-cookie") if c.startswith("admin_session=")]
    assert session and "Secure" in session[0] and "HttpOnly" in session[0]


def test_the_queue_server_serves_https_to_a_kiosk_with_the_site_ca(site_ca, tmp_path):
    server = ServeProcess("queue", "serve", "--db", str(tmp_path / "queue.db"), "--set", f"data_dir={tmp_path}",
                          *tls_flags(site_ca), scheme="https", verify=trusting(site_ca), env=server_env())
    try:
        with httpx.Client(transport=transport_for(site_ca / "site-ca.pem")) as kiosk:
            assert kiosk.get(f"{server.url}/openapi.json").status_code == 200
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"{server.url}/openapi.json")
    finally:
        assert "Branch queue server on https://" in server.stop()


def test_a_server_key_other_users_can_read_is_refused(site_ca, tmp_path):
    exposed = tmp_path / "server.key"
    exposed.write_bytes((site_ca / "server.key").read_bytes())
    exposed.chmod(0o644)
    result = subprocess.run([sys.executable, "main.py", "backend", "serve", "--db", str(tmp_path / "b.db"),
                             "--certfile", str(site_ca / "server.pem"), "--keyfile", str(exposed)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, env=server_env())
    assert result.returncode == 2 and f"chmod 600 {exposed}" in result.stderr
