"""The branch queue server: one ``QueueEngine`` shared over HTTP by a centre's kiosks, counters and display boards.

Kiosks list services, take tickets (idempotent per request id), lease number blocks and report tickets they issued
offline (``kiosk_api``; each kiosk with its own token, ``kiosks``); counters log in with their password and call,
recall, start, finish, skip and transfer (``counter_api``); display boards follow ``/api/events`` and fetch spoken
calls (``board_api``); citizens take numbers from their phones and check in at a kiosk or counter (``phone_api``,
with SMS through ``contracts.sms``); phones follow ``/track/<ticket id>`` and managers read the daily report with a
report token (``report_api``, ``report_tokens``); ``pages`` serves the HTML. Each module declares its endpoints once
(``contracts.http``); ``create_app`` binds them with the queue's style (``http``: the error shape, the kiosk,
counter and report roles), publishes ``/openapi.json`` generated from the same declarations, and adds the pages.
Every refusal is a 4xx JSON ``{"error": "<one-line message>", "code": "<machine code>"}``.

Reads run on the event loop: each is a sub-millisecond query, cheaper than the hop to a worker thread. Writes go
to worker threads, because each waits for its commit to reach the disk (``queueing.db``: one fsync serves every
commit made meanwhile, so concurrent kiosks share it); so does the scrypt check of a login. On SQLite the server
is the only process on its file; on PostgreSQL several processes serve one database (``--workers``, or hosts
behind a proxy): logins, kiosk presence and the tickets are in the database and calls reach every process's
boards (``branch``, ``callfeed``). A database that cannot answer is a 503 with code ``store_unavailable`` (or
``store_busy``), never a 500, and ``/health`` asks it (``SELECT 1``), so a load balancer takes a process whose
database is gone out of rotation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import Response

from config.localtime import LOCAL_TZ
from config.schema import PhoneQueueSection
from contracts.http import Call, Endpoint, bind_all, no_such_endpoint
from contracts.openapi import document, published
from contracts.sms import SmsGateway
from queueing.engine import QueueEngine
from queueing.models import QueueStatus, ServiceOverview
from queueing.server.board_api import board_endpoints
from queueing.server.branch import Branch
from queueing.server.city_sender import CityLink, CitySender
from queueing.server.counter_api import counter_endpoints
from queueing.server.counters import CounterLogins
from queueing.server.http import answer, queue_style
from queueing.server.kiosk_api import kiosk_endpoints
from queueing.server.kiosks import KioskTokens, Presence
from queueing.server.pages import STATIC, page_routes
from queueing.server.phone_api import phone_desk, phone_endpoints
from queueing.server.report_api import report_endpoints
from queueing.server.report_tokens import ReportTokens

__all__ = ["STATIC", "create_app"]
INFO = {"title": "Branch queue server", "version": "0.1.0",
        "description": "One queue for a centre's kiosks, counters and display boards. Refusals are 4xx JSON "
                       "{error, code}."}


def create_app(engine: QueueEngine, *, counter_passwords: Mapping[int, str],
               kiosk_tokens: KioskTokens | Iterable[str] = (), report_tokens: ReportTokens | Iterable[str] = (),
               clock: Callable[[], datetime] | None = None, title: str = "", announcements: Sequence[str] = (),
               city: CityLink | None = None, sms: SmsGateway | None = None,
               phone: PhoneQueueSection | None = None, public_url: str = "http://127.0.0.1:8700",
               phone_clock: Callable[[], float] = time.time) -> Starlette:
    """:param counter_passwords: counter number → salted scrypt hash (``contracts.pin.hash_pin``).
    :param kiosk_tokens: ``<kiosk id>:<secret>`` tokens kiosks take tickets with (``kiosks``); none: every kiosk
        call is refused. :raises BadKioskToken: a malformed one.
    :param report_tokens: tokens that read the daily report (``report_tokens``); none: every report call is refused.
        :raises BadReportToken: one too short.
    :param clock: aware local time for call stamps and "today" (default: the wall clock); give the engine's.
    :param title: the display board's heading (the centre's name); ``announcements``: texts it scrolls.
    :param city: where to report the centre's figures (``city_sender``; started and stopped with the app, as
        ``app.state.city_sender``); None: no reports.
    :param sms: the gateway of the phone queue's messages; None: no numbers from phones (its routes are absent,
        as with ``phone.enabled`` false). ``phone``: its settings (default: ``[queue.phone]``'s defaults);
        ``public_url``: the server's address its check-in QR links point at; ``phone_clock``: epoch seconds for
        code expiry, limits and message retries."""
    branch = Branch(engine, clock or (lambda: datetime.now(LOCAL_TZ)), CounterLogins(counter_passwords, engine.db),
                    kiosk_tokens if isinstance(kiosk_tokens, KioskTokens) else KioskTokens(kiosk_tokens), title,
                    announcements)

    async def health(_call: Call) -> Response:
        engine.db.query("SELECT 1")  # StoreUnavailable: 503
        return answer({"ok": True, "at": branch.now(), "board_streams": branch.hub.subscribers})

    endpoints = [Endpoint("GET", "/health", health, "Liveness: 200 when the database answers, else 503",
                          errors=(503,)), *kiosk_endpoints(branch),
                 *counter_endpoints(branch), *board_endpoints(branch), *report_endpoints(branch)]
    phone = phone or PhoneQueueSection()
    if sms is not None and phone.enabled:
        endpoints += phone_endpoints(phone_desk(branch, phone, sms, public_url.rstrip("/"), phone_clock))
    readers = report_tokens if isinstance(report_tokens, ReportTokens) else ReportTokens(report_tokens)
    style = queue_style(branch.logins, branch.kiosk_for, readers.check, engine.db.data_errors)
    spec = document(INFO, endpoints, style, also=(ServiceOverview, QueueStatus))
    sender = CitySender(city, engine, clock=branch.now, kiosks=branch.kiosks.kiosks, online_within=Presence.GAP,
                        displays_online=lambda: branch.hub.subscribers) if city else None
    app = Starlette(routes=[*bind_all(endpoints, style), published(spec), *page_routes()],
                    exception_handlers={HTTPException: no_such_endpoint(style)},
                    lifespan=sender.lifespan if sender else None)
    app.state.city_sender = sender
    return app
