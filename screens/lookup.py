"""Tra cứu hồ sơ: scan prompt, manual entry on the code keyboard, and the result in large, plain Vietnamese.

Look-ups and booking check-ins run in the core on workers; the screen shows "loading" at once and the
:class:`~kiosk.view_models.lookup.LookupView` (or the check-in's ticket or refusal) when it arrives.
"""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.properties import ObjectProperty, StringProperty

from kiosk.i18n import tr
from kiosk.scan_routing import refusal
from kiosk.view_models.lookup import NO_LOOKUP, BookingOutcome, LookupView
from screens.look import LookScreen


class LookupScreen(LookScreen):
    # prompt | entry | loading | found | cached | queued | undeliverable | not_found | unavailable | booking_refused
    state = StringProperty("prompt")
    message = StringProperty("")
    code = StringProperty("")
    view = ObjectProperty(NO_LOOKUP, rebind=True)  # kv reads root.view.<line>: re-read when the view changes

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        app = App.get_running_app()
        app.core.events.subscribe("lookup", lambda view: app.on_ui(self._show, view))
        app.core.events.subscribe("booking", lambda outcome: app.on_ui(self._checked_in, outcome))

    def on_state(self, *_args: object) -> None:
        self.ids.parts.current = self.state if self.state in ("prompt", "entry") else "result"

    def on_pre_enter(self, *_args: object) -> None:
        if self.state not in ("loading",):
            self.reset()

    def reset(self) -> None:
        self.state, self.message, self.code, self.view = "prompt", "", "", NO_LOOKUP
        self.ids.keyboard.set_text("")

    def take_scan(self, payload: dict[str, Any]) -> bool:
        """Scans on this screen: a dossier code is looked up, a phone number's check-in QR goes to the check-in
        screen, anything else gets a clear explanation."""
        app = App.get_running_app()
        if payload["kind"] == "checkin":
            return False
        if payload["kind"] == "dossier":
            self.search(payload["code"])
        elif payload["kind"] == "booking":
            self.check_in(payload["code"])
        elif payload["kind"] == "cccd":
            self.message = app.tr("lookup.cccd", app.lang)  # the card data is dropped here
        else:
            self.message = _refused(payload, app.lang)
        return True

    def open_entry(self) -> None:
        self.state, self.message = "entry", ""

    def search_typed(self) -> None:
        app = App.get_running_app()
        parsed = app.core.read_typed_code(self.ids.keyboard.text)
        if parsed["kind"] == "booking":
            self.check_in(parsed["code"])
        elif parsed["kind"] == "dossier":
            self.search(parsed["code"])
        else:
            self.message = _refused(parsed, app.lang)

    def search(self, code: str) -> None:
        self.code, self.state, self.message, self.view = code, "loading", "", NO_LOOKUP
        App.get_running_app().core.look_up(code)

    def check_in(self, code: str) -> None:
        self.code, self.state, self.message, self.view = code, "loading", "", NO_LOOKUP
        App.get_running_app().core.check_in(code)

    def _checked_in(self, outcome: BookingOutcome) -> None:
        """Checked in: straight to the ticket screen; otherwise the reason, in plain words, with a way forward."""
        if outcome.code != self.code or self.state != "loading":
            return
        app = App.get_running_app()
        if outcome.ticket is not None:
            app.screen("ticket").show(outcome.ticket)
            app.go("ticket")
            return
        self.state, self.message = "booking_refused", outcome.message

    def _show(self, view: LookupView) -> None:
        if view.code != self.code:
            return
        self.state, self.view = view.outcome, view

    def print_slip(self) -> None:
        if self.view.has_status:
            App.get_running_app().core.print_slip(self.view.code)

    def help_ticket(self) -> None:
        """An unknown code: a number for the help desk, where staff look it up with the citizen."""
        app = App.get_running_app()
        app.tickets.take(lambda core: core.take_counter_number(None), lambda message: setattr(self, "message", message))


def _refused(payload: dict[str, Any], lang: str) -> str:
    """Why a code cannot be looked up: the parser's reason when it has one, else what a dossier code looks like."""
    route = refusal(payload)
    return route.text(lang) if route else tr("lookup.invalid", lang)
