"""The city operations view in the admin pages: every centre on one wall screen, a drill-down per centre, CSV.

::

    GET /admin/city[?sort=flag|name|waiting|wait]  every centre, live (sort: worst flag first, name, most waiting,
                                                   longest wait); sized for a 1920×1080 wall screen
    GET /admin/city.csv                            one row per centre and service (UTF-8 with BOM, for Excel)
    GET /admin/city/events[?centre=C]              the pages' Server-Sent Events (:mod:`.city_events`)
    GET /admin/city/{centre}                       services, kiosks, hourly charts: today vs four weeks ago

Pages need an admin session like every admin page. They arrive with their figures (a JSON data block the page's
script reads: no inline script, the CSP holds) and then follow the event stream; the script draws the table and
the charts (Chart.js, vendored under ``static/vendor/chartjs``). ``/admin/city/events`` is matched before
``/admin/city/{centre}``, so a centre cannot be called ``events``.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from backend.admin.city_events import city_stream
from backend.admin.pages import SECURITY_HEADERS, SESSION_COOKIE, AdminPages, Form
from backend.city_csv import city_csv
from backend.city_view import CENTRE_ID, CityView

SORTS = ("flag", "name", "waiting", "wait")


def city_routes(pages: AdminPages, view: CityView) -> list[BaseRoute]:
    """The routes of the module docstring, behind the admin pages' login."""

    def unknown_centre(request: Request, csrf: str, centre: str) -> Response:
        return pages.problem(request, 404, f"Chưa có trung tâm nào mã {centre[:32]!r} gửi số liệu.", csrf)

    async def city_page(request: Request, csrf: str, _form: Form) -> Response:
        sort = request.query_params.get("sort", "flag")
        return pages.render(request, "city.html", {
            "csrf": csrf, "nav": "city", "snapshot": await run_in_threadpool(view.snapshot),
            "sort": sort if sort in SORTS else "flag"})

    async def centre_page(request: Request, csrf: str, _form: Form) -> Response:
        centre = request.path_params["centre"]
        found = await run_in_threadpool(view.centre, centre) if CENTRE_ID.fullmatch(centre) else None
        if found is None:
            return unknown_centre(request, csrf, centre)
        return pages.render(request, "city_centre.html", {"csrf": csrf, "nav": "city", "drill": found})

    async def events(request: Request, csrf: str, _form: Form) -> Response:
        centre = request.query_params.get("centre")
        if centre is not None and not (CENTRE_ID.fullmatch(centre) and await run_in_threadpool(view.centre, centre)):
            return unknown_centre(request, csrf, centre)
        session = request.cookies.get(SESSION_COOKIE, "")
        stream = city_stream(view, lambda: pages.sessions.csrf_for(session) is not None, centre)
        return StreamingResponse(stream, media_type="text/event-stream",
                                 headers={**SECURITY_HEADERS, "X-Accel-Buffering": "no"})

    async def export(_request: Request, _csrf: str, _form: Form) -> Response:
        snapshot = await run_in_threadpool(view.snapshot)
        stamp = snapshot["at"][:16].replace("-", "").replace(":", "").replace("T", "-")
        return Response(city_csv(snapshot["centres"]), media_type="text/csv; charset=utf-8", headers={
            **SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="thanh-pho-{stamp}.csv"'})

    return [Route("/admin/city", pages.logged_in(city_page), methods=["GET"]),
            Route("/admin/city.csv", pages.logged_in(export), methods=["GET"]),
            Route("/admin/city/events", pages.logged_in(events), methods=["GET"]),
            Route("/admin/city/{centre}", pages.logged_in(centre_page), methods=["GET"])]

