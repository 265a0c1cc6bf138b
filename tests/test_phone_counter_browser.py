"""The counter page's field for a citizen with a number from a phone, in real headless Chromium: staff type the
number the citizen shows, the number joins the line at its place, and each refusal reads in Vietnamese.
A screenshot goes to artifacts/queue-counter-phone-checkin.png for a human to look at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.pin import hash_pin
from contracts.sms import SimulatedGateway
from queueing import virtual
from tests.support import ARTIFACTS, PATIENCE_S, ServedCentre

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (/usr/bin/chromium)")
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")

PASSWORD = "357913"
PATIENCE_MS = PATIENCE_S * 1000


@pytest.fixture
def branch(tmp_path) -> Iterator[Any]:
    with ServedCentre(tmp_path / "queue.db", counter_passwords={1: hash_pin(PASSWORD)},
                      sms=SimulatedGateway(tmp_path / "sms")) as centre:
        yield centre.url, centre.engine


@pytest.fixture
def counter(branch) -> Iterator[Any]:
    url, _engine = branch
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="vi-VN",
                                timezone_id="Asia/Ho_Chi_Minh")
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{url}/counter?quay=1")
        page.fill("#login-password", PASSWORD)
        page.press("#login-password", "Enter")
        page.wait_for_selector("#desk:not(.hidden)", timeout=PATIENCE_MS)
        yield page
        browser.close()
    assert errors == []


def check_in(page: Any, number: str) -> str:
    """Type ``number`` into the field and return what the page says."""
    page.evaluate("document.getElementById('message').textContent = ''")
    page.fill("#phone-number", number)
    page.click("#btn-phone-checkin")
    page.wait_for_function("document.getElementById('message').textContent !== ''", timeout=PATIENCE_MS)
    return " ".join(page.inner_text("#message").split())


def test_staff_check_in_a_number_from_a_phone_by_typing_it(branch, counter):
    _url, engine = branch
    engine.issue("HT", request_id="printed-1")
    engine.issue_virtual("HT", phone="0912345678", view_digest=virtual.digest("t"), max_per_day=10)
    # the page's next refresh shows the printed number alone: a number from a phone waits once checked in
    counter.wait_for_function("document.getElementById('waiting-total').textContent === '1'", timeout=PATIENCE_MS)
    assert "A002" not in counter.inner_text("#waiting")

    assert check_in(counter, "a002") == "Đã xác nhận số A002 có mặt; còn 1 người phía trước."
    counter.wait_for_function("document.getElementById('waiting-total').textContent === '2'", timeout=PATIENCE_MS)
    assert counter.input_value("#phone-number") == ""
    counter.screenshot(path=str(ARTIFACTS / "queue-counter-phone-checkin.png"), full_page=True)

    assert check_in(counter, "A002") == "Số này đã xác nhận có mặt rồi."
    assert check_in(counter, "A001") == "Hôm nay không có số nào như vậy được lấy qua điện thoại."
