"""Home: the four citizen tasks as big tiles, language switch, clock, branch name and the announcement ticker."""

from __future__ import annotations

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import StringProperty

from screens.look import LookScreen


class HomeScreen(LookScreen):
    ticker = StringProperty("")
    branch_unit = StringProperty("")
    branch_name = StringProperty("")

    def on_kv_post(self, *_args: object) -> None:
        app = App.get_running_app()
        if app.core.home_view().dev_mode:  # a text box that feeds the scanner simulator
            self.ids.dev_slot.add_widget(Factory.DevScanBox())
        self.refresh()
        app.core.events.subscribe("content", lambda version: app.on_ui(self.refresh))
        self.look.bind(lang=lambda *_args: self.refresh())  # the ticker's text in the language shown

    def on_pre_enter(self, *_args: object) -> None:
        self.refresh()  # timed announcements start and end while nobody watches

    def open_flow(self, name: str) -> None:
        App.get_running_app().go(name)

    def ask_help(self) -> None:
        """Cần hỗ trợ: a help-desk ticket with priority, in one touch (for those who cannot go further alone).

        The core finds the help desk and issues the ticket on a worker (in branch mode both ask the queue server);
        the ticket screen opens when it answers, or the reason shows as a message here.
        """
        app = App.get_running_app()
        app.core.start_session()
        app.screen("ticket")  # built before the ticket is shown
        app.tickets.take(lambda core: core.take_help_number(), app.toast)

    def refresh(self) -> None:
        view = App.get_running_app().core.home_view()
        self.branch_unit, self.branch_name, self.ticker = view.branch_unit, view.branch_name, view.ticker
