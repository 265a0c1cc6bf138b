"""The reference backend's HTTP API (Starlette): catalogue, dossiers, payments, bookings; OpenAPI at /openapi.json.

Kiosks authenticate with a bearer token issued per kiosk, administrators with an admin token; both are stored as
SHA-256 hashes. Every input is validated and every refusal is a 4xx JSON ``{"error": code, "message": text}``:
a kiosk can tell "try again later" (5xx, network) from "rejected" (4xx) without parsing prose.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from backend.admin import PublishingShelf, admin_routes
from backend.content_routes import content_routes
from backend.fleet import FleetStore, fleet_routes
from backend.http import idempotency_key, refuse
from backend.openapi import OPENAPI
from backend.store import BackendStore, Conflict, Invalid, NotFound
from backend.surveys import SurveyLedger, survey_routes
from contracts.vietqr import build_vietqr, fee_message

MAX_BODY = 256 * 1024


@dataclass(frozen=True)
class BackendSettings:
    bank_bin: str = "970415"
    bank_account: str = "113000006868"
    payment_secret: str = "demo-payment-secret"
    content_db: str = ":memory:"  # SQLite file keeping published content bundles
    fleet_db: str = ":memory:"  # SQLite file keeping each kiosk's last heartbeat and the admin pages' sessions
    survey_db: str = ":memory:"  # SQLite file keeping satisfaction survey answers
    signing_key: SigningKey | None = None  # signs bundles published from the admin pages (--signing-key)

    @classmethod
    def beside(cls, db: Path, **changes: Any) -> BackendSettings:
        """Content, fleet and survey files next to the backend's database, so all of it survives a restart."""
        files = {f"{name}_db": str(db.with_name(f"{name}.db")) for name in ("content", "fleet", "survey")}
        return cls(**files, **changes)




def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise Invalid("request body too large")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise Invalid("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Invalid("body must be a JSON object")
    return body


def create_app(store: BackendStore, settings: BackendSettings = BackendSettings()) -> Starlette:
    def auth(request: Request, role: str) -> tuple[str, str | None] | JSONResponse:
        found = store.token_role(_bearer(request)) if _bearer(request) else None
        if found is None:
            return refuse(401, "unauthorized", "a valid bearer token is required")
        if role == "admin" and found[0] != "admin":
            return refuse(403, "forbidden", "admin token required")
        return found

    async def health(_request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def openapi(_request: Request) -> Response:
        return JSONResponse(OPENAPI)

    async def procedures(_request: Request) -> Response:
        return JSONResponse({"procedures": store.procedures(), "life_events": store.life_events()})

    async def procedure(request: Request) -> Response:
        try:
            return JSONResponse(store.procedure(request.path_params["proc_id"]))
        except NotFound as exc:
            return refuse(404, "not_found", str(exc))

    async def submit(request: Request) -> Response:
        who = auth(request, "kiosk")
        if isinstance(who, JSONResponse):
            return who
        key = idempotency_key(request)
        if isinstance(key, JSONResponse):
            return key
        try:
            dossier, created = store.submit(key, await _json_body(request), who[1])
        except NotFound as exc:
            return refuse(404, "unknown_procedure", str(exc))
        except Invalid as exc:
            return refuse(422, "invalid", str(exc))
        except Conflict as exc:
            return refuse(409, "idempotency_conflict", str(exc))
        return JSONResponse(dossier, status_code=201 if created else 200)

    async def dossier(request: Request) -> Response:
        who = auth(request, "kiosk")
        if isinstance(who, JSONResponse):
            return who
        try:
            return JSONResponse(store.status(request.path_params["code"]))
        except NotFound as exc:
            return refuse(404, "not_found", str(exc))

    async def payment(request: Request) -> Response:
        who = auth(request, "kiosk")
        if isinstance(who, JSONResponse):
            return who
        try:
            status = store.status(request.path_params["code"])
        except NotFound as exc:
            return refuse(404, "not_found", str(exc))
        qr = build_vietqr(settings.bank_bin, settings.bank_account, status["fee"] or None,
                          fee_message(status["code"])) if status["fee"] and not status["paid"] else None
        return JSONResponse({"code": status["code"], "fee": status["fee"], "paid": status["paid"], "vietqr": qr})

    async def payment_callback(request: Request) -> Response:
        raw = await request.body()
        expected = hmac.new(settings.payment_secret.encode(), raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("x-signature", "")):
            return refuse(401, "bad_signature", "the bank callback signature does not match")
        try:
            body = await _json_body(request)
            return JSONResponse(store.mark_paid(str(body.get("code", ""))))
        except Invalid as exc:
            return refuse(422, "invalid", str(exc))
        except NotFound as exc:
            return refuse(404, "not_found", str(exc))

    async def check_in(request: Request) -> Response:
        who = auth(request, "kiosk")
        if isinstance(who, JSONResponse):
            return who
        try:
            return JSONResponse(store.check_in(request.path_params["code"]))
        except NotFound as exc:
            return refuse(404, "not_found", str(exc))
        except Invalid as exc:
            return refuse(409, str(exc), f"booking cannot be checked in: {exc}")

    async def create_kiosk(request: Request) -> Response:
        who = auth(request, "admin")
        if isinstance(who, JSONResponse):
            return who
        try:
            body = await _json_body(request)
        except Invalid as exc:
            return refuse(422, "invalid", str(exc))
        kiosk_id = str(body.get("kiosk_id", "")).strip()
        if not kiosk_id or len(kiosk_id) > 32:
            return refuse(422, "invalid", "kiosk_id is required (at most 32 characters)")
        return JSONResponse({"kiosk_id": kiosk_id, "token": store.add_token("kiosk", kiosk_id)}, status_code=201)

    routes = [
        Route("/health", health), Route("/openapi.json", openapi),
        Route("/api/procedures", procedures), Route("/api/procedures/{proc_id}", procedure),
        Route("/api/dossiers", submit, methods=["POST"]), Route("/api/dossiers/{code}", dossier),
        Route("/api/dossiers/{code}/payment", payment),
        Route("/api/payments/callback", payment_callback, methods=["POST"]),
        Route("/api/bookings/{code}/checkin", check_in, methods=["POST"]),
        Route("/api/admin/kiosks", create_kiosk, methods=["POST"]),
    ]
    shelf, fleet = PublishingShelf(settings.content_db), FleetStore(settings.fleet_db)
    routes += content_routes(shelf, auth) + fleet_routes(fleet, auth)
    routes += survey_routes(SurveyLedger(settings.survey_db), auth)
    routes += admin_routes(store.token_role, fleet, shelf, sessions_db=settings.fleet_db,
                           signing_key=settings.signing_key)
    return Starlette(routes=routes)
