"""Take a number: the service list with live waiting counts, an optional priority group, then the ticket screen."""

from __future__ import annotations

from collections.abc import Callable

from kivy.app import App
from kivy.properties import ListProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.queue_flow import QueueRefused


class QueueScreen(Screen):
    rows = ListProperty([])
    priority = StringProperty("")
    message = StringProperty("")

    def on_pre_enter(self, *_args: object) -> None:
        self.message = ""
        self.refresh()

    def refresh(self) -> None:
        app = App.get_running_app()
        self.rows = [
            {
                "code": item.code,
                "title": item.name(app.lang),
                "detail": app.tr("queue.waiting", app.lang, count=item.waiting) if item.open_now else (
                    app.tr("queue.opens_at", app.lang, time=item.next_opening) if item.next_opening
                    else app.tr("queue.closed", app.lang)),
                "enabled": item.open_now,
            }
            for item in app.core.queue.services()
        ]

    def choose_priority(self) -> None:
        App.get_running_app().go("priority")

    def take(self, code: str) -> None:
        if take_ticket(code, self.priority or None, self._refused):
            self.priority = ""

    def _refused(self, message: str) -> None:
        self.message = message
        self.refresh()


def take_ticket(code: str, priority: str | None, refused: Callable[[str], None]) -> bool:
    """Issue a ticket and show it; ``refused`` gets the reason in the citizen's language when none is issued."""
    app = App.get_running_app()
    try:
        ticket = app.core.queue.take(code, priority=priority)
    except QueueRefused as refusal:
        refused(app.tr(refusal.message_key, app.lang, **refusal.values))
        return False
    app.screen("ticket").show(ticket)
    app.go("ticket")
    return True


class PriorityScreen(Screen):
    rows = ListProperty([])

    def on_pre_enter(self, *_args: object) -> None:
        app = App.get_running_app()
        self.rows = [{"code": code, "text": app.tr(f"priority.{code}", app.lang)}
                     for code in app.core.queue.priority_codes()]

    def pick(self, code: str) -> None:
        app = App.get_running_app()
        app.screen("queue").priority = code
        app.back()
