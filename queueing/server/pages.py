"""The queue server's own web pages — counter, display board, daily report, a phone's ticket view, the citizen's
phone queue — and their static files. Each page is one HTML file that calls the API from the browser; nothing is
rendered here.

The phone pages (``/phone``, ``/phone/t/{token}``, ``/phone/c/{code}``: contracts E) are one HTML file whose script
picks the view from the path; they are built for a cheap Android over 3G, so pages and static files go out
gzip-compressed (bench/phone_page.py measures weight and time to interactive).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route, request_response
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).with_name("static")
PAGES = {"/counter": "counter.html", "/display": "display.html", "/report": "report.html",
         "/track/{ticket_id}": "track.html", "/t/{ticket_id}": "track.html",
         "/phone": "phone.html", "/phone/t/{token}": "phone.html", "/phone/c/{code}": "phone.html"}
GZIP_MIN_BYTES = 500  # below this the gzip header costs more than it saves


def _page(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def serve(_request: Request) -> Response:
        return FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})
    return serve


def page_routes() -> list[BaseRoute]:
    return [*(Route(path, GZipMiddleware(request_response(_page(name)), minimum_size=GZIP_MIN_BYTES),
                    methods=["GET"]) for path, name in PAGES.items()),
            Mount("/static", GZipMiddleware(StaticFiles(directory=STATIC), minimum_size=GZIP_MIN_BYTES),
                  name="static")]
