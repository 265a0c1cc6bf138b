"""The queue server's own web pages — counter, display board, daily report, a phone's ticket view — and their
static files. Each page is one HTML file that calls the API from the browser; nothing is rendered here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).with_name("static")
PAGES = {"/counter": "counter.html", "/display": "display.html", "/report": "report.html",
         "/track/{ticket_id}": "track.html", "/t/{ticket_id}": "track.html"}


def _page(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def serve(_request: Request) -> Response:
        return FileResponse(STATIC / name, headers={"Cache-Control": "no-cache"})
    return serve


def page_routes() -> list[BaseRoute]:
    return [*(Route(path, _page(name), methods=["GET"]) for path, name in PAGES.items()),
            Mount("/static", StaticFiles(directory=STATIC), name="static")]
