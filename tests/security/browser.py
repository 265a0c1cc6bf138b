"""The admin pages as a browser uses them, for the attack tests: log in through the form, keep the cookies."""

from __future__ import annotations

import re

import httpx

from tests.support import ADMIN_TOKEN

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def admin_session(url: str, token: str = ADMIN_TOKEN) -> tuple[dict[str, str], str]:
    """Log in on the admin pages at ``url``: (the session's cookies, the CSRF token its forms carry)."""
    with httpx.Client(base_url=url, timeout=10) as browser:
        login_csrf = _CSRF.search(browser.get("/admin/login").text).group(1)
        browser.post("/admin/login", data={"csrf": login_csrf, "token": token, "next": "/admin/fleet"})
        fleet = browser.get("/admin/fleet")
        assert fleet.status_code == 200, fleet.text[:300]
        return dict(browser.cookies), _CSRF.search(fleet.text).group(1)
