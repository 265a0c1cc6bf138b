"""Memory exhaustion (issue 16): a 150 MB upload to either server is refused after its cap, never buffered.

Real servers on 127.0.0.1 and a raw socket that streams a chunked body while watching for the answer, the way an
attacker would: the test counts how much it got to send before the server answered. Before the streaming caps, the
queue server read all 150 MB (71 → 364 MB RSS) and the payment callback read its body before the signature.
"""

from __future__ import annotations

import select
import socket
from urllib.parse import urlsplit

import pytest

from backend.app import BackendSettings
from backend.app import create_app as backend_app
from backend.server import open_store, serve_in_thread
from queueing.server import create_app as queue_app
from tests.stores import store_target
from tests.support import WallClock, open_engine, queue_token

pytestmark = pytest.mark.stores  # the server runs on store_target: SQLite, then PostgreSQL

ATTACK_BYTES = 150 * 1024 * 1024
CHUNK = 64 * 1024
ANSWERED_WITHIN = 8 * 1024 * 1024  # far above every JSON route's cap, far below the attack


def stream_until_answered(url: str, path: str, headers: dict[str, str]) -> tuple[int, int]:
    """POST a chunked body of up to ATTACK_BYTES; returns (HTTP status, bytes sent before the answer came)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as conn:
        head = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", "Transfer-Encoding: chunked",
                "Content-Type: application/json", *(f"{name}: {value}" for name, value in headers.items())]
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        chunk = f"{CHUNK:x}\r\n".encode() + b"[" * CHUNK + b"\r\n"
        sent, pending = 0, memoryview(chunk)
        while sent < ATTACK_BYTES:
            # never block in a send: a server that stopped reading answers, and the answer must be seen
            readable, writable, _ = select.select([conn], [conn], [], 30)
            if readable or not writable:
                break
            try:
                pending = pending[conn.send(pending):]
            except (BrokenPipeError, ConnectionResetError):  # the server answered and closed: read its answer
                break
            if not pending:
                sent, pending = sent + CHUNK, memoryview(chunk)
        answer = conn.recv(4096).decode("latin-1")
    return int(answer.split(" ", 2)[1]), sent


@pytest.fixture
def queue_server(tmp_path):
    engine = open_engine(store_target(tmp_path / "queue.db"), WallClock())
    running = serve_in_thread(queue_app(engine, counter_passwords={}, kiosk_tokens=[queue_token()]))
    yield running
    running.stop()
    engine.close()


@pytest.fixture
def backend_server(tmp_path):
    store = open_store(store_target(tmp_path / "backend.db"))
    running = serve_in_thread(backend_app(store, BackendSettings(payment_secret="a-secret-the-bank-and-we-share")))
    yield running
    running.stop()


def test_a_huge_ticket_request_from_a_kiosk_is_refused_at_its_cap(queue_server):
    status, sent = stream_until_answered(queue_server.url, "/api/tickets",
                                         {"Authorization": f"Bearer {queue_token()}", "Idempotency-Key": "k" * 16})
    assert status == 413 and sent < ANSWERED_WITHIN


def test_a_huge_body_without_a_token_is_refused_before_it_is_read(queue_server):
    status, sent = stream_until_answered(queue_server.url, "/api/tickets", {})
    assert status == 401 and sent < ANSWERED_WITHIN


def test_a_huge_payment_callback_is_refused_before_its_signature_is_checked(backend_server):
    status, sent = stream_until_answered(backend_server.url, "/api/payments/callback", {"X-Signature": "0" * 64})
    assert status == 413 and sent < ANSWERED_WITHIN
