"""Home: the four citizen tasks as big tiles, language switch, clock, branch name and the announcement ticker."""

from __future__ import annotations

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

FLOWS = ("queue", "lookup", "submit", "survey")


class HomeScreen(Screen):
    ticker = StringProperty("")

    def on_kv_post(self, *_args: object) -> None:
        app = App.get_running_app()
        if app.core.config.kiosk.dev_mode:  # a text box that feeds the scanner simulator
            self.ids.dev_slot.add_widget(Factory.DevScanBox())
        self.refresh_ticker()
        app.core.events.subscribe("content", lambda version: app.on_ui(self.refresh_ticker))
        app.core.events.subscribe("language", lambda lang: app.on_ui(self.refresh_ticker))

    def on_pre_enter(self, *_args: object) -> None:
        self.refresh_ticker()  # timed announcements start and end while nobody watches

    def open_flow(self, name: str) -> None:
        App.get_running_app().go(name)

    def ask_help(self) -> None:
        """Cần hỗ trợ: a help-desk ticket with priority, in one touch (for those who cannot go further alone)."""
        from screens.queue import take_ticket

        app = App.get_running_app()
        app.core.session.start()
        app.screen("ticket")  # built before the ticket is shown
        take_ticket(app.core.help_service(), "help", app.toast)

    def refresh_ticker(self) -> None:
        self.ticker = "     •     ".join(App.get_running_app().core.announcements())
