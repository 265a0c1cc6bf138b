"""The issued ticket, large: number, service, people ahead, estimated wait, tracking QR and the print outcome.

The ticket is already committed when this screen shows, so a printer fault only changes the message: the
number stays on screen with "In lại" until the citizen leaves or the printer is back.
"""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty

from kiosk.view_models.queue import TicketView
from screens.look import LookScreen

AUTO_HOME_AFTER_PRINT_S = 20


class TicketScreen(LookScreen):
    ticket = ObjectProperty(None, allownone=True)  # the TicketView shown
    number = StringProperty("")
    service = StringProperty("")
    ahead_text = StringProperty("")
    wait_text = StringProperty("")
    issued_text = StringProperty("")
    tracking_url = StringProperty("")
    print_state = StringProperty("printing")
    print_reason = StringProperty("")
    print_text = StringProperty("")
    can_reprint = BooleanProperty(False)

    speaks_itself = True  # the spoken guidance needs the number, known only in show()

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._auto_home = Clock.create_trigger(self._go_home, AUTO_HOME_AFTER_PRINT_S)
        app = App.get_running_app()
        app.core.events.subscribe("ticket_print", lambda ticket_id, **_outcome: app.on_ui(self._printed, ticket_id))

    def show(self, ticket: Any) -> None:
        """Show a ticket of this session: a :class:`TicketView`, or anything carrying the ticket's ``id``; the
        screen asks the core for the ticket as it stands now (its print may have finished meanwhile)."""
        app = App.get_running_app()
        view = app.core.ticket_view(ticket.id) or (ticket if isinstance(ticket, TicketView) else None)
        if view is None:
            return
        app.core.speak_ticket(view.id)
        self._render(view)

    def _render(self, view: TicketView) -> None:
        self.ticket = view
        self.number, self.service = view.number, view.service
        self.ahead_text, self.wait_text, self.issued_text = view.ahead_text, view.wait_text, view.issued_text
        self.tracking_url = view.tracking_url
        self.print_state, self.print_reason, self.print_text = view.print_state, view.print_reason, view.print_text
        self.can_reprint = view.can_reprint
        self._auto_home.cancel()
        if view.print_state == "printed":
            self._auto_home()

    def _printed(self, ticket_id: str) -> None:
        if self.ticket is not None and self.ticket.id == ticket_id:
            view = App.get_running_app().core.ticket_view(ticket_id)
            if view is not None:
                self._render(view)

    def reprint(self) -> None:
        app = App.get_running_app()
        if self.ticket is not None and self.can_reprint:
            self.print_state, self.print_text = "printing", app.tr("ticket.printing", app.lang)
            self.can_reprint = False
            app.core.reprint_ticket(self.ticket.id)

    def _go_home(self, *_args: object) -> None:
        app = App.get_running_app()
        if app.manager.current == self.name:
            app.go_home()

    def on_leave(self, *_args: object) -> None:
        self._auto_home.cancel()
