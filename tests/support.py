"""Helpers shared by the tests (fixtures live in conftest.py); a test file never imports another test file.

Wait for a condition, never for a stretch of time: a fixed ``time.sleep`` is either too short on a loaded machine
(the test fails) or too long on a quiet one (the suite crawls). :func:`eventually` polls a condition until it holds
and fails with what it last saw, so a test waits exactly as long as the machine needs, up to a generous bound that
only a real bug reaches. Where the code takes a ``clock=``, tests pass :class:`FakeClock` or :class:`WallClock`
and move time themselves.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import count
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
from nacl.signing import SigningKey

from backend.server import free_port
from config.loader import load_config
from config.localtime import LOCAL_TZ
from config.services import ServiceDef
from contracts.content.bundle import build_bundle
from contracts.content.models import Target
from contracts.content.signing import encode_public_key
from queueing.engine import QueueEngine
from queueing.models import Ticket

T = TypeVar("T")
PATIENCE_S = 30.0  # the bound only a real failure reaches, even with two CPU-bound processes beside the suite


def eventually(condition: Callable[[], T], *, timeout: float = PATIENCE_S, interval: float = 0.01,
               between: Callable[[], None] | None = None, message: str = "") -> T:
    """Poll ``condition`` until it returns something truthy and return that.

    :param between: run between polls instead of sleeping (a UI test lets Kivy draw frames here).
    :raises AssertionError: when ``timeout`` passes first, naming ``message`` and the last value seen.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message or 'condition'} still false after {timeout:g} s (last: {value!r})")
        if between is not None:
            between()
        else:
            time.sleep(interval)


# -- where things are --------------------------------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"  # screenshots and previews for a human to look at
ADMIN_TOKEN = "admin-token-for-tests"  # the conftest ``admin_backend`` accepts it
KIOSK_ID = "HN-HK-01"  # the kiosk a test configures unless it needs several


def queue_token(kiosk_id: str = "K1") -> str:
    """The branch queue token (``<kiosk id>:<secret>``) tests give kiosk ``kiosk_id`` and its server."""
    return f"{kiosk_id}:queue-token-of-{kiosk_id}-for-tests"


REPORT_TOKEN = "queue-report-token-for-tests"  # a branch queue server's report token (tests give it to create_app)


# -- clocks the tests move themselves -------------------------------------------------------------------------------
class FakeClock:
    """Monotonic seconds that only move when a test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


TUESDAY_9AM = datetime(2026, 11, 24, 9, 0, tzinfo=LOCAL_TZ)


class WallClock:
    """Aware local time for the queue engine's injected clock."""

    def __init__(self, start: datetime = TUESDAY_9AM) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# -- the queue engine with two demo services ----------------------------------------------------------------------
def demo_services(**ht: object) -> list[ServiceDef]:
    """HT (A001, counters 1-2) takes overrides; CT (B0001, counter 3) is open around the clock."""
    return [
        ServiceDef(code="HT", name_vi="Hộ tịch", name_en="Civil status", prefix="A", counters=[1, 2],
                   **{"hours": "always", **ht}),
        ServiceDef(code="CT", name_vi="Cư trú", prefix="B", digits=4, counters=[3], hours="always"),
    ]


def open_engine(path: Path | str, clock: WallClock, **ht: object) -> QueueEngine:
    return QueueEngine(path, demo_services(**ht), clock=clock, max_priority_in_row=2)


_requests = count(1)


def take(engine: QueueEngine, service: str = "HT", priority: str | None = None) -> Ticket:
    """One kiosk tap: a fresh request id each time."""
    return engine.issue(service, request_id=f"tap-{next(_requests)}", priority=priority, kiosk_id="K1")


# -- complete, valid e-forms for the seed procedures (the backend rejects incomplete ones) ---------------------------
APPLICANT = {"applicant_name": "Lê Thị Hoa", "applicant_id": "001190012345", "applicant_dob": "1990-05-12",
             "applicant_address": "Số 5 Hàng Gai, Hoàn Kiếm, Hà Nội", "phone": "0912345678"}
CHILD = {"child_name": "Nguyễn Minh Khang", "child_dob": "2026-11-20", "child_gender": "Nam",
         "birth_place": "Bệnh viện Phụ sản Hà Nội", "relationship": "Mẹ"}
DOSSIER_FORMS: dict[str, dict[str, Any]] = {
    "HT01": {**APPLICANT, **CHILD},
    "HT05": {**APPLICANT, "copies": 2},
}


def dossier_body(proc_id: str, **changes: Any) -> dict[str, Any]:
    """A submission of ``proc_id`` with its complete form, ``changes`` applied."""
    return {"procedure_id": proc_id, "form": {**DOSSIER_FORMS[proc_id], **changes}}


# -- a backend's kiosks and published content ------------------------------------------------------------------------
def kiosk_token(backend: Any, kiosk_id: str = KIOSK_ID, admin_token: str = ADMIN_TOKEN) -> str:
    """Register ``kiosk_id`` with a running backend (anything with a ``url``) and return its new token."""
    response = httpx.post(f"{backend.url}/api/admin/kiosks", json={"kiosk_id": kiosk_id},
                          headers={"Authorization": f"Bearer {admin_token}"})
    assert response.status_code == 201, response.text
    return response.json()["token"]


def content_backend(db: Path | str, *keys: SigningKey) -> Any:
    """A seeded backend on 127.0.0.1 (``db``: a SQLite path or a PostgreSQL URL) that accepts :data:`ADMIN_TOKEN`
    and bundles signed with ``keys``; ``stop()`` it."""
    from backend.app import BackendSettings
    from backend.server import start_in_thread

    running = start_in_thread(db, settings=BackendSettings(trusted_keys=tuple(encode_public_key(key.verify_key)
                                                                              for key in keys)))
    add_token(db, "admin", ADMIN_TOKEN)
    return running


def add_token(db: Path | str, role: str, token: str, kiosk_id: str | None = None) -> None:
    """Give a backend's store (a SQLite path or a PostgreSQL URL) one more token, closing what it opened."""
    from backend.store import BackendStore

    store = BackendStore(db)
    try:
        store.add_token(role, kiosk_id, token)
    finally:
        store.close()


def content_config(data_dir: Path, key: SigningKey, *extra: str):
    """A kiosk config (id :data:`KIOSK_ID`) that trusts bundles signed with ``key``."""
    return load_config(None, [f"data_dir={data_dir}", f"kiosk.id={KIOSK_ID}",
                              f'content.trusted_keys=["{encode_public_key(key.verify_key)}"]', *extra])


def make_bundle(tmp_path: Path, key: SigningKey, version: int, *, target: str = "all", text: str = "Thông báo",
                extra_files: dict[str, bytes] | None = None) -> Path:
    """A signed content bundle with one announcement, plus ``extra_files`` by their path in the bundle."""
    source = tmp_path / f"src{version}"
    source.mkdir()
    (source / "announcements.json").write_text(json.dumps({"announcements": [{"text": text}]}, ensure_ascii=False),
                                               encoding="utf-8")
    for name, data in (extra_files or {}).items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(data)
    out = tmp_path / f"bundle{version}.zip"
    build_bundle(source, key, version=version, target=Target.parse(target), out=out,
                 config=load_config(None, [f"data_dir={tmp_path / 'builder'}"]))
    return out


def signed_zip(path: Path, files: dict[str, bytes], key: SigningKey, *, version: int, target=None,
               extra_entries: list[tuple[zipfile.ZipInfo | str, bytes]] = (), manifest_files=None,
               sign: bool = True, expires: str | None = "2100-01-01T00:00:00+00:00") -> Path:
    """A content bundle written independently of contracts.content.bundle, so tests pin the format, not the builder,
    and can sign what the builder would refuse to (an expired bundle, a forbidden config key)."""
    manifest = {"format": 1, "version": version, "target": target or {"all": True},
                "created": "2025-11-20T02:00:00+00:00", "expires": expires,
                "signer": encode_public_key(key.verify_key),
                "files": manifest_files if manifest_files is not None else {
                    name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                    for name, data in files.items()}}
    if expires is None:
        del manifest["expires"]
    manifest_bytes = json.dumps(manifest, ensure_ascii=False).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", manifest_bytes)
        if sign:
            archive.writestr("manifest.sig", base64.b64encode(key.sign(manifest_bytes).signature))
        for name, data in [*files.items(), *extra_entries]:
            archive.writestr(name, data)
    return path


def publish(backend: Any, bundle: Path, token: str = ADMIN_TOKEN) -> subprocess.CompletedProcess:
    """``python main.py content publish``, the way an administrator publishes."""
    return subprocess.run([sys.executable, "main.py", "content", "publish", str(bundle), "--to", backend.url,
                           "--token", token], cwd=ROOT, capture_output=True, text=True, timeout=60)


# -- child processes ----------------------------------------------------------------------------------------------
class LineTail:
    """The lines a child process writes, read on a daemon thread so that a test can wait for one.

    ``readline()`` on a pipe has no timeout: a child that hangs without a word would hang the test with it.
    """

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self.ended = False
        threading.Thread(target=self._read, args=(stream,), name="line-tail", daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line)
        self.ended = True

    def has(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def wait_for(self, text: str, timeout: float = PATIENCE_S) -> None:
        """Wait for a line containing ``text``; fails as soon as the stream ends without one."""
        eventually(lambda: self.has(text) or self.ended, timeout=timeout, message=f"a line with {text!r}")
        assert self.has(text), f"the output ended without {text!r}:\n" + "".join(self.lines[-20:])


# -- the kiosk's UI (tests/ui and the fault runs) -------------------------------------------------------------------
def wait_for(kiosk: Any, condition: Callable[[], object], seconds: float = PATIENCE_S) -> bool:
    """True once ``condition`` holds while the kiosk keeps drawing frames; False if it never does.

    ``kiosk`` is a :class:`tests.ui.driver.KioskDriver`: Kivy only runs its clock (and the answers the core posts
    onto the UI thread) while frames are drawn, so the frames are what the test waits with.
    """
    try:
        eventually(condition, timeout=seconds, between=lambda: kiosk.frames(1))
    except AssertionError:
        return False
    return True


def backend_ready(kiosk: Any) -> None:
    """The kiosk reached its backend (the embedded one starts on a worker after the first frame)."""
    assert wait_for(kiosk, lambda: kiosk.app.core.backend_client is not None), kiosk.app.core.last_error


def assert_not_blank(path: Path) -> None:
    """A screenshot shows something: enough contrast and colours that it is not an empty or single-colour frame."""
    from PIL import Image, ImageStat

    image = Image.open(path).convert("L")
    assert image.size[0] > 100
    spread = ImageStat.Stat(image).stddev[0]
    colours = len(image.getcolors(maxcolors=1 << 16) or range(1 << 16))
    assert spread > 10 and colours > 20, f"{path.name} looks blank (stddev {spread:.1f}, {colours} colours)"


class FaultyServer:
    """A TCP server on 127.0.0.1 that misbehaves on purpose, for "the network is there but does not help" tests.

    Without ``answer_after`` it accepts and never says a word (a server that hangs, a stalled network printer);
    with it, it reads the request's head and answers ``response`` that many seconds later (a slow network). The
    connection is real, so the client's own timeouts decide what happens, as they would on a bad LAN.
    """

    def __init__(self, *, answer_after: float | None = None,
                 response: bytes = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                   b"Content-Length: 2\r\nConnection: close\r\n\r\n{}") -> None:
        import socket

        self._answer_after, self._response = answer_after, response
        self._stop = threading.Event()
        self._conns: list[Any] = []
        self._sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, name="faulty-server", daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self._sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            if self._answer_after is not None:
                threading.Thread(target=self._answer_late, args=(conn,), name="faulty-answer", daemon=True).start()

    def _answer_late(self, conn: Any) -> None:
        received = b""
        try:
            while b"\r\n\r\n" not in received and (chunk := conn.recv(4096)):
                received += chunk
            head, _, body = received.partition(b"\r\n\r\n")
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            while len(body) < length and (chunk := conn.recv(4096)):  # all of it: unread bytes make close() reset
                body += chunk
            if not self._stop.wait(self._answer_after):
                conn.sendall(self._response)
        except OSError:
            pass  # the client gave up first: that is what a slow network does

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        for conn in self._conns:
            conn.close()

    def __enter__(self) -> FaultyServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class SlowLink:
    """A relay on 127.0.0.1 to a working server that holds each piece of the server's replies for ``delay``
    seconds: a slow network in front of a healthy server (every answer comes, late; none times out)."""

    def __init__(self, upstream: str, delay: float) -> None:
        import socket

        host, _, port = upstream.removeprefix("http://").partition(":")
        self._upstream, self._delay = (host, int(port)), delay
        self._stop = threading.Event()
        self._sockets: list[Any] = []
        self._sock = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        threading.Thread(target=self._accept, name="slow-link", daemon=True).start()

    def _accept(self) -> None:
        import socket

        while not self._stop.is_set():
            try:
                client, _addr = self._sock.accept()
                server = socket.create_connection(self._upstream)
            except OSError:
                return
            self._sockets += [client, server]
            threading.Thread(target=self._pipe, args=(client, server, 0.0), name="slow-link-up", daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, self._delay), name="slow-link-down",
                             daemon=True).start()

    def _pipe(self, source: Any, target: Any, delay: float) -> None:
        try:
            while chunk := source.recv(65536):
                if delay and self._stop.wait(delay):
                    return
                target.sendall(chunk)
            target.shutdown(1)  # SHUT_WR: the other side sees the end of this direction
        except OSError:
            pass  # one side went away: the relay ends with it

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        for sock in self._sockets:
            sock.close()

    def __enter__(self) -> SlowLink:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


# -- a branch queue server on a thread ------------------------------------------------------------------------------
class ServedCentre:
    """A centre's queue server (:func:`queueing.server.create_app`) over a fresh engine on a thread on 127.0.0.1,
    with one HTTP client for it; a context manager, or :meth:`close` it (client, server, engine).

    :param db: the engine's store (a SQLite path, or ``tests.stores.store_target(...)`` for the run's engine); the
        engine and the server share :attr:`clock`, a :class:`WallClock` the test may move.
    :param public: the server's ``public_url`` is its own address (phone pages, check-in links and SMS name it), so
        its port is picked before it starts.
    :param headers: sent with every request of :attr:`http` (a kiosk's token, say).
    :param settings: the rest of ``create_app``'s (counter passwords, kiosk tokens, title, SMS gateway, …).
    """

    def __init__(self, db: Path | str, *, public: bool = False, headers: dict[str, str] | None = None,
                 **settings: Any) -> None:
        self.clock = WallClock()
        self.engine = open_engine(db, self.clock)
        self.port = free_port() if public else 0
        if public:
            settings["public_url"] = f"http://127.0.0.1:{self.port}"
        self._settings = settings
        self.running = self._serve()
        self.url = self.running.url
        self.port = int(self.url.rsplit(":", 1)[1])
        self.http = httpx.Client(base_url=self.url, timeout=10, headers=headers)

    def _serve(self) -> Any:
        from backend.server import serve_in_thread
        from queueing.server import create_app

        app = create_app(self.engine, clock=self.clock, **self._settings)
        return serve_in_thread(app, port=self.port, name="queue-server")

    def restart(self) -> None:
        """A new server on the same port and engine (after the test stopped :attr:`running`)."""
        self.running = self._serve()

    def close(self) -> None:
        self.http.close()
        self.running.stop()
        self.engine.close()

    def __enter__(self) -> ServedCentre:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


# -- a server as a real process (`backend serve`, `queue serve`) ---------------------------------------------------
def server_env(**secrets: str) -> dict[str, str]:
    """This process's environment without any server secret (``BACKEND_*``, ``QUEUE_*``), plus ``secrets``."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith(("BACKEND_", "QUEUE_"))}
    return {**clean, **secrets}


class ServeProcess:
    """``python main.py <words> [--port P]`` running until :meth:`stop` (its stderr is returned then); a free port
    is added when the words name none.

    :param verify: how httpx checks an ``https`` server's certificate (e.g. an SSL context with the test CA).
    """

    def __init__(self, *words: str, env: dict[str, str] | None = None, cwd: Path = ROOT, scheme: str = "http",
                 verify: Any = True) -> None:
        if "--port" not in words:
            words = (*words, "--port", str(free_port()))
        self.url = f"{scheme}://127.0.0.1:{words[words.index('--port') + 1]}"
        self.verify = verify
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), *words], cwd=cwd, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        eventually(self._answers, message=f"{' '.join(words[:2])} answering /health")

    def _answers(self) -> bool:
        assert self.proc.poll() is None, self.proc.stderr.read()
        try:
            return httpx.get(f"{self.url}/health", timeout=2, verify=self.verify).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> str:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        finally:
            self.proc.kill()
        return self.proc.stderr.read()


def deliver_to_a_real_backend(outbox: Any, db: Path) -> None:
    """One delivery pass of ``outbox`` against a fresh reference backend on 127.0.0.1 (its store at ``db``): items
    it refuses end up dead, the others delivered — how the retention tests get a dead item the honest way."""
    from backend.app import create_app
    from backend.server import open_store, serve_in_thread
    from kiosk.backend_client import BackendClient

    store = open_store(db)
    backend = serve_in_thread(create_app(store))
    client = BackendClient(backend.url, store.add_token("kiosk", "k01"), timeout_s=2)
    try:
        outbox.deliver_once(client)
    finally:
        client.close()
        backend.stop()
