"""What the queue server's route modules share: the engine, the clock, cheap read views, the board and its events.

One :class:`Branch` per app. Its methods are the reads and writes that more than one kind of page needs: "today"
in the centre's time zone, a ticket by id (or by the request id an offline ticket was reported under), the
board's snapshot, and announcing a call to the board and every open event stream, in this process and, on
PostgreSQL, in every other process of the server (``callfeed``). Counter logins and kiosk presence live in the
database (``counters``, ``kiosks``), so any process answers any caller alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from config.localtime import LOCAL_TZ
from contracts.http import Refused
from queueing.engine import QueueEngine
from queueing.errors import UnknownTicket
from queueing.models import Ticket
from queueing.server.callfeed import CallFeed
from queueing.server.counters import CounterLogins
from queueing.server.events import Board, Call, EventHub
from queueing.server.kiosks import KioskTokens, Presence
from queueing.server.views import ReadViews
from queueing.server.wire import OFFLINE_PREFIX, to_json


@dataclass
class Branch:
    engine: QueueEngine
    now: Callable[[], datetime]  # aware local time for call stamps and "today"
    logins: CounterLogins
    kiosks: KioskTokens
    title: str = ""  # the display board's heading (the centre's name)
    announcements: Sequence[str] = ()  # texts the board scrolls
    hub: EventHub = field(default_factory=EventHub)
    presence: Presence = field(init=False)
    views: ReadViews = field(init=False)
    board: Board = field(init=False)
    feed: CallFeed = field(init=False)
    counters: list[int] = field(init=False)  # every counter a service names or a password exists for
    after_call: list[Callable[[], None]] = field(default_factory=list)  # quick hooks run after each call here

    def __post_init__(self) -> None:
        self.presence = Presence(self.engine.db)
        self.views = ReadViews(self.engine)
        self.board = Board.from_rows(self.engine.rows_for_day(self.today()))
        self.feed = CallFeed(self.engine.db, self._heard, self._reload_board)
        self.engine.when_closed(self.feed.close)
        self.counters = sorted({n for s in self.engine.services.values() for n in s.counters}
                               | set(self.logins.counters))

    def today(self) -> date:
        return self.now().astimezone(LOCAL_TZ).date()

    def kiosk_for(self, token: str) -> str:
        """The kiosk a bearer token names, noting that it is online. :raises Refused: 401, not a kiosk token."""
        kiosk = self.kiosks.kiosk_for(token)
        self.presence.seen(kiosk, self.now())
        return kiosk

    def notice(self, token: str) -> None:
        """Note a kiosk's contact on a public read (its sync sends its token there too); other callers pass."""
        try:
            self.kiosk_for(token)
        except Refused:
            pass

    def service_name(self, code: str) -> str:
        service = self.engine.services.get(code)
        return service.name_vi if service else code

    def find(self, ticket_id: str) -> Ticket:
        """A ticket by its id, or an offline-issued one by the request id it was reported under (the id in its
        QR). :raises UnknownTicket: neither."""
        try:
            return self.engine.ticket(ticket_id)
        except UnknownTicket:
            found = self.views.by_request(ticket_id) if ticket_id.startswith(OFFLINE_PREFIX) else None
            if found is None:
                raise
            return self.engine.ticket(found)

    def snapshot(self) -> dict[str, Any]:
        """What a display board shows: services with their lines, each counter's current and last call."""
        status = self.engine.status()
        day = self.today()
        current = {c.counter: c for c in status.counters}
        last = self.board.last_per_counter(day)
        return {
            "at": status.at, "day": day, "title": self.title, "announcements": list(self.announcements),
            "services": [{**to_json(s), "name_vi": self.service_name(s.code)} for s in status.services],
            "counters": [{"counter": n, "current": current.get(n), "last": last.get(n)} for n in self.counters],
            "last_calls": self.board.recent(day),
        }

    def announce(self, ticket: Ticket, counter: int, recall: bool) -> None:
        """Put a call on the board and push it to every open event stream, here and in the other processes."""
        call = Call(counter, ticket.number, ticket.service, self.now(), recall)
        self.board.record(call)
        self.hub.publish("call", {**to_json(call), "service_name": self.service_name(ticket.service)})
        self.feed.send(to_json(call))
        for hook in self.after_call:
            hook()

    def _heard(self, data: dict[str, Any]) -> None:
        """A call another process made (on the feed's thread)."""
        call = Call(int(data["counter"]), str(data["number"]), str(data["service"]),
                    datetime.fromisoformat(data["at"]), bool(data["recall"]))
        self.board.record(call)
        self.hub.publish_threadsafe("call", {**to_json(call), "service_name": self.service_name(call.service)})

    def _reload_board(self) -> None:
        """After the feed missed calls: the board from the day's tickets again (on the feed's thread)."""
        self.board.replace(Board.calls_in(self.engine.rows_for_day(self.today())))
