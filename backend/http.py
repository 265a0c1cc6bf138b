"""How the reference backend speaks HTTP: bearer-token roles, its one error shape, the wording of a bad body.

Every refusal is ``{"error": code, "message": one line for people}`` with a 4xx status, so kiosks, the admin
pages and the API fuzz test can rely on one shape. Roles: ``kiosk`` (a kiosk's token, or an administrator's acting
for one), ``admin``, and ``report`` (a report token or an administrator's): a report token, given to whoever reads
the figures, reads reports and nothing else, so every other route refuses it with 403. The store's domain errors
map to refusals here, once for every route (a route maps them differently where it must, e.g. an unknown
procedure on submission).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from backend.store import BackendStore, Conflict, Invalid, NotFound
from contracts.http import HttpStyle, Refused, Role, bearer, refusal, unstorable

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024
STORE_RETRY_AFTER_S = 5  # what a 503 store_unavailable asks a kiosk to wait before trying again
ERROR_SCHEMA = {"type": "object", "required": ["error", "message"], "properties": {
    "error": {"type": "string", "description": "machine code, e.g. not_found, invalid"},
    "message": {"type": "string", "description": "one line for people"}}}
Caller = tuple[str, str | None]  # (role of the token, the kiosk id it was issued for)
# route role → the token roles it accepts, and the refusal for a valid token of another role
ACCEPTS = {"kiosk": ({"kiosk", "admin"}, "a kiosk or admin token is required (a report token only reads reports)"),
           "admin": ({"admin"}, "admin token required"),
           "report": ({"report", "admin"}, "a report or admin token is required")}


def describe_error(exc: ValidationError) -> str:
    """One line naming the first bad key: ``printer: Input should be 'ok', 'paper_low', … (and 2 more)``."""
    errors = exc.errors()
    first = errors[0]
    key = ".".join(str(part) for part in first["loc"]) or "(body)"
    message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{key}: {message}{more}"


def error_body(refused: Refused) -> dict[str, Any]:
    return {"error": refused.code, "message": refused.message}


def backend_style(store: BackendStore) -> HttpStyle:
    """The style of every backend API route, authenticating against ``store``'s tokens."""

    def authenticate(request: Request, role: str) -> Caller:
        token = bearer(request)
        found = store.token_role(token) if token else None
        if found is None:
            raise Refused(401, "unauthorized", "a valid bearer token is required")
        accepted, refusal = ACCEPTS[role]
        if found[0] not in accepted:
            raise Refused(403, "forbidden", refusal)
        return found

    return HttpStyle(
        error_body=error_body, error_schema=ERROR_SCHEMA, authenticate=authenticate,
        roles={"kiosk": Role("kioskToken", (401, 403)), "admin": Role("adminToken", (401, 403)),
               "report": Role("reportToken", (401, 403))},
        invalid_body=lambda exc: Refused(422, "invalid", describe_error(exc)), body_errors=(422,),
        too_large="too_large", max_body=MAX_BODY,
        errors={NotFound: refusal(404, "not_found"), Invalid: refusal(422, "invalid"),
                Conflict: refusal(409, "idempotency_conflict"),
                **dict.fromkeys(store.db.data_errors, unstorable("invalid"))})


def store_unavailable(style: HttpStyle) -> Callable[[Request, Exception], Awaitable[Response]]:
    """The app's handler of a store that does not answer (``StoreUnavailable``: PostgreSQL down or unreachable;
    ``StoreBusy``: a SQLite file locked too long) on every route, admin pages included: 503 ``store_unavailable``
    with Retry-After, never a 500, so a kiosk keeps the request and tries again and a load balancer looks
    elsewhere. The detail (host, driver message) goes to the log, not to the caller."""

    async def handler(request: Request, exc: Exception) -> Response:
        log.warning("store unavailable on %s %s: %s", request.method, request.url.path, exc)
        return style.respond(Refused(503, "store_unavailable", "the backend's database is not answering; try again "
                                     "shortly", headers={"Retry-After": str(STORE_RETRY_AFTER_S)}))

    return handler
