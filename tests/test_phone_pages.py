"""The citizen's phone pages (/phone, /phone/t/<token>, /phone/c/<code>): served by the queue server, within the
weight budget of a cheap Android over 3G, and behaving in a real headless Chromium.

Here the page's API answers come from Playwright's request routing, so each answer the server may give — a 429
with Retry-After, a 409, a server gone for minutes — is shown exactly; tests/test_phone_walk.py walks the same
pages against the real queue server. The QR the ticket page draws is read back from a screenshot with the
kiosk's own decoder (zxing-cpp), so "the kiosk can scan it" is what is checked, not the SVG's markup.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from backend.server import serve_in_thread
from queueing.server import create_app
from queueing.server.pages import STATIC, inlined
from tests.support import ARTIFACTS, WallClock, eventually, open_engine, queue_token

CHROMIUM = Path("/usr/bin/chromium")
BUDGET_BYTES = 60 * 1024     # the phone pages, everything they load, gzip-compressed
ANDROID = {"width": 412, "height": 915}  # a cheap Android's viewport
SCREENS = ARTIFACTS / "screens"
POLL_MS = 20_000             # phone.js POLL_MS
TOKEN = "tok_9f2a7c1e5b3d"
CHECKIN_URL = "http://queue.hk.example.vn/phone/c/7K3M9QX2AB"
SERVICES = {"centre": "Trung tâm Phục vụ hành chính công quận Hoàn Kiếm", "services": [
    {"code": "HT", "name_vi": "Hộ tịch", "name_en": "Civil status", "waiting": 12, "estimate_min": 18, "open": True},
    {"code": "CT", "name_vi": "Cư trú", "name_en": "Residence", "waiting": 0, "estimate_min": 0, "open": True},
    {"code": "DD", "name_vi": "Đất đai", "name_en": "Land", "waiting": 0, "estimate_min": None, "open": False}]}
VIEW = {"number": "A012", "service": "HT", "service_name": "Hộ tịch", "state": "virtual", "people_ahead": 7,
        "estimate_min": 21, "come_by": "10:40", "counter": None, "requeue_allowed": False, "checkin_url": CHECKIN_URL}


def gzipped(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))  # what Starlette's GZipMiddleware sends


def test_the_pages_and_everything_they_load_fit_the_3g_budget():
    """The ticket page loads the most: the page as served (its CSS and scripts written in) and the QR library it
    adds itself; every file the page names is in it, none is fetched separately."""
    page = inlined("phone.html")
    assert "/static/common.css" not in page and "/static/phone.js" not in page
    assert page.count("<script>") == page.count("</script>") == 2   # no script text ends its tag early
    for name in ("common.css", "phone.css", "common.js", "phone.js"):
        assert (STATIC / name).read_text(encoding="utf-8") in page
    qr = STATIC / "vendor/qrcode-generator/qrcode.js"
    total = gzipped(page.encode()) + gzipped(qr.read_bytes())
    assert total <= BUDGET_BYTES, f"{total} bytes gzip over the {BUDGET_BYTES} budget"
    assert (STATIC / "vendor/qrcode-generator/LICENSE").read_text().startswith("MIT License")


@pytest.fixture
def site(tmp_path) -> Iterator[str]:
    """A real queue server for the pages' own files (its phone API, if any, is replaced by each test's FakeApi)."""
    engine = open_engine(tmp_path / "queue.db", WallClock())
    running = serve_in_thread(create_app(engine, counter_passwords={}, kiosk_tokens=[queue_token()]))
    yield running.url
    running.stop()
    engine.close()


@pytest.fixture
def server(site) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site, timeout=10) as client:
        yield client


@pytest.mark.parametrize("path", ["/phone", f"/phone/t/{TOKEN}", "/phone/c/7K3M9QX2AB"])
def test_each_phone_page_is_served_compressed_and_never_cached_stale(server, path):
    response = server.get(path, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert response.headers["content-encoding"] == "gzip" and response.headers["cache-control"] == "no-cache"
    assert "const POLL_MS = 20000;" in response.text                 # its script is in the page
    library = server.get("/static/vendor/qrcode-generator/qrcode.js", headers={"Accept-Encoding": "gzip"})
    assert library.status_code == 200 and library.headers["content-encoding"] == "gzip"


def test_the_tracking_page_links_to_the_phone_queue(server):
    assert '<a href="/phone">Lấy số từ điện thoại</a>' in server.get("/t/abc123").text
    assert server.post("/phone").status_code == 405


# -- in Chromium ---------------------------------------------------------------------------------------------------
browser_only = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    SCREENS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        yield launched
        launched.close()


class FakeApi:
    """The phone API as page routes: ``answers`` maps "METHOD path" to a list of (status, body, headers) handed out
    in turn (the last one repeats); every request is recorded with its JSON body."""

    def __init__(self, answers: dict[str, list[tuple[int, dict[str, Any], dict[str, str]]]]) -> None:
        self.answers = answers
        self.seen: list[tuple[str, Any]] = []

    def __call__(self, route: Any) -> None:
        request = route.request
        key = f"{request.method} {urlsplit(request.url).path}"
        body = json.loads(request.post_data) if request.post_data else None
        self.seen.append((key, body))
        queue = self.answers.get(key)
        if not queue:
            route.fulfill(status=404, content_type="application/json",
                          body=json.dumps({"error": "no such endpoint", "code": "not_found"}))
            return
        status, answer, headers = queue.pop(0) if len(queue) > 1 else queue[0]
        route.fulfill(status=status, content_type="application/json", headers=headers, body=json.dumps(answer))

    def count(self, key: str) -> int:
        return sum(1 for seen, _body in self.seen if seen == key)


@pytest.fixture
def open_page(browser, site) -> Iterator[Any]:
    contexts: list[Any] = []
    errors: list[str] = []

    def open_(path: str, api: FakeApi, *, clock: bool = False, script: str = "") -> Any:
        contexts.append(browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", viewport=ANDROID,
                                            is_mobile=True, has_touch=True, device_scale_factor=2))
        page = contexts[-1].new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.route("**/api/**", api)
        if clock:
            page.clock.install()
        if script:
            page.add_init_script(script)
        page.goto(site + path)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert errors == [], errors


def pump(page: Any) -> Any:
    """What :func:`eventually` runs between polls of a count of requests: Playwright's sync API hands requests to
    the routes only while a call into it runs, so a plain sleep would never see one."""
    return lambda: page.wait_for_timeout(20)


def ok(body: dict[str, Any], status: int = 200, **headers: str) -> list[tuple[int, dict[str, Any], dict[str, str]]]:
    return [(status, body, headers)]


@browser_only
def test_taking_a_number_picks_a_service_confirms_the_phone_and_opens_the_ticket(open_page):
    api = FakeApi({"GET /api/phone/services": ok(SERVICES),
                   "POST /api/phone/otp": [(429, {"error": "too many codes", "code": "rate_limited"},
                                            {"Retry-After": "600"}),
                                           (409, {"error": "has one", "code": "already_has_number"}, {}),
                                           (202, {"sent": True, "expires_in_s": 300, "resend_after_s": 60}, {})],
                   "POST /api/phone/tickets": [(422, {"error": "wrong code", "code": "bad_code"}, {}),
                                               (201, {"token": TOKEN, "ticket": VIEW}, {})],
                   f"GET /api/phone/tickets/{TOKEN}": ok(VIEW)})
    page = open_page("/phone", api)
    page.get_by_text("Hộ tịch").wait_for()
    assert page.title() == "Lấy số thứ tự từ điện thoại"
    assert page.locator("#centre").text_content() == SERVICES["centre"]
    assert page.locator("[data-code=HT] small").text_content() == "12 người đang chờ · chờ khoảng 18 phút"
    assert page.locator("[data-code=CT] small").text_content() == "0 người đang chờ"   # no "0 phút" wait
    assert page.locator("[data-code=DD]").is_disabled() and page.locator("#form").is_hidden()
    page.screenshot(path=str(SCREENS / "phone-pick.png"))

    page.locator("[data-code=HT]").click()
    page.fill("#phone", "12345")
    page.click("#send")
    assert page.locator("#msg").text_content().startswith("Số điện thoại chưa đúng")
    assert api.count("POST /api/phone/otp") == 0                       # a wrong number is not even sent

    page.fill("#phone", "0912 345 678")
    page.click("#send")
    eventually(lambda: "10 phút" in page.locator("#msg").text_content())
    assert page.locator("#msg").text_content() == "Ông/bà đã thử quá nhiều lần. Vui lòng thử lại sau 10 phút."
    page.click("#send")
    eventually(lambda: "đã có một số" in page.locator("#msg").text_content())
    assert page.locator("#msg").text_content() == ("Số điện thoại này đã có một số thứ tự đang chờ hôm nay tại "
                                                   "trung tâm.")
    page.click("#send")
    page.locator("#otp").wait_for()
    assert api.seen[-1] == ("POST /api/phone/otp", {"phone": "0912345678", "service": "HT"})
    assert page.locator("#resend").is_disabled() and "Gửi lại mã sau" in page.locator("#resend").text_content()
    page.screenshot(path=str(SCREENS / "phone-otp.png"))

    page.fill("#otp", "12345")
    page.click("#take")
    assert page.locator("#msg").text_content() == "Nhập đủ 6 chữ số của mã xác nhận."
    page.fill("#otp", "000000")
    page.click("#take")
    eventually(lambda: page.locator("#msg").text_content() == "Mã xác nhận không đúng hoặc đã hết hạn.")
    page.fill("#otp", "123456")
    page.click("#take")
    page.wait_for_url(f"**/phone/t/{TOKEN}")
    sent = [body for key, body in api.seen if key == "POST /api/phone/tickets"]
    assert sent[-1] == {"phone": "0912345678", "otp": "123456", "service": "HT"} and len(sent) == 2
    page.locator("#number", has_text="A012").wait_for()


@browser_only
def test_the_ticket_page_shows_the_line_and_a_qr_the_kiosk_can_read(open_page):
    import zxingcpp
    from PIL import Image

    api = FakeApi({f"GET /api/phone/tickets/{TOKEN}": ok(VIEW)})
    page = open_page(f"/phone/t/{TOKEN}", api)
    page.locator("#qr svg").wait_for()
    state = page.locator("#state").inner_text()
    assert state.split("\n") == ["Chưa xác nhận có mặt", "Còn 7 người trước bạn",
                                 "Thời gian chờ dự kiến: khoảng 21 phút", "Nên có mặt trước 10:40"]
    assert page.locator("#cancel").is_visible() and page.locator("#requeue").is_hidden()
    page.screenshot(path=str(SCREENS / "phone-ticket.png"), full_page=True)
    shot = Image.open(io.BytesIO(page.locator("#qr").screenshot()))
    assert [code.text for code in zxingcpp.read_barcodes(shot)] == [CHECKIN_URL]

    page.click("#lang")                                                 # English, kept for the next visit
    assert page.locator("#state").inner_text().split("\n")[:2] == ["Not checked in yet", "7 people ahead of you"]
    assert page.locator("#cancel").text_content() == "Cancel my number"
    page.reload()
    page.locator("#state", has_text="Not checked in yet").wait_for()


@browser_only
@pytest.mark.parametrize(("view", "lines", "buttons"), [
    ({"state": "waiting", "people_ahead": 0}, ["Đã xác nhận có mặt. Mời ông/bà chờ gọi số.", "Bạn là người tiếp theo",
                                               "Thời gian chờ dự kiến: khoảng 21 phút"], {"cancel"}),
    ({"state": "called", "counter": 3}, ["Mời đến quầy", "3"], set()),
    ({"state": "skipped", "requeue_allowed": True},
     ["Số đã được gọi khi ông/bà chưa xác nhận có mặt nên đã bị bỏ qua."], {"requeue"}),
    ({"state": "cancelled"}, ["Số này đã được hủy."], set()),
])
def test_each_state_says_what_to_do_and_offers_only_what_is_allowed(open_page, view, lines, buttons):
    api = FakeApi({f"GET /api/phone/tickets/{TOKEN}": ok({**VIEW, **view})})
    page = open_page(f"/phone/t/{TOKEN}", api)
    page.locator(f"#state.{view['state']}").wait_for()
    assert page.locator("#state").inner_text().split("\n") == lines
    assert page.locator("#qr-panel").is_hidden()                        # only a number not checked in needs the QR
    assert {name for name in ("cancel", "requeue") if page.locator(f"#{name}").is_visible()} == buttons


@browser_only
def test_cancel_and_requeue_post_to_the_ticket_and_show_the_answer(open_page):
    key = f"/api/phone/tickets/{TOKEN}"
    api = FakeApi({f"GET {key}": ok({**VIEW, "state": "skipped", "requeue_allowed": True}),
                   f"POST {key}/requeue": ok({**VIEW, "people_ahead": 15}),
                   f"POST {key}/cancel": ok({**VIEW, "state": "cancelled"})})
    page = open_page(f"/phone/t/{TOKEN}", api)
    page.click("#requeue")
    page.locator("#state.virtual", has_text="Còn 15 người trước bạn").wait_for()
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#cancel")
    page.locator("#state.cancelled").wait_for()
    assert api.count(f"POST {key}/requeue") == api.count(f"POST {key}/cancel") == 1


@browser_only
def test_polling_backs_off_while_the_server_is_gone_and_pauses_in_a_hidden_tab(open_page):
    """GIVEN the ticket page WHEN the server answers 503 THEN it asks again after 20, 40, 80 … s (not every 20 s,
    2,000 phones at once); once back, every 20 s; a hidden tab asks nothing and asks at once when shown again."""
    key = f"GET /api/phone/tickets/{TOKEN}"
    gone = (503, {"error": "unavailable", "code": "unavailable"}, {})
    api = FakeApi({key: [(200, VIEW, {}), gone, gone, gone, (200, VIEW, {})]})
    hidden = "window.hide = false; Object.defineProperty(document, 'hidden', {get: () => window.hide});"
    page = open_page(f"/phone/t/{TOKEN}", api, clock=True, script=hidden)
    # The page sets its next timer only once it has read an answer, after the request was counted here: wait for
    # that (every answer rewrites #msg, so a sentinel put there first shows when), or a loaded machine moves the
    # fake clock before the timer exists.
    eventually(lambda: api.count(key) == 1 and page.locator("#updated").text_content(), between=pump(page))
    for polls, gap_ms in enumerate((POLL_MS, 2 * POLL_MS, 4 * POLL_MS, 8 * POLL_MS, POLL_MS), start=1):
        page.evaluate("document.getElementById('msg').textContent = 'sentinel'")
        page.clock.run_for(gap_ms - 1000)
        assert api.count(key) == polls, f"poll {polls + 1} came before {gap_ms} ms"
        page.clock.run_for(2000)
        eventually(lambda polls=polls: api.count(key) == polls + 1
                   and page.locator("#msg").text_content() != "sentinel", between=pump(page),
                   message=f"poll {polls + 1} after {gap_ms} ms, answer read")
    assert page.locator("#msg").text_content() == ""                  # back: the offline note is gone
    page.evaluate("window.hide = true; document.dispatchEvent(new Event('visibilitychange'))")
    page.clock.run_for(5 * POLL_MS)
    assert api.count(key) == 6
    page.evaluate("window.hide = false; document.dispatchEvent(new Event('visibilitychange'))")
    eventually(lambda: api.count(key) == 7, between=pump(page))


@browser_only
def test_an_unknown_ticket_stops_asking(open_page):
    key = f"GET /api/phone/tickets/{TOKEN}"
    api = FakeApi({key: ok({"error": "unknown ticket", "code": "unknown_ticket"}, 404)})
    page = open_page(f"/phone/t/{TOKEN}", api, clock=True)
    page.locator("#msg", has_text="Không tìm thấy số thứ tự này.").wait_for()
    page.clock.run_for(10 * POLL_MS)
    assert api.count(key) == 1


@browser_only
def test_opening_the_check_in_link_says_to_show_it_at_a_kiosk(open_page):
    import zxingcpp
    from PIL import Image

    page = open_page("/phone/c/7k3m9qx2ab", FakeApi({}))
    page.locator("#checkin-qr svg").wait_for()
    assert page.locator("#checkin p").text_content() == ("Đưa mã này vào máy kiosk tại trung tâm để xác nhận bạn "
                                                         "đã đến.")
    assert page.locator("#checkin-code").text_content() == "7K3M9QX2AB"
    shot = Image.open(io.BytesIO(page.locator("#checkin-qr").screenshot()))
    (read,) = zxingcpp.read_barcodes(shot)
    assert read.text.endswith("/phone/c/7K3M9QX2AB")
    bad = open_page("/phone/c/7K3M9QX2AI", FakeApi({}))
    assert bad.locator("#msg").text_content().startswith("Đường dẫn không đúng.")
    assert bad.locator("#checkin-qr svg").count() == 0


@browser_only
def test_a_browser_that_refuses_storage_still_takes_a_number(open_page):
    """Some private modes throw on localStorage: the page works, it only forgets the language and the number."""
    refuse = "Object.defineProperty(window, 'localStorage', {get() { throw new DOMException('denied'); }});"
    page = open_page("/phone", FakeApi({"GET /api/phone/services": ok(SERVICES)}), script=refuse)
    page.locator("[data-code=HT]").click()
    page.click("#lang")
    assert page.locator("#send").text_content() == "Send code"   # no script error (open_page asserts none)
