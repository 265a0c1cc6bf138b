"""Home: the four citizen tasks as big tiles, language switch, clock, branch name and the announcement ticker."""

from __future__ import annotations

from kivy.app import App
from kivy.factory import Factory
from kivy.uix.screenmanager import Screen

FLOWS = ("queue", "lookup", "submit", "survey")


class HomeScreen(Screen):
    def on_kv_post(self, *_args: object) -> None:
        if App.get_running_app().core.config.kiosk.dev_mode:  # a text box that feeds the scanner simulator
            self.ids.dev_slot.add_widget(Factory.DevScanBox())

    def open_flow(self, name: str) -> None:
        App.get_running_app().go(name)

    def ticker_text(self) -> str:
        return "     •     ".join(App.get_running_app().core.announcements())
