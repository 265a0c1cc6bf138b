"""The reference backend's HTTP API (Starlette): catalogue, dossiers, payments, bookings, content, fleet, surveys.

``create_app`` is a list of routes: each module declares its endpoints (``kiosk_api``, ``content_routes``,
``fleet``, ``surveys``), ``contracts.http`` binds them with the backend's style (``http``) and generates
``/openapi.json`` from the same declarations; the admin pages (HTML, sessions) come after.

Kiosks authenticate with a bearer token issued per kiosk, administrators with an admin token; both are stored as
SHA-256 hashes. Every input is validated and every refusal is a 4xx JSON ``{"error": code, "message": text}``:
a kiosk can tell "try again later" (5xx, network) from "rejected" (4xx) without parsing prose; a database that
does not answer is a 503 ``store_unavailable`` with Retry-After on every route, and ``/health`` asks the database.

The stores run on SQLite (``backend.db`` and files beside it: one process) or on one PostgreSQL database shared
by every process (``backend.layout``); nothing that must agree between processes is kept in a process's memory:
sessions, login lockouts, content, fleet, surveys and, on PostgreSQL, the look-up limits are in the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from backend.admin import PublishingShelf, admin_routes
from backend.city import CityStore, city_report_endpoints
from backend.city_api import city_endpoints
from backend.city_view import CityView
from backend.content_routes import content_endpoints
from backend.fleet import FleetStore, fleet_endpoints
from backend.http import backend_style, store_unavailable
from backend.kiosk_api import kiosk_endpoints
from backend.layout import BESIDE
from backend.sms_sender import SmsSender
from backend.store import BackendStore
from backend.surveys import SurveyLedger, survey_endpoints
from contracts.content.signing import encode_public_key
from contracts.http import Call, Endpoint, bind_all, no_such_endpoint
from contracts.openapi import document, published
from contracts.ratelimit import LookupLimit, SharedLookupLimit
from contracts.sms import SmsGateway
from contracts.sqldb import Database, StoreBusy, StoreUnavailable, is_url

INFO = {"title": "Public-service kiosk reference backend", "version": "0.1.0",
        "description": "Dossiers, catalogue, bookings, payments, content publishing, fleet and surveys. Refusals "
                       "are 4xx JSON {error: code, message}; a store that does not answer is 503 "
                       "{error: store_unavailable} with Retry-After."}
Throttle = Callable[[Any, Any], None]


@dataclass(frozen=True)
class BackendSettings:
    # The account fee QR codes pay into (--bank-bin/--bank-account or BACKEND_BANK_BIN/BACKEND_BANK_ACCOUNT). No
    # default: a made-up account in the code would send citizens' fees nowhere; without one the QR is refused.
    bank_bin: str | None = None
    bank_account: str | None = None
    # HMAC-SHA256 key the bank signs payment callbacks with (BACKEND_PAYMENT_SECRET). No default: a secret written
    # in the code is a secret everyone has, so without one every callback is refused.
    payment_secret: str | None = None
    # On SQLite each of these is a file of its own (``:memory:`` keeps it for the life of the process); on PostgreSQL
    # they are not used: every table lives in the backend's one database, which all its processes share.
    content_db: str = ":memory:"  # published content bundles
    fleet_db: str = ":memory:"  # each kiosk's last heartbeat and the admin pages' sessions
    survey_db: str = ":memory:"  # satisfaction survey answers
    city_db: str = ":memory:"  # the branch queue servers' reports: each centre's newest and 15-minute history
    signing_key: SigningKey | None = None  # signs bundles published from the admin pages (--signing-key)
    # Code look-ups (dossier status, fee, booking check-in) allowed a minute per kiosk token and per client address
    # (contracts.ratelimit): a kiosk makes one or two a minute; a stolen token cannot walk the sequential codes.
    lookups_per_token_per_min: float = 30
    lookups_per_address_per_min: float = 120
    # Public keys whose bundles the publish API accepts besides the signing key's own (--trusted-key FILE,
    # BACKEND_CONTENT_TRUSTED_KEYS): an administrator's offline key. No key, no publishing.
    trusted_keys: tuple[str, ...] = ()
    # Where status SMS go (``backend serve --sms-url``; contracts.sms). None: they wait in the outbox unsent (the
    # kiosk's embedded backend, tests of other parts): no process sends SMS unless its command line says so.
    sms: SmsGateway | None = None

    def content_signers(self) -> tuple[str, ...]:
        own = (encode_public_key(self.signing_key.verify_key),) if self.signing_key else ()
        return own + self.trusted_keys

    @classmethod
    def beside(cls, db: Path | str, **changes: Any) -> BackendSettings:
        """Content, fleet and survey files next to the backend's SQLite file, so all of it survives a restart (on
        PostgreSQL everything is in the one database anyway)."""
        if is_url(db):
            return cls(**changes)
        files = {f"{name}_db": str(Path(db).with_name(f"{name}.db")) for name in BESIDE}
        return cls(**files, **changes)


def health(db: Database) -> Callable[[Call], Awaitable[Response]]:
    """``GET /health`` for a load balancer: 200 once the store answers a ``SELECT 1``, else 503 (the handler of
    :func:`backend.http.store_unavailable` words it)."""

    async def check(_call: Call) -> Response:
        db.query("SELECT 1")
        return JSONResponse({"ok": True})

    return check


def create_app(store: BackendStore, settings: BackendSettings = BackendSettings()) -> Starlette:
    """The API routes (declared once: see ``contracts.http``), their OpenAPI document and the admin pages."""
    shared = store.db.dialect == "postgresql"

    def beside(path: str) -> Database | str:
        return store.db if shared else path

    shelf = PublishingShelf(beside(settings.content_db), settings.content_signers())
    fleet = FleetStore(beside(settings.fleet_db))
    city = CityStore(beside(settings.city_db))
    view = CityView(city, fleet, store.db)  # the city operations view: reports + heartbeats + dossiers
    if shared:
        lookups: Throttle = SharedLookupLimit(store.db, settings.lookups_per_token_per_min,
                                              settings.lookups_per_address_per_min)
    else:
        lookups = LookupLimit.per_minute(settings.lookups_per_token_per_min, settings.lookups_per_address_per_min)
    endpoints = [
        Endpoint("GET", "/health", health(store.db), "Readiness: the store answers (503 store_unavailable if not)",
                 errors=(503,)),
        *kiosk_endpoints(store, bank_bin=settings.bank_bin, bank_account=settings.bank_account,
                         payment_secret=settings.payment_secret, lookups=lookups),
        *content_endpoints(shelf), *fleet_endpoints(fleet),
        *survey_endpoints(SurveyLedger(beside(settings.survey_db))), *city_report_endpoints(city),
        *city_endpoints(view),
    ]
    style = backend_style(store)
    unavailable = store_unavailable(style)
    sender = SmsSender(store, settings.sms) if settings.sms is not None else None
    app = Starlette(
        lifespan=sender.lifespan() if sender else None,
        exception_handlers={HTTPException: no_such_endpoint(style), StoreUnavailable: unavailable,
                            StoreBusy: unavailable},
        routes=[*bind_all(endpoints, style), published(document(INFO, endpoints, style)),
                *admin_routes(store.token_role, fleet, shelf, sessions_db=fleet.db, signing_key=settings.signing_key,
                              tokens=store, city=view)])
    app.state.city = city  # the city view's routes read the reports from it
    return app
