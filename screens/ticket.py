"""The issued ticket, large: number, service, people ahead, estimated wait, tracking QR and the print outcome.

The ticket is already committed when this screen shows, so a printer fault only changes the message: the
number stays on screen with "In lại" until the citizen leaves or the printer is back.
"""

from __future__ import annotations

import math

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import NumericProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.queue_flow import PrintState, TicketInfo

AUTO_HOME_AFTER_PRINT_S = 20


class TicketScreen(Screen):
    ticket = ObjectProperty(None, allownone=True)
    number = StringProperty("")
    service = StringProperty("")
    ahead = NumericProperty(0)
    wait_minutes = NumericProperty(0)
    tracking_url = StringProperty("")
    issued_at = StringProperty("")
    print_state = StringProperty(PrintState.PRINTING.value)
    print_reason = StringProperty("")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._auto_home = Clock.create_trigger(self._go_home, AUTO_HOME_AFTER_PRINT_S)
        App.get_running_app().core.events.subscribe("ticket_print", self._on_print_event)

    speaks_itself = True  # the spoken guidance needs the number, known only in show()

    def show(self, ticket: TicketInfo) -> None:
        app = App.get_running_app()
        app.core.guide("help" if ticket.priority == "help" else "ticket", number=" ".join(ticket.number))
        self.ticket = ticket
        self.number = ticket.number
        self.service = ticket.service_name(app.lang)
        self.ahead = ticket.people_ahead
        self.wait_minutes = math.ceil(ticket.estimated_wait_s / 60)
        self.tracking_url = ticket.tracking_url
        self.issued_at = ticket.issued_at.strftime("%H:%M %d/%m/%Y")
        self._set_print_state(ticket.print_state, ticket.print_reason)

    def _on_print_event(self, ticket_id: str, state: PrintState, reason: str) -> None:
        App.get_running_app().on_ui(self._apply_print_event, ticket_id, state, reason)

    def _apply_print_event(self, ticket_id: str, state: PrintState, reason: str) -> None:
        if self.ticket is not None and self.ticket.id == ticket_id:
            self._set_print_state(state, reason)

    def _set_print_state(self, state: PrintState, reason: str) -> None:
        self.print_state = state.value
        self.print_reason = reason
        self._auto_home.cancel()
        if state is PrintState.PRINTED:
            self._auto_home()

    def reprint(self) -> None:
        if self.ticket is not None:
            self._set_print_state(PrintState.PRINTING, "")
            App.get_running_app().core.queue.reprint(self.ticket.id)

    def _go_home(self, *_args: object) -> None:
        app = App.get_running_app()
        if app.manager.current == self.name:
            app.go_home()

    def on_leave(self, *_args: object) -> None:
        self._auto_home.cancel()
