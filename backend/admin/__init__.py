"""Administrators' web pages on the reference backend: fleet dashboard, kiosk logs, announcements, content versions.

Layout: :mod:`.pages` (routes and form handling), :mod:`.sessions` (login sessions and CSRF), :mod:`.publishing`
(building and signing bundles on the backend), ``templates/`` (Jinja2, Vietnamese) and ``static/`` (CSS, one
script). :func:`admin_routes` is what the app mounts.
"""

from __future__ import annotations

from nacl.signing import SigningKey
from starlette.routing import BaseRoute

from backend.admin.city_pages import city_routes
from backend.admin.pages import AdminPages, TokenRole
from backend.admin.publishing import PublishingShelf
from backend.admin.sessions import AdminSessions
from backend.admin.tokens import KioskTokens, token_routes
from backend.city_view import CityView
from backend.fleet import FleetStore
from config.loader import load_config
from contracts.sqldb import Database

__all__ = ["PublishingShelf", "admin_routes"]


def admin_routes(token_role: TokenRole, fleet: FleetStore, shelf: PublishingShelf, *,
                 sessions_db: Database | str, signing_key: SigningKey | None,
                 tokens: KioskTokens | None = None, city: CityView | None = None) -> list[BaseRoute]:
    """The admin pages under ``/admin``; without ``signing_key`` they work but cannot publish; ``city``: the city
    operations view's pages (``/admin/city``)."""
    sessions = AdminSessions(sessions_db)
    pages = AdminPages(token_role, fleet, shelf, sessions, signing_key, load_config(None, []), sessions.guard())
    return (pages.routes() + (token_routes(pages, tokens) if tokens else [])  # tokens: the kiosk-token page
            + (city_routes(pages, city) if city else []))
