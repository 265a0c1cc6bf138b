"""The city view's read API (contracts C), admin token only: a report token sends figures but does not read them.

::

    GET /api/city              200 {"at", "version", "centres": [ENTRY, ...]}  (ENTRY: backend.city_view)
    GET /api/city/{centre}     200 {"at", "centre": ENTRY, "today", "compare_day", "hours": [...]} · 404

Both read the stores afresh on every call; the pages' live feed shares one snapshot per process instead
(``backend.admin.city_events``).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from backend.city_view import CENTRE_ID, CityView
from contracts.http import Call, Endpoint, Refused


def city_endpoints(view: CityView) -> list[Endpoint]:
    async def listing(_call: Call) -> Response:
        return JSONResponse(await run_in_threadpool(view.snapshot))

    async def drill_down(call: Call) -> Response:
        centre = call.path["centre"]
        found = await run_in_threadpool(view.centre, centre) if CENTRE_ID.fullmatch(centre) else None
        if found is None:
            raise Refused(404, "not_found", f"no report from a centre {centre[:32]!r}")
        return JSONResponse(found)

    return [
        Endpoint("GET", "/api/city", listing, "Every reporting centre: its newest figures, flags against its "
                 "target, kiosks offline or out of paper, dossiers today and the 30-day on-time rate",
                 auth="admin"),
        Endpoint("GET", "/api/city/{centre}", drill_down, "One centre: its figures and hourly tickets and waits, "
                 "today beside the same weekday four weeks ago", auth="admin", errors=(404,)),
    ]
