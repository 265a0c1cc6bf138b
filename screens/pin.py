"""Technician PIN pad: digits only, masked; the core checks the PIN (on a worker) and decides the lockout."""

from __future__ import annotations

from kivy.app import App
from kivy.properties import StringProperty

from kiosk.view_models.technician import PinOutcome
from screens.look import LookScreen
from screens.requests import Pending

MAX_DIGITS = 12


class PinScreen(LookScreen):
    entered = StringProperty("")
    message = StringProperty("")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        app = App.get_running_app()
        self._checking = Pending(app)
        app.core.events.subscribe("pin", lambda outcome: app.on_ui(self._checked, outcome))

    def on_pre_enter(self, *_args: object) -> None:
        self.entered = ""
        self.message = ""

    def on_leave(self, *_args: object) -> None:
        self._checking.finish()  # an answer that comes after the technician went back opens nothing

    def press(self, digit: str) -> None:
        if len(self.entered) < MAX_DIGITS:
            self.entered += digit

    def clear(self) -> None:
        self.entered = ""

    def submit(self) -> None:
        """Enter: one check per PIN typed (a second tap while it is being checked is ignored)."""
        if not self._checking.start():
            return
        if not App.get_running_app().core.check_pin(self.entered):
            self._checking.finish()
            return
        self.entered = ""

    def _checked(self, outcome: PinOutcome) -> None:
        if not self._checking.finish():
            return  # the technician left (Home) before the answer came
        if outcome.ok:
            App.get_running_app().go("maintenance")
        else:
            self.message = outcome.message
