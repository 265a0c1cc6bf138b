"""Take a number: the service list with live waiting counts, an optional priority group, then the ticket screen.

The list and the ticket come from the core on workers (in branch mode the queue server answers, possibly
slowly); the screen shows what it has, a progress message when an answer is late, and ignores taps on a
service while a ticket is being issued.
"""

from __future__ import annotations

from collections.abc import Callable

from kivy.app import App
from kivy.properties import ListProperty, StringProperty

from kiosk.view_models.queue import ServiceList
from screens.look import LookScreen
from screens.requests import Pending


class QueueScreen(LookScreen):
    rows = ListProperty([])
    priority = StringProperty("")
    message = StringProperty("")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        app = App.get_running_app()
        self._loading = Pending(app)
        app.core.events.subscribe("services", lambda services: app.on_ui(self._show_services, services))

    def on_pre_enter(self, *_args: object) -> None:
        self.message = ""
        self.rows = []  # the counts of an earlier visit (and its language) are stale
        self.refresh()

    def on_leave(self, *_args: object) -> None:
        self._loading.finish()

    def refresh(self) -> None:
        """Ask for the service list; it shows when the core answers."""
        self._loading.start()
        App.get_running_app().core.request_services()

    def _show_services(self, services: ServiceList) -> None:
        self._loading.finish()
        self.rows = [{"code": row.code, "title": row.title, "detail": row.detail, "enabled": row.enabled}
                     for row in services.rows]
        if services.message:
            self.message = services.message

    def choose_priority(self) -> None:
        App.get_running_app().go("priority")

    def take(self, code: str) -> None:
        """A tap on a service: one ticket for it (a second tap while it is being issued is ignored)."""
        priority = self.priority
        if take_ticket(code, priority or None, lambda message: self._refused(message, priority)):
            self.priority = ""  # used by this ticket; given back if none is issued

    def _refused(self, message: str, priority: str) -> None:
        self.message, self.priority = message, priority
        self.refresh()


def take_ticket(code: str, priority: str | None, refused: Callable[[str], None]) -> bool:
    """Ask for a ticket for service ``code``; the ticket screen opens when it is issued, and ``refused`` gets the
    reason in the citizen's language when none is. False when another ticket request is still in flight."""
    return App.get_running_app().tickets.take(lambda core: core.take_number(code, priority), refused)


class PriorityScreen(LookScreen):
    rows = ListProperty([])

    def on_pre_enter(self, *_args: object) -> None:
        self.rows = [{"code": option.code, "text": option.label}
                     for option in App.get_running_app().core.priority_options()]

    def pick(self, code: str) -> None:
        app = App.get_running_app()
        app.screen("queue").priority = code
        app.back()
