"""Maintenance screen (after the PIN): version, device status, last error, the loaded config with secrets masked."""

from __future__ import annotations

from kivy.app import App
from kivy.properties import ListProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.core import VERSION


class MaintenanceScreen(Screen):
    version = StringProperty(VERSION)
    printer_status = StringProperty("")
    scanner_status = StringProperty("")
    last_error = StringProperty("")
    config_rows = ListProperty([])

    def on_pre_enter(self, *_args: object) -> None:
        self.refresh()

    def refresh(self) -> None:
        app = App.get_running_app()
        status = app.core.device_status()
        self.printer_status = status["printer"]
        self.scanner_status = status["scanner"]
        self.last_error = app.core.last_error or ""
        self.config_rows = [{"key": key, "value": value} for key, value in app.core.config_lines()]
