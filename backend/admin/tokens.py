"""The admin page of kiosk tokens: which were issued, when each was last used, and a button that revokes one.

::

    GET  /admin/tokens                   every live kiosk token: kiosk, issued, last used (never the token itself)
    POST /admin/tokens/revoke            form: csrf, token=<its SHA-256>; the token gets 401 from its next request

A stolen kiosk (or a token copied off one) is cut off here at once, without restarting the backend. Pages go
through :meth:`AdminPages.logged_in` like every other admin page: a session, and the session's CSRF token on POST.
"""

from __future__ import annotations

import re
from typing import Protocol
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from backend.admin.pages import AdminPages, Form, FormError, field
from backend.store import IssuedToken

_DIGEST = re.compile(r"[0-9a-f]{64}")


class KioskTokens(Protocol):
    def kiosk_tokens(self) -> list[IssuedToken]: ...

    def revoke_token(self, digest: str) -> str | None: ...


def token_routes(pages: AdminPages, tokens: KioskTokens) -> list[BaseRoute]:
    async def listing(request: Request, csrf: str, _form: Form) -> Response:
        revoked = request.query_params.get("revoked")  # the kiosk whose token was just revoked
        return pages.render(request, "tokens.html", {
            "csrf": csrf, "nav": "tokens", "tokens": tokens.kiosk_tokens(),
            "revoked": None if revoked is None else revoked[:32]})

    async def revoke(_request: Request, _csrf: str, form: Form) -> Response:
        digest = field(form, "token")
        if not _DIGEST.fullmatch(digest):
            raise FormError(422, "Mã cần thu hồi không hợp lệ. Hãy tải lại trang rồi thử lại.")
        kiosk_id = tokens.revoke_token(digest)
        if kiosk_id is None:
            raise FormError(404, "Không còn mã kiosk này (có thể đã được thu hồi).")
        return RedirectResponse(f"/admin/tokens?{urlencode({'revoked': kiosk_id})}", status_code=303)

    return [Route("/admin/tokens", pages.logged_in(listing), methods=["GET"]),
            Route("/admin/tokens/revoke", pages.logged_in(revoke), methods=["POST"])]
