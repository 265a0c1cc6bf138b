"""Tra cứu hồ sơ: scan prompt, manual entry on the code keyboard, and the result in large, plain Vietnamese."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.properties import DictProperty, ListProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.booking_flow import BookingResult
from kiosk.lookup_flow import LookupResult, local_date


class LookupScreen(Screen):
    # prompt | entry | loading | found | cached | queued | undeliverable | not_found | unavailable | booking_refused
    state = StringProperty("prompt")
    message = StringProperty("")
    code = StringProperty("")
    status = DictProperty({})
    cached_at = StringProperty("")
    steps = ListProperty([])

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        app = App.get_running_app()
        app.core.events.subscribe("lookup", lambda result: app.on_ui(self._show, result))
        app.core.events.subscribe("booking", lambda result: app.on_ui(self._checked_in, result))

    def on_state(self, *_args: object) -> None:
        self.ids.parts.current = self.state if self.state in ("prompt", "entry") else "result"

    def on_pre_enter(self, *_args: object) -> None:
        if self.state not in ("loading",):
            self.reset()

    def reset(self) -> None:
        self.state, self.message, self.code, self.status, self.cached_at = "prompt", "", "", {}, ""
        self.ids.keyboard.set_text("")

    def take_scan(self, payload: dict[str, Any]) -> bool:
        """Scans on this screen: a dossier code is looked up, anything else gets a clear explanation."""
        app = App.get_running_app()
        if payload["kind"] == "dossier":
            self.search(payload["code"])
        elif payload["kind"] == "booking":
            self.check_in(payload["code"])
        elif payload["kind"] == "cccd":
            self.message = app.tr("lookup.cccd", app.lang)  # the card data is dropped here
        else:
            self.message = app.tr("lookup.invalid", app.lang)
        return True

    def open_entry(self) -> None:
        self.state, self.message = "entry", ""

    def search_typed(self) -> None:
        parsed = App.get_running_app().core.read_typed_code(self.ids.keyboard.text)
        if parsed["kind"] == "booking":
            self.check_in(parsed["code"])
        elif parsed["kind"] == "dossier":
            self.search(parsed["code"])
        else:
            self.message = App.get_running_app().tr("lookup.invalid", App.get_running_app().lang)

    def search(self, code: str) -> None:
        self.code, self.state, self.message = code, "loading", ""
        App.get_running_app().core.lookup.lookup(code)

    def check_in(self, code: str) -> None:
        self.code, self.state, self.message = code, "loading", ""
        App.get_running_app().core.bookings.check_in(code)

    def _checked_in(self, result: BookingResult) -> None:
        """Checked in: straight to the ticket screen; otherwise the reason, in plain words, with a way forward."""
        if result.code != self.code or self.state != "loading":
            return
        app = App.get_running_app()
        if result.ticket is not None:
            app.screen("ticket").show(result.ticket)
            app.go("ticket")
            return
        self.state = "booking_refused"
        key = result.message_key or f"booking.{result.outcome}"
        self.message = app.tr(key, app.lang, code=result.code)

    def _show(self, result: LookupResult) -> None:
        if result.code != self.code:
            return
        self.state = result.outcome
        self.status = result.status
        self.cached_at = result.cached_at
        self.steps = [step["status"] for step in result.status.get("timeline", [])]

    def print_slip(self) -> None:
        if self.status:
            App.get_running_app().core.print_slip(dict(self.status))

    def help_ticket(self) -> None:
        app = App.get_running_app()
        app.screen("queue").take("HD")

    @staticmethod
    def date(iso: str) -> str:
        return local_date(iso) if iso else ""
