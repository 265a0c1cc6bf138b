"""Many submissions through a backend that fails in every way a network can: exactly one dossier each.

The fault wrapper sits in front of the real backend app on 127.0.0.1 and, by a fixed random schedule, answers
500 before the backend sees the request, or lets the backend commit and then answers 500, stalls past the
client's timeout, or drops the connection mid-response. The suite runs a bounded number; ``-m slow`` runs 1,000.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from backend.app import create_app
from backend.server import open_store, serve_in_thread
from kiosk.backend_client import BackendClient
from kiosk.outbox import Outbox
from tests.support import PATIENCE_S, dossier_body, eventually

FAULTS = ("ok", "500_before", "500_after_commit", "stall_after_commit", "drop_after_commit")
WEIGHTS = (70, 8, 8, 6, 8)
CLIENT_TIMEOUT_S = 0.4


class FaultyNetwork:
    def __init__(self, app, seed: int) -> None:
        self.app = app
        self.rng = random.Random(seed)
        self.seen = dict.fromkeys(FAULTS, 0)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        fault = self.rng.choices(FAULTS, WEIGHTS)[0]
        self.seen[fault] += 1
        if fault == "ok":
            return await self.app(scope, receive, send)
        if fault == "500_before":
            return await _plain(send, 500)
        captured: list[dict] = []

        async def hold(message):
            captured.append(message)

        await self.app(scope, receive, hold)  # the backend commits the dossier; its answer is lost below
        if fault == "500_after_commit":
            return await _plain(send, 502)
        if fault == "stall_after_commit":
            await asyncio.sleep(CLIENT_TIMEOUT_S * 3)  # the fault itself: an answer slower than the client waits
            return await _plain(send, 504)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")]})
        await send({"type": "http.response.body", "body": b'{"code": "000.', "more_body": True})
        raise ConnectionResetError("connection dropped mid-answer")


async def _plain(send, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"fault"})


def run_submissions(tmp_path, count: int, seed: int) -> None:
    store = open_store(tmp_path / "backend.db")
    token = store.add_token("kiosk", "k01")
    faulty = FaultyNetwork(create_app(store), seed)
    running = serve_in_thread(faulty)
    before = store.count_dossiers()
    outbox = Outbox(tmp_path / "outbox.db", "K01")
    client = BackendClient(running.url, token, timeout_s=CLIENT_TIMEOUT_S)
    try:
        refs = [outbox.add(f"fault-test-{n:05d}", dossier_body("HT05", copies=n % 10 + 1,
                                                                       applicant_name=f"Phạm Văn {n}"))
                for n in range(count)]
        eventually(lambda: not outbox.items("pending"), between=lambda: outbox.deliver_once(client),
                   timeout=PATIENCE_S + count * 0.2, message="every submission delivered")
    finally:
        client.close()
        running.stop()
    states = {item["state"] for item in outbox.items()}
    codes = [outbox.find(ref)["code"] for ref in refs]
    assert states == {"delivered"}, f"still pending or dead: {states}"
    assert store.count_dossiers() == before + count, "one dossier per submission, no more, no fewer"
    assert len(set(codes)) == count
    assert count < 100 or all(faulty.seen[fault] > 0 for fault in FAULTS), faulty.seen
    outbox.close()


def test_bounded_run_through_every_fault(tmp_path):
    run_submissions(tmp_path, count=120, seed=7)


@pytest.mark.slow
def test_one_thousand_submissions_through_every_fault(tmp_path):
    run_submissions(tmp_path, count=1000, seed=11)
