"""The queue server's own web pages — counter, display board, daily report, a phone's ticket view, the citizen's
phone queue — and their static files. Each page is one HTML file that calls the API from the browser; nothing is
rendered here.

The phone pages (``/phone``, ``/phone/t/{token}``, ``/phone/c/{code}``: contracts E) are one HTML file whose script
picks the view from the path; they are built for a cheap Android over 3G, so they go out with their stylesheets
and scripts written in (:func:`inlined`) and, like every page and static file, gzip-compressed
(bench/phone_page.py measures weight and time to interactive).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from functools import cache
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route, request_response
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).with_name("static")
PAGES = {"/counter": "counter.html", "/display": "display.html", "/report": "report.html",
         "/track/{ticket_id}": "track.html", "/t/{ticket_id}": "track.html",
         "/phone": "phone.html", "/phone/t/{token}": "phone.html", "/phone/c/{code}": "phone.html"}
INLINED = {"phone.html"}  # pages sent with their own stylesheets and scripts written in (see :func:`inlined`)
_STYLESHEET = re.compile(r'<link rel="stylesheet" href="/static/([\w.-]+\.css)">')
_SCRIPT = re.compile(r'<script src="/static/([\w.-]+\.js)"></script>')
GZIP_MIN_BYTES = 500  # below this the gzip header costs more than it saves


@cache
def inlined(name: str) -> str:
    """Page ``name`` with the stylesheets and scripts it names under /static/ written into it: over 3G (300 ms a
    round trip) a phone can act one round trip sooner than if it fetched them after the page (bench/phone_page.py).
    Read once per process, from the files as committed."""
    html = (STATIC / name).read_text(encoding="utf-8")
    html = _STYLESHEET.sub(lambda link: f"<style>{(STATIC / link[1]).read_text(encoding='utf-8')}</style>", html)
    return _SCRIPT.sub(lambda tag: f"<script>{(STATIC / tag[1]).read_text(encoding='utf-8')}</script>", html)


def _page(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def serve(_request: Request) -> Response:
        if name in INLINED:
            return HTMLResponse(inlined(name), headers={"Cache-Control": "no-cache"})
        return FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})
    return serve


def page_routes() -> list[BaseRoute]:
    return [*(Route(path, GZipMiddleware(request_response(_page(name)), minimum_size=GZIP_MIN_BYTES),
                    methods=["GET"]) for path, name in PAGES.items()),
            Mount("/static", GZipMiddleware(StaticFiles(directory=STATIC), minimum_size=GZIP_MIN_BYTES),
                  name="static")]
