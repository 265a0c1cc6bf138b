"""Technician PIN pad: digits only, masked, with wrong-PIN lockout decided by the core's PinGate."""

from __future__ import annotations

import math

from kivy.app import App
from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

MAX_DIGITS = 12


class PinScreen(Screen):
    entered = StringProperty("")
    message = StringProperty("")

    def on_pre_enter(self, *_args: object) -> None:
        self.entered = ""
        self.message = ""

    def press(self, digit: str) -> None:
        if len(self.entered) < MAX_DIGITS:
            self.entered += digit

    def clear(self) -> None:
        self.entered = ""

    def submit(self) -> None:
        app = App.get_running_app()
        result = app.core.pin_gate.check(self.entered)
        self.entered = ""
        if result.ok:
            app.go("maintenance")
        elif result.locked_for_s > 0:
            self.message = app.tr("pin.locked", app.lang, minutes=math.ceil(result.locked_for_s / 60))
        else:
            self.message = app.tr("pin.wrong", app.lang, attempts=result.attempts_left)
