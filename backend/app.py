"""The reference backend's HTTP API (Starlette): catalogue, dossiers, payments, bookings, content, fleet, surveys.

``create_app`` is a list of routes: each module declares its endpoints (``kiosk_api``, ``content_routes``,
``fleet``, ``surveys``), ``contracts.http`` binds them with the backend's style (``http``) and generates
``/openapi.json`` from the same declarations; the admin pages (HTML, sessions) come after.

Kiosks authenticate with a bearer token issued per kiosk, administrators with an admin token; both are stored as
SHA-256 hashes. Every input is validated and every refusal is a 4xx JSON ``{"error": code, "message": text}``:
a kiosk can tell "try again later" (5xx, network) from "rejected" (4xx) without parsing prose.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from backend.admin import PublishingShelf, admin_routes
from backend.content_routes import content_endpoints
from backend.fleet import FleetStore, fleet_endpoints
from backend.http import backend_style
from backend.kiosk_api import kiosk_endpoints
from backend.store import BackendStore
from backend.surveys import SurveyLedger, survey_endpoints
from contracts.content.signing import encode_public_key
from contracts.http import Call, Endpoint, bind_all, no_such_endpoint
from contracts.openapi import document, published
from contracts.ratelimit import LookupLimit

INFO = {"title": "Public-service kiosk reference backend", "version": "0.1.0",
        "description": "Dossiers, catalogue, bookings, payments, content publishing, fleet and surveys. Refusals "
                       "are 4xx JSON {error: code, message}."}


@dataclass(frozen=True)
class BackendSettings:
    # The account fee QR codes pay into (--bank-bin/--bank-account or BACKEND_BANK_BIN/BACKEND_BANK_ACCOUNT). No
    # default: a made-up account in the code would send citizens' fees nowhere; without one the QR is refused.
    bank_bin: str | None = None
    bank_account: str | None = None
    # HMAC-SHA256 key the bank signs payment callbacks with (BACKEND_PAYMENT_SECRET). No default: a secret written
    # in the code is a secret everyone has, so without one every callback is refused.
    payment_secret: str | None = None
    content_db: str = ":memory:"  # SQLite file keeping published content bundles
    fleet_db: str = ":memory:"  # SQLite file keeping each kiosk's last heartbeat and the admin pages' sessions
    survey_db: str = ":memory:"  # SQLite file keeping satisfaction survey answers
    signing_key: SigningKey | None = None  # signs bundles published from the admin pages (--signing-key)
    # Code look-ups (dossier status, fee, booking check-in) allowed a minute per kiosk token and per client address
    # (contracts.ratelimit): a kiosk makes one or two a minute; a stolen token cannot walk the sequential codes.
    lookups_per_token_per_min: float = 30
    lookups_per_address_per_min: float = 120
    # Public keys whose bundles the publish API accepts besides the signing key's own (--trusted-key FILE,
    # BACKEND_CONTENT_TRUSTED_KEYS): an administrator's offline key. No key, no publishing.
    trusted_keys: tuple[str, ...] = ()

    def content_signers(self) -> tuple[str, ...]:
        own = (encode_public_key(self.signing_key.verify_key),) if self.signing_key else ()
        return own + self.trusted_keys

    @classmethod
    def beside(cls, db: Path, **changes: Any) -> BackendSettings:
        """Content, fleet and survey files next to the backend's database, so all of it survives a restart."""
        files = {f"{name}_db": str(db.with_name(f"{name}.db")) for name in ("content", "fleet", "survey")}
        return cls(**files, **changes)


async def _health(_call: Call) -> Response:
    return JSONResponse({"ok": True})


def create_app(store: BackendStore, settings: BackendSettings = BackendSettings()) -> Starlette:
    """The API routes (declared once: see ``contracts.http``), their OpenAPI document and the admin pages."""
    shelf, fleet = PublishingShelf(settings.content_db, settings.content_signers()), FleetStore(settings.fleet_db)
    endpoints = [
        Endpoint("GET", "/health", _health, "Liveness"),
        *kiosk_endpoints(store, bank_bin=settings.bank_bin, bank_account=settings.bank_account,
                         payment_secret=settings.payment_secret,
                         lookups=LookupLimit.per_minute(settings.lookups_per_token_per_min,
                                                        settings.lookups_per_address_per_min)),
        *content_endpoints(shelf), *fleet_endpoints(fleet), *survey_endpoints(SurveyLedger(settings.survey_db)),
    ]
    style = backend_style(store)
    return Starlette(exception_handlers={HTTPException: no_such_endpoint(style)}, routes=[
        *bind_all(endpoints, style), published(document(INFO, endpoints, style)),
        *admin_routes(store.token_role, fleet, shelf, sessions_db=settings.fleet_db, signing_key=settings.signing_key,
                      tokens=store),
    ])
