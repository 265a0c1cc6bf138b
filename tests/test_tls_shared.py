"""One TLS context per (CA file, client certificate): the kiosk's HTTP clients that trust the same site CA share one
``ssl.SSLContext`` (each loads a whole CA set), a client for another CA gets its own, and sharing changes nothing
about verification — checked against a real HTTPS server on 127.0.0.1 with CAs made by openssl for the test.
"""

from __future__ import annotations

import http.server
import os
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kiosk.backend_client import BackendClient
from kiosk.heartbeat import Heartbeat
from kiosk.tls import ssl_context, transport_for


def openssl(folder: Path, *args: str) -> None:
    result = subprocess.run(["openssl", *args], cwd=folder, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def make_ca(folder: Path, name: str) -> Path:
    openssl(folder, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}")
    return folder / f"{name}.pem"


def issue(folder: Path, ca: str, name: str, extension: str) -> tuple[Path, Path]:
    """A certificate for ``name`` signed by ``ca``, with one X.509 v3 ``extension``; returns (pem, key)."""
    (folder / f"{name}.ext").write_text(extension + "\n")
    openssl(folder, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
    openssl(folder, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext")
    return folder / f"{name}.pem", folder / f"{name}.key"


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pki")
    paths = {"site": make_ca(folder, "site-ca"), "other": make_ca(folder, "other-ca")}
    paths["server"], paths["server_key"] = issue(folder, "site-ca", "server", "subjectAltName=IP:127.0.0.1")
    paths["kiosk"], paths["kiosk_key"] = issue(folder, "site-ca", "kiosk", "extendedKeyUsage=clientAuth")
    return paths


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 — the http.server hook's name
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_args) -> None:
        """Quiet."""


def https_server(pki: dict[str, Path], *, client_ca: Path | None = None) -> Iterator[str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki["server"], pki["server_key"])
    if client_ca is not None:  # mutual TLS: only kiosks with a certificate from this CA get in
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(client_ca)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, name="https-server", daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def https_url(pki):
    yield from https_server(pki)


@pytest.fixture(scope="module")
def mtls_url(pki):
    yield from https_server(pki, client_ca=pki["site"])


def context_of(client: httpx.Client) -> ssl.SSLContext:
    return client._transport._pool._ssl_context  # httpx → httpcore: where the connections get their TLS from


def get(url: str, transport: httpx.HTTPTransport) -> int:
    with httpx.Client(transport=transport, timeout=10) as client:
        return client.get(url).status_code


def test_the_kiosk_clients_for_one_ca_share_one_context_and_another_ca_gets_its_own(pki, https_url):
    backend = BackendClient(https_url, "token", transport=transport_for(pki["site"]))
    heartbeat = Heartbeat(https_url, "token", "K01", 60, dict, transport=transport_for(pki["site"]))
    other = BackendClient(https_url, "token", transport=transport_for(pki["other"]))
    default, also_default = BackendClient(https_url, "token"), Heartbeat(https_url, "token", "K01", 60, dict)
    try:
        assert context_of(backend._http) is context_of(heartbeat._http) is ssl_context(pki["site"])
        assert context_of(other._http) is ssl_context(pki["other"]) is not ssl_context(pki["site"])
        assert context_of(default._http) is context_of(also_default._http) is ssl_context(None)
        assert ssl_context(None) not in (ssl_context(pki["site"]), ssl_context(pki["other"]))
    finally:
        for client in (backend, other, default):
            client.close()
        heartbeat.stop(timeout_s=1)
        also_default.stop(timeout_s=1)


def test_a_shared_context_still_verifies_the_server(pki, https_url):
    assert get(https_url, transport_for(pki["site"])) == 200
    assert get(https_url, transport_for(pki["site"])) == 200  # the second client, on the same context
    for wrong in (pki["other"], None):  # another site's CA, the public CAs
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            get(https_url, transport_for(wrong))


def test_a_ca_file_replaced_on_disk_gets_a_fresh_context(pki, https_url, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_bytes(pki["other"].read_bytes())
    wrong = ssl_context(ca)
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        get(https_url, transport_for(ca))
    ca.write_bytes(pki["site"].read_bytes())  # the technician puts the right CA in place
    later = os.stat(ca).st_mtime_ns + 1_000_000
    os.utime(ca, ns=(later, later))  # a different mtime even on a coarse-grained file system
    assert ssl_context(ca) is not wrong and get(https_url, transport_for(ca)) == 200


def test_a_client_certificate_is_part_of_the_key_and_is_presented(pki, mtls_url):
    cert = (pki["kiosk"], pki["kiosk_key"])
    assert ssl_context(pki["site"], cert) is ssl_context(pki["site"], cert) is not ssl_context(pki["site"])
    assert get(mtls_url, transport_for(pki["site"], cert)) == 200
    with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
        get(mtls_url, transport_for(pki["site"]))  # no certificate: the server ends the handshake
