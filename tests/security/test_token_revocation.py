"""Kiosk tokens are listed on the admin pages and revoked there, at once.

Attack (issue 16): a token copied off a stolen kiosk read any dossier for as long as the database kept it; the
only way to stop it was editing the database by hand. Now the admin page lists every kiosk token (kiosk, issued,
last used) and a revoke button (a POST carrying the session's CSRF token) makes the next request with it a 401.
"""

from __future__ import annotations

import hashlib

import httpx
import pytest

from tests.security.browser import admin_session
from tests.support import KIOSK_ID, kiosk_token

pytestmark = pytest.mark.stores  # admin_backend runs on store_target: SQLite, then PostgreSQL

DEMO = "000.00.13.H26-251120-0001"


def test_a_revoked_kiosk_token_gets_401_at_once(admin_backend):
    token = kiosk_token(admin_backend)
    kiosk = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{admin_backend.url}/api/dossiers/{DEMO}", headers=kiosk).status_code == 200
    cookies, csrf = admin_session(admin_backend.url)
    digest = hashlib.sha256(token.encode()).hexdigest()
    with httpx.Client(base_url=admin_backend.url, cookies=cookies, timeout=10, follow_redirects=True) as browser:
        page = browser.get("/admin/tokens")
        assert page.status_code == 200 and KIOSK_ID in page.text and digest in page.text
        assert token not in page.text, "the page names a token by its hash, never the token"
        forged = browser.post("/admin/tokens/revoke", data={"csrf": "not-the-session-csrf", "token": digest})
        assert forged.status_code == 403
        assert httpx.get(f"{admin_backend.url}/api/dossiers/{DEMO}", headers=kiosk).status_code == 200
        revoked = browser.post("/admin/tokens/revoke", data={"csrf": csrf, "token": digest})
        assert revoked.status_code == 200 and "Đã thu hồi mã của kiosk" in revoked.text
        assert digest not in revoked.text
        again = browser.post("/admin/tokens/revoke", data={"csrf": csrf, "token": digest})
        assert again.status_code == 404
    refused = httpx.get(f"{admin_backend.url}/api/dossiers/{DEMO}", headers=kiosk)
    assert (refused.status_code, refused.json()["error"]) == (401, "unauthorized")
    assert httpx.get(f"{admin_backend.url}/api/dossiers/{DEMO}",
                     headers={"Authorization": f"Bearer {admin_backend.token}"}).status_code == 200, \
        "other kiosks keep working"


def test_the_token_page_shows_when_each_token_was_last_used(admin_backend):
    cookies, _csrf = admin_session(admin_backend.url)
    with httpx.Client(base_url=admin_backend.url, cookies=cookies, timeout=10, follow_redirects=True) as browser:
        row = browser.get("/admin/tokens").text.split("<tr>")[-1]  # the embedded kiosk's: issued first, listed last
        assert row.count("—") >= 1, "never used yet"
        httpx.get(f"{admin_backend.url}/api/dossiers/{DEMO}", headers={"Authorization": f"Bearer {admin_backend.token}"})
        row = browser.get("/admin/tokens").text.split("<tr>")[-1]
        assert "embedded" in row and row.count("/20") == 2, row  # issued and last used, dd/mm/yyyy
