"""Publishing to a real backend on 127.0.0.1 and syncing kiosks from it: ETag/304, targets, sessions, refusals."""

from __future__ import annotations

import random
import subprocess
import sys
import threading

import httpx
import pytest
from nacl.signing import SigningKey

from backend.server import free_port
from contracts.content.signing import encode_public_key, generate_key_pair, load_signing_key
from kiosk.content import load_current
from kiosk.content.sync import ContentSync, PollResult
from tests.support import (
    ADMIN_TOKEN,
    KIOSK_ID,
    ROOT,
    ServeProcess,
    content_backend,
    content_config,
    kiosk_token,
    make_bundle,
    publish,
    server_env,
)


class RecordingTransport(httpx.HTTPTransport):
    """A real HTTP transport that notes what was asked with which If-None-Match, and the status that came back."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str | None, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        self.seen.append((request.headers.get("if-none-match"), response.status_code))
        return response


@pytest.fixture
def stranger() -> SigningKey:
    """A key the backend trusts (another fleet's administrator, say) but the kiosks of these tests do not."""
    return SigningKey.generate()


@pytest.fixture
def backend(tmp_path, key, stranger):
    running = content_backend(tmp_path / "backend.db", key, stranger)
    yield running
    running.stop()


def announcement(config) -> str:
    return load_current(config).files.announcements.announcements[0].text


def test_publish_then_sync_applies_and_the_second_poll_is_a_304(tmp_path, backend, key):
    result = publish(backend, make_bundle(tmp_path, key, 1, text="Lịch nghỉ Tết"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("published content version 1 for all kiosks (sha256 ")

    config = content_config(tmp_path / "kiosk", key)
    transport = RecordingTransport()
    sync = ContentSync(config, url=backend.url, token=kiosk_token(backend), session_active=lambda: False,
                       transport=transport)
    try:
        assert sync.poll_once() == PollResult("applied", "for all kiosks", 1)
        assert announcement(config) == "Lịch nghỉ Tết"
        assert sync.poll_once() == PollResult("unchanged", "not modified (304)")
        first_etag = transport.seen[0]
        assert first_etag == (None, 200) and transport.seen[1][1] == 304 and transport.seen[1][0].startswith('"')

        assert publish(backend, make_bundle(tmp_path, key, 2, text="Giờ làm việc mới")).returncode == 0
        assert sync.poll_once().outcome == "applied"
        assert announcement(config) == "Giờ làm việc mới"
        assert transport.seen[2][1] == 200 and not list((config.data_dir / "content" / "downloads").iterdir())
    finally:
        sync.close()


def test_publish_refusals_exit_1_with_the_reason(tmp_path, backend, key):
    bundle = make_bundle(tmp_path, key, 3)
    as_kiosk = publish(backend, bundle, token=kiosk_token(backend))
    assert (as_kiosk.returncode, as_kiosk.stderr.strip()) == (1, "refused by the backend (403): admin token required")
    assert publish(backend, bundle).returncode == 0
    older = publish(backend, make_bundle(tmp_path, key, 2))
    assert older.returncode == 1
    assert older.stderr.strip() == "refused by the backend (409): version 2 is not above the newest published version 3"
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    refused = publish(backend, junk)
    assert refused.returncode == 1 and "(422): unreadable bundle" in refused.stderr
    down = subprocess.run([sys.executable, "main.py", "content", "publish", str(bundle), "--to",
                           f"http://127.0.0.1:{free_port()}", "--token", "x"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert down.returncode == 1 and down.stderr.startswith("cannot publish:")


def test_backend_serve_accepts_offline_keys_from_files_and_the_environment_and_nothing_else(tmp_path):
    """An administrator's laptop key (--trusted-key FILE) and a second one mid-rotation (the variable) publish;
    a bundle signed by any other key is refused by name."""
    laptop, _public = generate_key_pair(tmp_path / "laptop")
    rotated, stranger = SigningKey.generate(), SigningKey.generate()
    server = ServeProcess("backend", "serve", "--db", str(tmp_path / "backend.db"), "--trusted-key",
                          str(tmp_path / "laptop" / "content-signing.pub"),
                          env=server_env(BACKEND_ADMIN_TOKEN=ADMIN_TOKEN,
                                         BACKEND_CONTENT_TRUSTED_KEYS=encode_public_key(rotated.verify_key)))
    try:
        assert publish(server, make_bundle(tmp_path, load_signing_key(laptop), 1)).returncode == 0
        assert publish(server, make_bundle(tmp_path, rotated, 2)).returncode == 0
        refused = publish(server, make_bundle(tmp_path, stranger, 3))
        assert refused.returncode == 1 and "(422): signed by key" in refused.stderr
    finally:
        server.stop()
    (tmp_path / "notes.pub").write_text("khoá mới của anh Minh\n", encoding="utf-8")
    bad = subprocess.run([sys.executable, "main.py", "backend", "serve", "--db", str(tmp_path / "b.db"),
                          "--trusted-key", str(tmp_path / "notes.pub")], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, env=server_env())
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith(f"{tmp_path / 'notes.pub'}: cannot read the public key")


def test_latest_serves_the_newest_bundle_targeting_the_kiosk(tmp_path, backend, key):
    for version, target in ((1, "all"), (2, "group:hoan-kiem"), (3, "kiosk:HN-BD-07")):
        assert publish(backend, make_bundle(tmp_path, key, version, target=target)).returncode == 0
    token = kiosk_token(backend)

    def latest(**params) -> httpx.Response:
        return httpx.get(f"{backend.url}/api/content/latest", params=params,
                         headers={"Authorization": f"Bearer {token}"})

    assert latest(kiosk=KIOSK_ID).headers["x-content-version"] == "1"
    assert latest(kiosk=KIOSK_ID, group="hoan-kiem").headers["x-content-version"] == "2"
    assert latest(kiosk="HN-BD-07").status_code == 403  # a kiosk token reads only its own kiosk's content
    assert latest().status_code == 422
    other = httpx.get(f"{backend.url}/api/content/latest", params={"kiosk": "HN-BD-07"},
                      headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert other.headers["x-content-version"] == "3"
    assert httpx.get(f"{backend.url}/api/content/latest", params={"kiosk": "X"}).status_code == 401
    etag = latest(kiosk=KIOSK_ID).headers["etag"]
    conditional = httpx.get(f"{backend.url}/api/content/latest", params={"kiosk": KIOSK_ID},
                            headers={"Authorization": f"Bearer {token}", "If-None-Match": f'W/"x", {etag}'})
    assert conditional.status_code == 304 and conditional.content == b""


def test_content_waits_for_the_citizen_session_to_end(tmp_path, backend, key):
    assert publish(backend, make_bundle(tmp_path, key, 1, text="Mới")).returncode == 0
    config = content_config(tmp_path / "kiosk", key)
    in_session = True
    sync = ContentSync(config, url=backend.url, token=kiosk_token(backend), session_active=lambda: in_session)
    try:
        assert sync.poll_once() == PollResult("pending", "waiting for the citizen session to end", 1)
        assert sync.poll_once().outcome == "pending"  # no second download while one waits
        assert load_current(config) is None
        in_session = False
        assert sync.apply_pending() == PollResult("applied", "for all kiosks", 1)
        assert announcement(config) == "Mới"
    finally:
        sync.close()


def test_refused_bundle_leaves_content_and_is_not_downloaded_again(tmp_path, backend, key, stranger):
    trusted = key
    config = content_config(tmp_path / "kiosk", trusted)
    token = kiosk_token(backend)
    assert publish(backend, make_bundle(tmp_path, trusted, 1, text="Chính chủ")).returncode == 0
    transport = RecordingTransport()
    sync = ContentSync(config, url=backend.url, token=token, session_active=lambda: False, transport=transport)
    try:
        assert sync.poll_once().outcome == "applied"
        assert publish(backend, make_bundle(tmp_path, stranger, 2, text="Giả mạo")).returncode == 0
        refused = sync.poll_once()
        assert refused.outcome == "refused" and "not among the trusted keys" in refused.detail
        assert announcement(config) == "Chính chủ"
        assert sync.poll_once() == PollResult("unchanged", "not modified (304)")
        assert [status for _, status in transport.seen] == [200, 200, 304]
    finally:
        sync.close()


def test_oversize_download_is_cut_off(tmp_path, backend, key):
    photo = b"\x89PNG\r\n\x1a\n" + random.Random(1).randbytes(120_000)
    assert publish(backend, make_bundle(tmp_path, key, 1, extra_files={"images/photo.png": photo})).returncode == 0
    config = content_config(tmp_path / "kiosk", key, "content.max_bundle_mb=0.05")
    sync = ContentSync(config, url=backend.url, token=kiosk_token(backend), session_active=lambda: False)
    try:
        assert sync.poll_once() == PollResult("refused", "download exceeds the limit of 0.05 MB", 1)
        assert not list((config.data_dir / "content" / "downloads").iterdir())
        assert load_current(config) is None
    finally:
        sync.close()


def test_unreachable_backend_is_reported_not_raised(tmp_path):
    config = content_config(tmp_path / "kiosk", SigningKey.generate())
    sync = ContentSync(config, url=f"http://127.0.0.1:{free_port()}", token="t", session_active=lambda: False)
    try:
        assert sync.poll_once() == PollResult("unavailable", "ConnectError: backend unreachable")
    finally:
        sync.close()


def test_poll_interval_has_jitter_and_the_loop_stops(tmp_path, backend, key):
    config = content_config(tmp_path / "kiosk", key, "content.poll_interval_s=100")
    results: list[PollResult] = []
    stop = threading.Event()

    def collect(result: PollResult) -> None:
        results.append(result)
        stop.set()

    sync = ContentSync(config, url=backend.url, token=kiosk_token(backend), session_active=lambda: False,
                       on_result=collect, rng=random.Random(7))
    try:
        delays = [sync.next_delay() for _ in range(200)]
        assert all(80 <= d <= 120 for d in delays) and max(delays) - min(delays) > 30
        worker = threading.Thread(target=sync.run, args=(stop,), daemon=True)
        worker.start()
        worker.join(timeout=10)
        assert not worker.is_alive()
        assert results == [PollResult("none", "nothing published for this kiosk")]
    finally:
        sync.close()
