"""Requests a screen waits for: taps during the wait are ignored, progress shows if the answer is slow.

The core answers every slow intent on a worker and the answer comes back as an event; meanwhile the UI keeps
drawing. :class:`Pending` is one such wait as the screen sees it: a second tap while it is active is ignored (never
doubled), and if no answer came within :data:`PROGRESS_AFTER_S` the app shows its progress message until it does.
:class:`TicketDesk` is the kiosk-wide wait for a ticket, whichever screen asked for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.clock import Clock

from kiosk.core import KioskCore
from kiosk.view_models.queue import TicketOutcome

PROGRESS_AFTER_S = 0.15  # an answer within this needs no progress message; later ones do


class Pending:
    """One request in flight; ``app.waiting`` counts the requests whose answer is overdue (progress shows)."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self.active = False
        self._overdue = False
        self._timer = Clock.create_trigger(self._late, PROGRESS_AFTER_S)

    def start(self) -> bool:
        """Begin waiting; False when a request is already in flight (the tap that asked is ignored)."""
        if self.active:
            return False
        self.active = True
        self._timer()
        self._app.track(self)
        return True

    def _late(self, *_args: object) -> None:
        if self.active and not self._overdue:
            self._overdue = True
            self._app.waiting += 1

    def finish(self) -> bool:
        """The answer arrived (or the citizen left); False when nothing was pending."""
        if not self.active:
            return False
        self.active = False
        self._timer.cancel()
        if self._overdue:
            self._overdue = False
            self._app.waiting -= 1
        return True


class TicketDesk:
    """One ticket request at a time for the whole kiosk; its answer shows the ticket or says why there is none.

    Requests come from screen taps (:meth:`take`) or from a flow in the core (the filing screen's "a number for
    this counter"): the core announces each with ``ticket_requested`` and answers with ``ticket``. An answer that
    arrives after the citizen left (Home, idle reset) is dropped; the ticket itself was printed.
    """

    def __init__(self, app: Any) -> None:
        self._app = app
        self._pending = Pending(app)
        self._request: int | None = None
        self._refused: Callable[[str], None] | None = None
        events = app.core.events
        events.subscribe("ticket_requested", lambda request: app.on_ui(self._requested, request))
        events.subscribe("ticket", lambda outcome: app.on_ui(self._answered, outcome))

    def take(self, ask: Callable[[KioskCore], int | None], refused: Callable[[str], None]) -> bool:
        """Ask the core for a ticket with ``ask(core)``; ``refused`` gets the reason, in the citizen's language,
        when none is issued. False (nothing asked) while another ticket request is in flight."""
        if self._pending.active:
            return False
        request = ask(self._app.core)
        if request is None:
            return False
        self._request, self._refused = request, refused
        self._pending.start()
        return True

    def _requested(self, request: int) -> None:
        if not self._pending.active:  # asked by a flow, not a tap here: wait for it all the same
            self._request, self._refused = request, None
            self._pending.start()

    def _answered(self, outcome: TicketOutcome) -> None:
        if outcome.request != self._request or not self._pending.finish():
            return
        refused, self._refused, self._request = self._refused, None, None
        if outcome.ticket is not None:
            self._app.screen("ticket").show(outcome.ticket)
            self._app.go("ticket")
        else:
            (refused or self._app.toast)(outcome.refusal)
