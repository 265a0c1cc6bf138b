"""Xác nhận có mặt in the real app, headless: a phone's check-in QR scanned on the home screen opens the check-in
screen with the number and "Mời ông/bà chờ gọi số" and says the number aloud (or shows why not), a malformed link is
refused where it was scanned.

The session's app runs a local queue; for the branch case the core's check-in is pointed at a real queue server
with its phone queue (the one part of the core this test replaces; the screen and the scan path are the app's).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from backend.server import serve_in_thread
from contracts.sms import SimulatedGateway, read_simulated
from devices.sim.scanner import send_payload
from kiosk.checkin_flow import PhoneCheckIn
from kiosk.queue_client import BranchQueue
from queueing.server import create_app
from tests.stores import store_target
from tests.support import WallClock, assert_not_blank, eventually, open_engine, queue_token


def scan(kiosk: Any, text: str) -> None:
    host, port = kiosk.app.core.scanner.address
    send_payload(host, port, f"{text}\r\n".encode())


def test_a_local_queue_kiosk_says_it_takes_no_phone_numbers(kiosk):
    scan(kiosk, "http://127.0.0.1:8700/phone/c/7K3M9QX2AB")
    screen = kiosk.until(lambda: kiosk.screen.name == "checkin" and kiosk.screen.state == "refused" and kiosk.screen)
    kiosk.frames(3)
    assert screen.ids.headline.text == "Máy kiosk này không nhận số lấy qua điện thoại. Mời ông/bà đến quầy."
    assert screen.ids.number.text == "" and not screen.ids.home.disabled
    kiosk.tap(screen.ids.home)
    assert kiosk.screen.name == "home"


@pytest.fixture
def centre(tmp_path) -> Iterator[str]:
    """A queue server with its phone queue; yields a fresh number's check-in link, taken as a phone takes it."""
    clock = WallClock()
    engine = open_engine(store_target(tmp_path / "queue.db"), clock)
    spool = tmp_path / "sms"
    running = serve_in_thread(create_app(engine, counter_passwords={}, kiosk_tokens=[queue_token()], clock=clock,
                                         sms=SimulatedGateway(spool), public_url="http://127.0.0.1:1"))
    phone = httpx.Client(base_url=running.url, timeout=10)
    try:
        for _earlier in range(2):  # two printed tickets ahead
            assert phone.post("/api/tickets", json={"service": "HT", "request_id": f"r{_earlier}"},
                              headers={"Authorization": f"Bearer {queue_token()}"}).status_code == 200
        assert phone.post("/api/phone/otp", json={"phone": "0912345678", "service": "HT"}).status_code == 202
        text = eventually(lambda: read_simulated(spool) and read_simulated(spool)[0]["text"])
        code = re.search(r"\b[0-9]{6}\b", text)[0]
        made = phone.post("/api/phone/tickets", json={"phone": "0912345678", "otp": code, "service": "HT"})
        assert made.status_code == 201, made.text
        yield running.url, made.json()["ticket"]
    finally:
        phone.close()
        running.stop()
        engine.close()


@pytest.mark.stores
def test_scanning_a_phone_number_checks_it_in_and_shows_the_place(kiosk, centre, tmp_path, monkeypatch):
    url, ticket = centre
    queue = BranchQueue(url, kiosk_id="K1", token=queue_token(), state_path=tmp_path / "kiosk.db",
                        sync_interval_s=None)
    monkeypatch.setattr(kiosk.app.core, "_phone_checkin", PhoneCheckIn(queue.check_in, "http://127.0.0.1:1"))
    voice_dir = kiosk.app.core.config.data_dir / "voice"
    before = set(voice_dir.glob("*.wav")) if voice_dir.exists() else set()
    try:
        scan(kiosk, ticket["checkin_url"])
        screen = kiosk.until(lambda: kiosk.screen.name == "checkin" and kiosk.screen.state == "done"
                             and kiosk.screen)
        assert screen.ids.number.text == ticket["number"] == "A003"
        assert screen.ids.headline.text == "Mời ông/bà chờ gọi số."
        assert screen.ids.ahead.text == "Số người đang chờ trước bạn: 2"
        assert screen.ids.wait.text.startswith("Thời gian chờ dự kiến: khoảng ")
        assert_not_blank(kiosk.screenshot("phone-checkin-done"))
        kiosk.until(lambda: set(voice_dir.glob("*.wav")) - before, "the spoken number")   # said once, checked in
        kiosk.app.core.voice.wait()

        scan(kiosk, ticket["checkin_url"])                                  # the same QR again, on this screen
        kiosk.until(lambda: screen.state == "refused", "the second scan's refusal")
        assert screen.ids.headline.text == "Số này đã được xác nhận có mặt rồi. Mời ông/bà chờ gọi số."
        assert screen.ids.number.text == ""
        assert_not_blank(kiosk.screenshot("phone-checkin-again"))
        kiosk.app.core.voice.wait()
        assert len(set(voice_dir.glob("*.wav")) - before) == 1              # a refusal says nothing
    finally:
        queue.close()


def test_a_malformed_check_in_link_is_refused_where_it_was_scanned(kiosk):
    scan(kiosk, "http://127.0.0.1:8700/phone/c/7K3M9QX2AB/extra")
    kiosk.until(lambda: kiosk.app.toast_text, "the refusal toast")
    assert kiosk.screen.name == "home"
    assert kiosk.app.toast_text == ("Mã không dùng được: đường dẫn xác nhận có mặt không đúng dạng "
                                    "(mã phải gồm đúng 10 ký tự).")
