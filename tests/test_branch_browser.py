"""The branch queue pages in a real headless Chromium against the queue server on 127.0.0.1.

Staff log in at counter 3 and call the next number: the display board (a 1920×1080 TV) shows it, highlighted as
the new call. The board says on screen when the server is gone and comes back by itself, with the current calls,
when a new server starts on the same port. A citizen's phone follows its ticket until it is called. How fast each
of these happens (goals: a call within a second, the banner and the way back within 6 s) is measured by
bench/call_latency.py; the tests wait for each to happen. A manager opens the daily report with the report token
(asked once per tab) and saves its CSV. Screenshots go to artifacts/queue-*.png for a human to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.pin import hash_pin
from tests.support import ARTIFACTS, PATIENCE_S, REPORT_TOKEN, ServedCentre, eventually, queue_token

CHROMIUM = Path("/usr/bin/chromium")
NO_CHROMIUM = "Debian's chromium is not installed (/usr/bin/chromium); run scripts/bootstrap.sh as root"
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")

PASSWORD = "357913"
TV = {"width": 1920, "height": 1080}
PHONE = {"width": 390, "height": 844}
TRACK_REFRESH_MS = 15_000   # track.js REFRESH_MS: the phone page polls this often while its ticket waits
PATIENCE_MS = PATIENCE_S * 1000

# The display board's tile for one counter, read from the DOM (tiles carry the label "Quầy N").
TILE_JS = """counter => [...document.querySelectorAll('#counters .tile')].map(tile => ({
    label: tile.querySelector('.label').textContent, number: tile.querySelector('.number').textContent,
    fresh: tile.classList.contains('fresh')})).find(tile => tile.label === 'Quầy ' + counter)"""

# Records whether the display board ever showed its "server lost" banner, from before the page's own scripts run.
BANNER_WATCH_JS = """window.bannerShown = false;
new MutationObserver(() => { const banner = document.getElementById('offline');
    if (banner && !banner.classList.contains('hidden')) window.bannerShown = true; })
  .observe(document, {subtree: true, childList: true, attributes: true});"""


class Branch(ServedCentre):
    """The centre's queue server, three counters, a display board with announcements; the test may stop it and
    :meth:`restart` it on the same port."""

    def __init__(self, db: Path) -> None:
        super().__init__(db, headers={"Authorization": f"Bearer {queue_token()}"},
                         counter_passwords={n: hash_pin(PASSWORD) for n in (1, 2, 3)},
                         kiosk_tokens=[queue_token()], report_tokens=[REPORT_TOKEN],
                         title="Trung tâm Phục vụ hành chính công quận Hoàn Kiếm",
                         announcements=["Giờ làm việc: Thứ Hai – Thứ Sáu, 7:30 – 17:00",
                                        "Vui lòng giữ phiếu số thứ tự đến khi được gọi."])

    def take(self, service: str, request_id: str) -> dict[str, Any]:
        response = self.http.post("/api/tickets", json={"service": service, "request_id": request_id})
        assert response.status_code == 200, response.text
        return response.json()

    def desk(self, counter: int) -> dict[str, str]:
        response = self.http.post(f"/api/counters/{counter}/login", json={"password": PASSWORD})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def act(self, counter: int, action: str, desk: dict[str, str]) -> dict[str, Any]:
        response = self.http.post(f"/api/counters/{counter}/{action}", headers=desk)
        assert response.status_code == 200, response.text
        return response.json()["ticket"]


@pytest.fixture
def branch(tmp_path) -> Iterator[Branch]:
    with Branch(tmp_path / "queue.db") as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        yield launched
        launched.close()


class Pages:
    """Pages of one test, each in its own browser context (window, storage, viewport), closed before the server
    stops; uncaught script errors of any of them are collected in ``errors``."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser
        self._contexts: list[Any] = []
        self.errors: list[str] = []

    def open(self, url: str, *, clock: bool = False, script: str = "", **context: Any) -> Any:
        """:param clock: install Playwright's fake clock first, so the test can run the page's timers.
        :param script: JavaScript run in the page before its own scripts."""
        self._contexts.append(self._browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", **context))
        page = self._contexts[-1].new_page()
        page.on("pageerror", lambda exc: self.errors.append(f"{url}: {exc}"))
        if clock:
            page.clock.install()
        if script:
            page.add_init_script(script)
        page.goto(url)
        return page

    def close(self) -> None:
        for context in self._contexts:
            context.close()


@pytest.fixture
def pages(branch, browser) -> Iterator[Pages]:
    opened = Pages(browser)
    yield opened
    opened.close()


def wait_for_tile(page: Any, counter: int, number: str, *, fresh: bool, timeout_ms: float) -> None:
    page.wait_for_function(f"([counter, number, fresh]) => {{ const tile = ({TILE_JS})(counter); "
                           "return !!tile && tile.number === number && (!fresh || tile.fresh); }",
                           arg=[counter, number, fresh], timeout=timeout_ms, polling=10)


def text_of(page: Any, selector: str) -> str:
    return " ".join(page.inner_text(selector).split())


def refused_login(page: Any, counter: int, password: str) -> str:
    """What the counter page says after a login the server refuses."""
    page.fill("#login-counter", str(counter))
    page.fill("#login-password", password)
    page.click("#login-form button[type=submit]")    # the page clears its last message as it sends
    page.wait_for_function("document.getElementById('login-error').textContent !== ''", timeout=PATIENCE_MS)
    return text_of(page, "#login-error")


def logged_in(page: Any, counter: int) -> bool:
    """Log in with the right password; False when the page shows a refusal (e.g. the address must wait)."""
    page.fill("#login-counter", str(counter))
    page.fill("#login-password", PASSWORD)
    page.press("#login-password", "Enter")
    page.wait_for_function("!document.getElementById('desk').classList.contains('hidden') || "
                           "document.getElementById('login-error').textContent !== ''", timeout=PATIENCE_MS)
    return text_of(page, "#login-error") == ""


def test_counter_call_reaches_the_display_board(branch, pages):
    first, second = branch.take("CT", "k1-1"), branch.take("CT", "k1-2")
    later = branch.take("CT", "k1-3")
    other = branch.take("HT", "k1-4")            # counter 3 serves CT only: never in its line
    display = pages.open(f"{branch.url}/display", viewport=TV, script=BANNER_WATCH_JS)
    wait_for_tile(display, 3, "–", fresh=False, timeout_ms=PATIENCE_MS)
    counter = pages.open(f"{branch.url}/counter?quay=3", viewport={"width": 1280, "height": 800})

    assert refused_login(counter, 3, "0000").startswith("Mật khẩu quầy phải có ít nhất 6 chữ số")
    assert refused_login(counter, 3, "000000") == "Sai mật khẩu quầy 3."
    assert refused_login(counter, 9, PASSWORD) == "Quầy 9 chưa có mật khẩu. Vui lòng báo quản trị viên."
    guesses = [refused_login(counter, 1, f"00000{i}") for i in range(4)]
    assert guesses[-1] == "Nhập sai mật khẩu quá nhiều lần. Vui lòng thử lại sau 1 giây."
    assert not [text for text in guesses if re.search(r"[a-z]+ (password|attempts|again)", text)], guesses
    eventually(lambda: logged_in(counter, 3), message="login once this address's 1 s back-off is over")
    counter.wait_for_selector("#desk:not(.hidden) #waiting tr", timeout=PATIENCE_MS)
    assert text_of(counter, "#counter-number") == "3" and text_of(counter, "#login-error") == ""
    line = [text_of(counter, f"#waiting tr:nth-child({i}) td:first-child") for i in (1, 2, 3)]
    assert line == [first["number"], second["number"], later["number"]]
    assert other["number"] not in text_of(counter, "#waiting")

    counter.click("#btn-next")
    wait_for_tile(display, 3, first["number"], fresh=True, timeout_ms=PATIENCE_MS)
    assert display.is_visible("#call") and text_of(display, "#call-number") == first["number"]
    assert text_of(display, "#call-counter") == "3"
    assert text_of(display, "#last-calls li:first-child") == f"{first['number']} Quầy 3"
    display.screenshot(path=str(ARTIFACTS / "queue-display-call.png"))
    counter.wait_for_function(f"document.getElementById('current-number').textContent === '{first['number']}'")
    assert text_of(counter, "#current-detail") == "Đang gọi · CT"

    for key, detail in (("b", "Đang phục vụ · CT"), ("h", "Chưa gọi số nào")):   # the staff's shortcuts
        counter.keyboard.press(key)
        counter.wait_for_function(f"document.getElementById('current-detail').textContent === '{detail}'")
    counter.keyboard.press("Enter")
    wait_for_tile(display, 3, second["number"], fresh=True, timeout_ms=PATIENCE_MS)
    counter.wait_for_function(f"document.getElementById('current-number').textContent === '{second['number']}'")
    assert text_of(counter, "#today-tickets") == "2" and text_of(counter, "#waiting-total") == "1"
    assert [text_of(display, f"#last-calls li:nth-child({i})") for i in (1, 2)] == \
        [f"{second['number']} Quầy 3", f"{first['number']} Quầy 3"]

    counter.screenshot(path=str(ARTIFACTS / "queue-counter.png"), full_page=True)
    display.wait_for_selector("#call", state="hidden", timeout=PATIENCE_MS)   # both calls announced in turn (~14 s)
    wait_for_tile(display, 3, second["number"], fresh=False, timeout_ms=PATIENCE_MS)
    display.screenshot(path=str(ARTIFACTS / "queue-display.png"))
    assert display.evaluate("window.bannerShown") is False   # not even while the page was still connecting
    assert pages.errors == []


def test_display_board_says_when_the_server_is_gone_and_comes_back_by_itself(branch, pages):
    first, second = branch.take("CT", "k1-1"), branch.take("CT", "k1-2")
    desk = branch.desk(3)
    assert branch.act(3, "call-next", desk)["number"] == first["number"]
    display = pages.open(f"{branch.url}/display", viewport=TV)
    wait_for_tile(display, 3, first["number"], fresh=False, timeout_ms=PATIENCE_MS)
    assert display.is_hidden("#offline")
    display.evaluate("window.sameDocument = true")     # gone if the page reloads itself

    branch.running.stop()
    display.wait_for_selector("#offline", state="visible", timeout=PATIENCE_MS)
    assert "Mất kết nối máy chủ" in text_of(display, "#offline")
    assert display.evaluate("document.body.classList.contains('stale')")
    display.screenshot(path=str(ARTIFACTS / "queue-display-offline.png"))

    branch.engine.finish(first["id"])               # the centre went on while the board could not see it
    assert branch.engine.call_next(3).number == second["number"]
    branch.restart()
    wait_for_tile(display, 3, second["number"], fresh=False, timeout_ms=PATIENCE_MS)
    assert display.is_hidden("#offline") and not display.evaluate("document.body.classList.contains('stale')")
    assert display.evaluate("window.sameDocument") is True

    third = branch.take("CT", "k1-3")                # and calls on the new server reach it live
    desk = branch.desk(3)                            # logins live in the server's memory: log in again
    branch.act(3, "finish", desk)
    assert branch.act(3, "call-next", desk)["number"] == third["number"]
    wait_for_tile(display, 3, third["number"], fresh=True, timeout_ms=PATIENCE_MS)
    assert pages.errors == []


def test_phone_tracking_page_follows_the_ticket_until_it_is_called(branch, pages):
    ahead, mine = branch.take("CT", "k1-1"), branch.take("CT", "k1-2")
    # the fake clock runs the page's own refresh timer without waiting 15 s for it
    phone = pages.open(f"{branch.url}/track/{mine['id']}", clock=True, viewport=PHONE, device_scale_factor=2,
                       is_mobile=True, has_touch=True)
    phone.wait_for_function(f"document.getElementById('number').textContent === '{mine['number']}'", timeout=PATIENCE_MS)
    assert text_of(phone, "#service") == "Cư trú"
    waiting = text_of(phone, "#state")
    assert waiting.startswith("Còn 1 người trước bạn") and "Thời gian chờ dự kiến" in waiting
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]   # nothing runs off the side

    desk = branch.desk(3)
    assert branch.act(3, "call-next", desk)["number"] == ahead["number"]
    branch.act(3, "no-show", desk)
    assert branch.act(3, "call-next", desk)["number"] == mine["number"]
    assert not phone.is_visible("#state.called")     # the phone only learns it on its next refresh
    phone.clock.run_for(TRACK_REFRESH_MS + 500)
    phone.wait_for_selector("#state.called", timeout=PATIENCE_MS)
    assert "được gọi đến quầy 3" in text_of(phone, "#state")
    assert text_of(phone, "#number") == mine["number"] and text_of(phone, "#network") == ""
    phone.screenshot(path=str(ARTIFACTS / "queue-track.png"), full_page=True)
    assert pages.errors == []


def test_report_page_asks_for_the_report_token_once_then_shows_the_figures_and_saves_the_csv(branch, pages):
    branch.take("HT", "k1-1")
    branch.take("CT", "k1-2")
    day = branch.clock.now.date().isoformat()                   # the server's day, not the browser's
    manager = pages.open(f"{branch.url}/report", accept_downloads=True)
    manager.wait_for_selector("#auth:not(.hidden)", timeout=PATIENCE_MS)
    assert manager.is_hidden("#report")                         # no figures before a token
    manager.fill("#token", "not-the-report-token")
    manager.press("#token", "Enter")
    manager.wait_for_function("document.getElementById('auth-error').textContent !== ''", timeout=PATIENCE_MS)
    assert text_of(manager, "#auth-error").startswith("Mã báo cáo không đúng")
    manager.fill("#token", REPORT_TOKEN)
    manager.click("#auth-form button[type=submit]")
    manager.wait_for_selector("#report:not(.hidden)", timeout=PATIENCE_MS)
    manager.fill("#day", day)
    manager.click("#controls button[type=submit]")
    manager.wait_for_selector("#services tr:nth-child(2)", timeout=PATIENCE_MS)
    services = text_of(manager, "#services")
    assert "CT – Cư trú" in services and "HT" in services and text_of(manager, "#error") == ""
    manager.screenshot(path=str(ARTIFACTS / "queue-report.png"), full_page=True)

    manager.reload()                                            # the tab keeps the token: no second prompt
    manager.wait_for_selector("#report:not(.hidden)", timeout=PATIENCE_MS)
    assert manager.is_hidden("#auth")
    manager.fill("#day", day)
    with manager.expect_download(timeout=PATIENCE_MS) as saving:
        manager.click("#csv")
    saved = Path(saving.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert saving.value.suggested_filename == f"bao-cao-{day}.csv" and saved[0].startswith("date,scope,key")
    assert [line.split(",")[2] for line in saved[1:3]] == ["CT", "HT"]
    assert pages.errors == []
