"""A citizen's whole walk with a number from a phone, in real Chromium against the real queue server (issue 20,
"done when"): the phone page → a service → the phone number → the one-time code read from the SMS simulator's
spool → the number on the phone → a kiosk (the kiosk core in branch mode against the same server) checks it in
from the QR it reads off the phone's screen → counter 1 calls → the display board shows that number, and the
phone page says which counter.

Screenshots of the phone pages (412×915, a cheap Android) and of the board go to artifacts/screens/.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config.loader import load_config
from contracts.pin import hash_pin
from contracts.sms import SimulatedGateway, read_simulated
from devices.payloads import parse_payload
from kiosk.core import KioskCore
from tests.stores import store_target
from tests.support import ARTIFACTS, ServedCentre, eventually, queue_token

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.stores,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")]
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")

PASSWORD = "357913"
PHONE = "0912 345 678"
ANDROID = {"width": 412, "height": 915}
TV = {"width": 1920, "height": 1080}
SCREENS = ARTIFACTS / "screens"
CENTRE = "Trung tâm Phục vụ hành chính công quận Hoàn Kiếm"


class Centre(ServedCentre):
    """The queue server with its phone queue (SMS to the simulator's spool) on a port known before it starts, so
    its check-in links name the address it really serves."""

    def __init__(self, tmp_path: Path) -> None:
        self.spool = tmp_path / "sms-sim"
        super().__init__(store_target(tmp_path / "queue.db"), public=True, counter_passwords={1: hash_pin(PASSWORD)},
                         kiosk_tokens=[queue_token()], title=CENTRE, sms=SimulatedGateway(self.spool))

    def call_next(self, counter: int) -> dict[str, Any]:
        login = self.http.post(f"/api/counters/{counter}/login", json={"password": PASSWORD})
        assert login.status_code == 200, login.text
        called = self.http.post(f"/api/counters/{counter}/call-next",
                                headers={"Authorization": f"Bearer {login.json()['token']}"})
        assert called.status_code == 200, called.text
        return called.json()["ticket"]


@pytest.fixture
def centre(tmp_path) -> Iterator[Centre]:
    with Centre(tmp_path) as running:
        yield running


@pytest.fixture
def kiosk(tmp_path, centre) -> Iterator[KioskCore]:
    """The kiosk's core in branch mode, as `python main.py` runs it, against the centre's queue server."""
    config = load_config(None, [f"data_dir={tmp_path / 'kiosk'}", "scanner.connection=sim:127.0.0.1:0",
                                'queue.mode="branch"', f'queue.server="{centre.url}"',
                                f'queue.token="{queue_token()}"', f'queue.public_url="{centre.url}"'])
    core = KioskCore(config)
    yield core
    core.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    SCREENS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        yield launched
        launched.close()


def one_time_code(spool: Path) -> str:
    """The code of the one SMS the simulator holds for the citizen's phone."""
    texts = [m["text"] for m in read_simulated(spool) if m["phone"] == "0912345678"]
    codes = [match[0] for text in texts if (match := re.search(r"\b[0-9]{6}\b", text))]
    return codes[0] if len(codes) == 1 else ""


def read_qr(image: bytes) -> str:
    """The QR on a screenshot, as the kiosk's camera scanner decodes it."""
    import zxingcpp
    from PIL import Image

    (code,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(image)))
    return code.text


def test_a_citizen_takes_a_number_by_phone_checks_in_at_a_kiosk_and_is_called_on_the_board(centre, kiosk, browser):
    contexts = [browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", viewport=size, **extra)
                for size, extra in ((ANDROID, {"is_mobile": True, "has_touch": True, "device_scale_factor": 2}),
                                    (TV, {}))]
    errors: list[str] = []
    try:
        phone, board = (context.new_page() for context in contexts)
        for page in (phone, board):
            page.on("pageerror", lambda exc: errors.append(str(exc)))

        phone.goto(f"{centre.url}/phone")                                   # 1. the phone page: pick, phone, code
        phone.locator("#centre", has_text=CENTRE).wait_for()
        phone.locator("[data-code=HT]").click()
        phone.fill("#phone", PHONE)
        phone.screenshot(path=str(SCREENS / "phone-walk-pick.png"))
        phone.click("#send")
        phone.locator("#otp").wait_for()
        code = eventually(lambda: one_time_code(centre.spool), message="the one-time code in the SMS spool")
        phone.fill("#otp", code)
        phone.click("#take")
        phone.wait_for_url(re.compile(r"/phone/t/[A-Za-z0-9_-]+$"))
        phone.locator("#qr svg").wait_for()                                # 2. the number, not checked in yet
        number = phone.locator("#number").text_content()
        assert re.fullmatch(r"A[0-9]{3}", number)
        assert phone.locator("#state").inner_text().split("\n")[:2] == ["Chưa xác nhận có mặt", "Bạn là người tiếp theo"]
        phone.screenshot(path=str(SCREENS / "phone-walk-ticket.png"), full_page=True)

        scanned = parse_payload(read_qr(phone.locator("#qr").screenshot()))  # 3. the kiosk scans the phone
        assert scanned["kind"] == "checkin" and scanned["url"].startswith(f"{centre.url}/phone/c/")
        answers: list[Any] = []
        kiosk.events.subscribe("phone_checkin", lambda view: answers.append(view))
        assert kiosk.check_in_phone(scanned)
        view = eventually(lambda: answers and answers[0], message="the kiosk's check-in answer")
        assert (view.checked_in, view.number, view.service) == (True, number, "Hộ tịch")
        assert view.headline == "Mời ông/bà chờ gọi số." and view.ahead_text == "Số người đang chờ trước bạn: 0"
        assert kiosk.check_in_phone(scanned) or True                        # scanned twice: refused, said why
        again = eventually(lambda: len(answers) > 1 and answers[1], message="the second scan's answer")
        assert again.headline == "Số này đã được xác nhận có mặt rồi. Mời ông/bà chờ gọi số."

        phone.reload()
        phone.locator("#state.waiting").wait_for()
        assert phone.locator("#qr-panel").is_hidden()

        board.goto(f"{centre.url}/display")                                # 4. counter 1 calls; the board shows it
        board.locator("#counters").wait_for()
        assert centre.call_next(1)["number"] == number
        board.locator("#counters .tile", has_text=number).wait_for()
        board.screenshot(path=str(SCREENS / "phone-walk-board.png"))
        phone.reload()
        phone.locator("#state.called").wait_for()
        assert phone.locator("#state").inner_text().split("\n") == ["Mời đến quầy", "1"]
        phone.screenshot(path=str(SCREENS / "phone-walk-called.png"))
    finally:
        for context in contexts:
            context.close()
    assert errors == []
