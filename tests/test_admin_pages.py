"""The admin pages on a real backend on 127.0.0.1: login, CSRF, the fleet dashboard, kiosk logs, publishing an
announcement that a kiosk then downloads and verifies, content versions; and once in a real headless Chromium.
The tests marked ``stores`` run on SQLite and again on PostgreSQL (tests/stores.py)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from nacl.signing import SigningKey

from backend.app import BackendSettings
from backend.server import start_in_thread
from config.loader import load_config
from contracts.content.bundle import build_bundle, verify_bundle
from contracts.content.models import Target
from contracts.content.signing import encode_public_key
from kiosk.heartbeat import Heartbeat
from tests.stores import store_target
from tests.support import ARTIFACTS, add_token, kiosk_token, make_bundle

ADMIN_TOKEN = "admin-pages-token"
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
CHROMIUM = Path("/usr/bin/chromium")
NOTICE = "Trung tâm nghỉ lễ Quốc khánh 2/9, mở cửa lại ngày 3/9."


@pytest.fixture(scope="module")
def signing_key() -> SigningKey:
    return SigningKey.generate()


def start_backend(db: Path, key: SigningKey | None):
    """A backend at ``db``, or on PostgreSQL in a run with ``--store postgresql`` (tests/stores.py)."""
    target = store_target(db)
    running = start_in_thread(target, settings=BackendSettings(signing_key=key))
    add_token(target, "admin", ADMIN_TOKEN)
    return running


@pytest.fixture
def backend(tmp_path, signing_key):
    running = start_backend(tmp_path / "backend.db", signing_key)
    yield running
    running.stop()


@pytest.fixture
def browser_client(backend):
    with httpx.Client(base_url=backend.url, timeout=10) as client:
        yield client


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(client: httpx.Client, token: str = ADMIN_TOKEN) -> httpx.Response:
    form = client.get("/admin/login")
    return client.post("/admin/login", data={"csrf": csrf_of(form.text), "token": token, "next": "/admin/fleet"})


def logged_in_csrf(client: httpx.Client) -> str:
    assert login(client).status_code == 303
    return csrf_of(client.get("/admin/fleet").text)


def beat(backend, kiosk_id: str, **changes) -> None:
    body = {"branch": "Hoàn Kiếm", "app_version": "0.1.0", "printer": "ok", "scanner": "listening",
            "outbox_depth": 0, "uptime_s": 3600, **changes}
    assert Heartbeat(backend.url, kiosk_token(backend, kiosk_id, ADMIN_TOKEN), kiosk_id, 30, lambda: body).beat()


def announcement_form(csrf: str, target: str, *rows: tuple[str, str, str]) -> dict[str, object]:
    return {"csrf": csrf, "target": target, "text": [r[0] for r in rows], "text_en": ["" for _ in rows],
            "start": [r[1] for r in rows], "end": [r[2] for r in rows]}


def latest(backend, kiosk_id: str) -> httpx.Response:
    return httpx.get(f"{backend.url}/api/content/latest", params={"kiosk": kiosk_id},
                     headers={"Authorization": f"Bearer {kiosk_token(backend, kiosk_id, ADMIN_TOKEN)}"})


def kiosk_config(tmp_path: Path, key: SigningKey, kiosk_id: str):
    return load_config(None, [f"data_dir={tmp_path / kiosk_id}", f"kiosk.id={kiosk_id}",
                              f'content.trusted_keys=["{encode_public_key(key.verify_key)}"]'])


@pytest.mark.stores
@pytest.mark.parametrize("path", ["/admin/fleet", "/admin/content", "/admin/services", "/admin/announcements?target=all",
                                  "/admin/kiosks/K01/log"])
def test_pages_redirect_to_login_without_a_session(browser_client, path):
    response = browser_client.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login?next=%2Fadmin%2F")


@pytest.mark.stores
def test_login_page_then_back_to_the_page_asked_for(browser_client):
    assert browser_client.get("/admin").headers["location"] == "/admin/fleet"
    form = browser_client.get("/admin/login?next=/admin/content")
    assert form.status_code == 200 and "Đăng nhập quản trị" in form.text
    assert "default-src 'self'" in form.headers["content-security-policy"]
    response = browser_client.post("/admin/login", data={"csrf": csrf_of(form.text), "token": ADMIN_TOKEN,
                                                         "next": "/admin/content"})
    assert response.status_code == 303 and response.headers["location"] == "/admin/content"
    cookie = response.headers["set-cookie"]
    assert "admin_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/admin" in cookie
    assert browser_client.get("/admin/content").status_code == 200


@pytest.mark.stores
@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/admin/", "/api/fleet"])
def test_login_never_redirects_outside_the_admin_pages(browser_client, next_url):
    form = browser_client.get("/admin/login")
    response = browser_client.post("/admin/login", data={"csrf": csrf_of(form.text), "token": ADMIN_TOKEN,
                                                         "next": next_url})
    assert response.headers["location"] == "/admin/fleet"


@pytest.mark.stores
def test_wrong_token_and_kiosk_token_are_refused(backend, browser_client):
    for token in ("not-the-token", kiosk_token(backend, "K01", ADMIN_TOKEN)):
        response = login(browser_client, token)
        assert response.status_code == 401 and "Mã quản trị không đúng." in response.text
        assert "admin_session" not in response.headers.get("set-cookie", "")
    assert browser_client.get("/admin/fleet").status_code == 303


@pytest.mark.stores
def test_login_form_needs_its_csrf_cookie(backend):
    with httpx.Client(base_url=backend.url) as first, httpx.Client(base_url=backend.url) as attacker:
        token = csrf_of(first.get("/admin/login").text)
        response = attacker.post("/admin/login", data={"csrf": token, "token": ADMIN_TOKEN})
    assert response.status_code == 403 and "CSRF" in response.text


@pytest.mark.stores
@pytest.mark.parametrize("csrf", [None, "", "forged-token"])
def test_publishing_needs_the_session_csrf_token(backend, browser_client, csrf):
    logged_in_csrf(browser_client)
    form = announcement_form("", "kiosk:K01", (NOTICE, "", ""))
    if csrf is None:
        del form["csrf"]
    else:
        form["csrf"] = csrf
    response = browser_client.post("/admin/announcements", data=form)
    assert response.status_code == 403 and "CSRF" in response.text
    assert latest(backend, "K01").status_code == 404


@pytest.mark.stores
def test_logout_needs_csrf_and_ends_the_session(browser_client):
    csrf = logged_in_csrf(browser_client)
    assert browser_client.post("/admin/logout", data={"csrf": "wrong"}).status_code == 403
    assert browser_client.get("/admin/fleet").status_code == 200
    assert browser_client.post("/admin/logout", data={"csrf": csrf}).status_code == 303
    assert browser_client.get("/admin/fleet").status_code == 303


@pytest.mark.stores
def test_published_announcement_reaches_the_kiosk_signed_and_targeted(backend, browser_client, signing_key,
                                                                       tmp_path):
    csrf = logged_in_csrf(browser_client)
    start = datetime.now(HANOI).replace(second=0, microsecond=0)
    end = start + timedelta(days=2)
    response = browser_client.post("/admin/announcements", data=announcement_form(
        csrf, "kiosk:K01", (NOTICE, start.strftime("%Y-%m-%dT%H:%M"), end.strftime("%Y-%m-%dT%H:%M")), ("", "", "")))
    assert response.status_code == 303 and "published=1" in response.headers["location"]
    page = browser_client.get(response.headers["location"])
    assert "Đã phát hành phiên bản 1 cho kiosk K01" in page.text and NOTICE in page.text  # the editor shows it

    download = latest(backend, "K01")
    assert download.status_code == 200 and download.headers["x-content-version"] == "1"
    bundle = verify_bundle(download.content, kiosk_config(tmp_path, signing_key, "K01"), applied_version=0)
    [item] = bundle.content.announcements.announcements
    assert (item.text, item.start, item.end) == (NOTICE, start, end)
    assert item.shown_at(start + timedelta(hours=1)) and not item.shown_at(end)
    assert latest(backend, "K02").status_code == 404  # targeted at K01 only

    other = kiosk_config(tmp_path, SigningKey.generate(), "K01")
    with pytest.raises(Exception, match="not among the trusted keys"):
        verify_bundle(download.content, other, applied_version=0)


@pytest.mark.stores
def test_publishing_keeps_the_targets_other_content_and_bumps_the_version(backend, browser_client, signing_key,
                                                                           tmp_path):
    source = tmp_path / "content"
    source.mkdir()
    (source / "ticket.json").write_text(json.dumps({"header": ["UBND phường Hoàn Kiếm"]}, ensure_ascii=False),
                                        encoding="utf-8")
    (source / "announcements.json").write_text(json.dumps({"announcements": [{"text": "Cũ"}]}), encoding="utf-8")
    build_bundle(source, signing_key, version=7, target=Target(all=True), out=tmp_path / "v7.zip",
                 config=load_config(None, [f"data_dir={tmp_path / 'builder'}"]))
    uploaded = httpx.post(f"{backend.url}/api/content/bundles", content=(tmp_path / "v7.zip").read_bytes(),
                          headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert uploaded.status_code == 201

    csrf = logged_in_csrf(browser_client)
    editor = browser_client.get("/admin/announcements", params={"target": "all"})
    assert ">Cũ</textarea>" in editor.text
    response = browser_client.post("/admin/announcements", data=announcement_form(csrf, "all", (NOTICE, "", "")))
    assert response.status_code == 303 and "published=8" in response.headers["location"]
    with zipfile.ZipFile(io.BytesIO(latest(backend, "K05").content)) as archive:
        assert json.loads(archive.read("ticket.json")) == {"header": ["UBND phường Hoàn Kiếm"]}
        assert json.loads(archive.read("announcements.json")) == {"announcements": [{"text": NOTICE}]}


@pytest.mark.stores
@pytest.mark.parametrize(("row", "message"), [
    (("x" * 501, "", ""), "Dòng 1: nội dung dài quá 500 ký tự."),
    ((NOTICE, "2025-11-20T10:00", "2025-11-20T09:00"), "Dòng 1: thời điểm kết thúc phải sau thời điểm bắt đầu."),
    ((NOTICE, "hôm nay", ""), "Dòng 1: ngày giờ không hợp lệ."),
])
def test_invalid_rows_are_explained_in_vietnamese_and_nothing_is_published(backend, browser_client, row, message):
    csrf = logged_in_csrf(browser_client)
    response = browser_client.post("/admin/announcements", data=announcement_form(csrf, "all", row))
    assert response.status_code == 422 and message in response.text
    assert latest(backend, "K01").status_code == 404


@pytest.mark.stores
def test_bad_target_is_refused(browser_client):
    csrf = logged_in_csrf(browser_client)
    response = browser_client.post("/admin/announcements", data=announcement_form(csrf, "kiosk:../x", (NOTICE, "",
                                                                                                       "")))
    assert response.status_code == 422 and "không hợp lệ" in response.text


@pytest.mark.stores
def test_without_a_signing_key_the_page_says_how_to_enable_publishing(tmp_path):
    running = start_backend(tmp_path / "nokey.db", None)
    try:
        with httpx.Client(base_url=running.url) as client:
            csrf = logged_in_csrf(client)
            assert "--signing-key" in client.get("/admin/announcements").text
            response = client.post("/admin/announcements", data=announcement_form(csrf, "all", (NOTICE, "", "")))
        assert response.status_code == 422 and "khoá ký" in response.text
    finally:
        running.stop()


@pytest.mark.stores
def test_an_unverifiable_newest_bundle_is_explained_and_publishing_on_it_is_refused(tmp_path, signing_key):
    """GIVEN the newest bundle for all kiosks was signed by a key the backend trusted then but no longer does
    WHEN an administrator opens the editors THEN each says why it shows none of that content and offers no
    publishing (building on it would re-sign content of unknown origin), and a publish is refused with a 409."""
    stranger, db = SigningKey.generate(), store_target(tmp_path / "backend.db")
    trusting = start_in_thread(db, settings=BackendSettings.beside(
        db, signing_key=signing_key, trusted_keys=(encode_public_key(stranger.verify_key),)))
    add_token(db, "admin", ADMIN_TOKEN)
    foreign = make_bundle(tmp_path, stranger, 5, text="Nội dung không rõ nguồn")
    uploaded = httpx.post(f"{trusting.url}/api/content/bundles", content=foreign.read_bytes(),
                          headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    trusting.stop()
    assert uploaded.status_code == 201
    running = start_in_thread(db, settings=BackendSettings.beside(db, signing_key=signing_key))  # key removed
    try:
        with httpx.Client(base_url=running.url, timeout=10) as client:
            csrf = logged_in_csrf(client)
            for page in ("/admin/announcements", "/admin/services"):
                editor = client.get(page, params={"target": "all"})
                assert editor.status_code == 200 and "không xác minh được" in editor.text
                assert "(version 5) cannot be built on: signed by key" in editor.text
                assert "content publish" in editor.text and "Nội dung không rõ nguồn" not in editor.text
                assert re.search(r'<button type="submit" class="primary" disabled>', editor.text)
            refused = client.post("/admin/announcements", data=announcement_form(csrf, "all", (NOTICE, "", "")))
            assert refused.status_code == 409 and "không xác minh được" in refused.text
    finally:
        running.stop()


@pytest.mark.stores
def test_fleet_page_flags_and_filters_and_the_log_page_shows_scrubbed_lines(backend, browser_client):
    beat(backend, "K01", printer="paper_out", log_tail=["ticket A012 printed", "lookup 001190012345 failed"],
         doctor=[{"check": "disk space", "ok": False, "detail": "80 MiB free (need 200 MiB)"}])
    beat(backend, "K02", branch="Ba Đình", printer="paper_low", last_error="<script>alert(1)</script>")
    logged_in_csrf(browser_client)
    page = browser_client.get("/admin/fleet").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert 'class="sev-red" data-kiosk="K01"' in page and 'class="sev-orange" data-kiosk="K02"' in page
    assert "Hết giấy" in page and "Sắp hết giấy" in page and "Tự kiểm tra không đạt" in page
    assert 'data-refresh="10"' in page and "/admin/static/admin.js" in page
    filtered = browser_client.get("/admin/fleet", params={"branch": "Ba Đình"}).text
    assert 'data-kiosk="K02"' in filtered and 'data-kiosk="K01"' not in filtered
    log = browser_client.get("/admin/kiosks/K01/log").text
    assert "ticket A012 printed" in log and "lookup [cccd] failed" in log and "001190012345" not in log
    assert "Không đạt" in log and "80 MiB free" in log
    assert browser_client.get("/admin/kiosks/K99/log").status_code == 404


@pytest.mark.stores
def test_content_page_shows_which_kiosks_run_which_version(backend, browser_client):
    csrf = logged_in_csrf(browser_client)
    browser_client.post("/admin/announcements", data=announcement_form(csrf, "all", (NOTICE, "", "")))
    beat(backend, "K01", content_version=1)
    beat(backend, "K02", content_version=None)
    page = browser_client.get("/admin/content").text
    assert "1 chưa chạy phiên bản dành cho mình" in page
    k01 = re.search(r'data-kiosk="K01">(.*?)</tr>', page, re.S).group(1)
    k02 = re.search(r'data-kiosk="K02">(.*?)</tr>', page, re.S).group(1)
    assert "Đã cập nhật" in k01 and "Chưa cập nhật" in k02
    assert "v1: 1 kiosk" in page and "tất cả kiosk" in page


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (/usr/bin/chromium); "
                                                   "run scripts/bootstrap.sh as root")
def test_in_a_real_browser_login_publish_and_see_the_fleet(backend, signing_key, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    beat(backend, "K01", printer="paper_out", log_tail=["ticket A012 printed"])
    beat(backend, "K02", branch="Ba Đình", content_version=None)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 820}, locale="vi-VN")
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: msg.type == "error" and not msg.text.startswith("Failed to load resource")
                    and errors.append(msg.text))  # CSP violations and script errors; the 401 of "wrong" is expected
            page.goto(f"{backend.url}/admin/announcements?target=kiosk:K01")
            assert page.url.startswith(f"{backend.url}/admin/login")
            page.fill("#token", "wrong")
            page.click("button.primary")
            assert "Mã quản trị không đúng." in page.inner_text("main")
            page.fill("#token", ADMIN_TOKEN)
            page.click("button.primary")
            page.wait_for_url(lambda url: "/admin/announcements?target=kiosk" in url)

            page.click("#add-row")
            assert page.locator("#rows tr").count() == 3
            page.fill("textarea[name=text] >> nth=0", NOTICE)
            page.fill("input[name=start] >> nth=0", "2025-09-01T07:30")
            page.fill("input[name=end] >> nth=0", "2025-09-03T17:00")
            page.screenshot(path=str(ARTIFACTS / "admin-announcements.png"), full_page=True)
            page.click("#announcements button[type=submit]")
            page.wait_for_url(lambda url: "published=1" in url)
            assert "Đã phát hành phiên bản 1 cho kiosk K01" in page.inner_text("[role=status]")

            page.click("text=Giám sát kiosk")
            page.wait_for_url(lambda url: url.endswith("/admin/fleet"))
            assert page.locator("tr[data-kiosk]").count() == 2
            assert "Hết giấy" in page.inner_text("tr[data-kiosk=K01]")
            beat(backend, "K03", branch="Ba Đình", printer="paper_low")
            page.wait_for_selector("tr[data-kiosk=K03]", timeout=15_000)  # the 10-second refresh brings it in
            page.screenshot(path=str(ARTIFACTS / "admin-fleet.png"), full_page=True)

            page.click("tr[data-kiosk=K01] >> text=Nhật ký")
            assert "ticket A012 printed" in page.inner_text("pre.log")
            page.screenshot(path=str(ARTIFACTS / "admin-log.png"), full_page=True)
            assert errors == []
        finally:
            browser.close()
    download = latest(backend, "K01")
    bundle = verify_bundle(download.content, kiosk_config(tmp_path, signing_key, "K01"), applied_version=0)
    [item] = bundle.content.announcements.announcements
    assert item.text == NOTICE and item.start == datetime(2025, 9, 1, 7, 30, tzinfo=HANOI)


@pytest.mark.stores
def test_services_and_opening_hours_are_edited_checked_and_published_beside_announcements(
        backend, browser_client, signing_key, tmp_path):
    csrf = logged_in_csrf(browser_client)
    browser_client.post("/admin/announcements", data=announcement_form(csrf, "all", (NOTICE, "", "")))
    page = browser_client.get("/admin/services", params={"target": "all"})
    shown = json.loads(re.search(r'<textarea name="services"[^>]*>(.*?)</textarea>', page.text, re.S)[1]
                       .replace("&#34;", '"').replace("&quot;", '"'))
    assert [s["code"] for s in shown["services"]][:2] == ["HT", "CT"]  # starts from the kiosks' local list

    bad = {"services": [{"code": "ht", "name_vi": "Hộ tịch"}]}
    refused = browser_client.post("/admin/services", data={"csrf": csrf, "target": "all",
                                                           "services": json.dumps(bad)})
    assert refused.status_code == 422 and "Danh sách dịch vụ chưa đúng ở services.0.code" in refused.text

    saturday = {"services": [{"code": "HT", "name_vi": "Hộ tịch", "name_en": "Civil status", "counters": [1, 2],
                              "hours": {"mon": ["07:30-11:30"], "sat": ["07:30-11:30"]}}]}
    published = browser_client.post("/admin/services", data={"csrf": csrf, "target": "all",
                                                             "services": json.dumps(saturday, ensure_ascii=False)})
    assert published.status_code == 303 and "published=2" in published.headers["location"]
    bundle = verify_bundle(latest(backend, "K07").content, kiosk_config(tmp_path, signing_key, "K07"),
                           applied_version=0)
    [service] = bundle.content.services.services
    assert service.hours["sat"] == ["07:30-11:30"] and service.counters == [1, 2]
    assert bundle.content.announcements.announcements[0].text == NOTICE  # the announcements were kept
