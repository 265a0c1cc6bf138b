"""Maintenance screen (after the PIN): version, live device status, device setup, the loaded config (secrets masked).

Device setup — choose printer/scanner connections, profile, paper width and baud rates, "In thử", "Quét thử",
"Lưu" — is :class:`kiosk.device_setup.DeviceSetup`; this screen only shows its choices and forwards touches.
After "Lưu" the core swaps to the saved devices (``KioskCore.replace_devices``) without a restart.
"""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.screenmanager import Screen

from config.loader import ConfigError
from kiosk.core import VERSION, DeviceFault
from kiosk.device_setup import (
    BAUD_RATES,
    PAPER_WIDTHS,
    DeviceSetup,
    StatusWatch,
    detect,
    scan_summary,
    site_config_path,
)

STATUS_EVERY_S = 2.0


class MaintenanceScreen(Screen):
    version = StringProperty(VERSION)
    printer_status = StringProperty("")
    scanner_status = StringProperty("")
    last_error = StringProperty("")
    config_rows = ListProperty([])
    # device setup: spinner values (labels) and the current choice of each
    printer_options = ListProperty([])
    scanner_options = ListProperty([])
    profile_options = ListProperty([])
    width_options = ListProperty([str(width) for width in PAPER_WIDTHS])
    baud_options = ListProperty([str(baud) for baud in BAUD_RATES])
    printer_choice = StringProperty("")
    scanner_choice = StringProperty("")
    profile_choice = StringProperty("")
    width_choice = StringProperty("")
    printer_baud = StringProperty("")
    scanner_baud = StringProperty("")
    printer_serial = BooleanProperty(False)
    scanner_serial = BooleanProperty(False)
    message = StringProperty("")
    site_path = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        app = App.get_running_app()
        self.setup: DeviceSetup | None = None
        self._connections: dict[str, str] = {}  # spinner label → connection
        self._watch = StatusWatch(app.core.device_status, lambda status: app.on_ui(self._show_status, status))
        self._poll = Clock.create_trigger(lambda _dt: self._watch.request(), STATUS_EVERY_S, interval=True)

    def on_pre_enter(self, *_args: object) -> None:
        app = App.get_running_app()
        self.message = ""
        self.setup = DeviceSetup(app.core.config, site_config_path(app.core.config, app.core.site_config),
                                 app.core.print_queue)
        self.site_path = str(self.setup.site_path)
        self.detect_devices()
        self.refresh()

    def on_enter(self, *_args: object) -> None:
        self._poll()

    def on_leave(self, *_args: object) -> None:
        self._poll.cancel()
        self.message = ""  # a test scan may have shown a citizen's card

    def refresh(self) -> None:
        app = App.get_running_app()
        self._show_status(app.core.device_status())
        self.config_rows = [{"key": key, "value": value} for key, value in app.core.config_lines()]

    def _show_status(self, status: dict[str, str]) -> None:
        self.printer_status = status["printer"]
        self.scanner_status = status["scanner"]
        self.last_error = App.get_running_app().core.last_error or ""

    # -- device setup ---------------------------------------------------------------------------------------
    def detect_devices(self) -> None:
        """(Re)list ports and devices; the configured connections stay selectable even when not plugged in."""
        found = detect()
        draft = self.setup.draft
        printers = {choice.label: choice.connection for choice in found.printers}
        scanners = {choice.label: choice.connection for choice in found.scanners}
        for options, current in ((printers, draft.printer), (scanners, draft.scanner)):
            if current not in options.values():
                options[current] = current
        self._connections = {**printers, **scanners}
        self.printer_options, self.scanner_options = list(printers), list(scanners)
        self.profile_options = App.get_running_app().core.printer_profiles()
        self.printer_choice = next(label for label, conn in printers.items() if conn == draft.printer)
        self.scanner_choice = next(label for label, conn in scanners.items() if conn == draft.scanner)
        self.profile_choice, self.width_choice = draft.profile, str(draft.paper_width_mm)
        self.printer_baud, self.scanner_baud = str(draft.printer_baud), str(draft.scanner_baud)

    def on_printer_choice(self, *_args: object) -> None:
        self._change(printer=self._connections.get(self.printer_choice, self.printer_choice))
        self.printer_serial = self.setup is not None and self.setup.draft.printer.startswith("serial:")

    def on_scanner_choice(self, *_args: object) -> None:
        self._change(scanner=self._connections.get(self.scanner_choice, self.scanner_choice))
        self.scanner_serial = self.setup is not None and self.setup.draft.scanner.startswith("serial:")

    def on_profile_choice(self, *_args: object) -> None:
        self._change(profile=self.profile_choice)

    def on_width_choice(self, *_args: object) -> None:
        self._change(paper_width_mm=int(self.width_choice or 0))

    def on_printer_baud(self, *_args: object) -> None:
        self._change(printer_baud=int(self.printer_baud or 0))

    def on_scanner_baud(self, *_args: object) -> None:
        self._change(scanner_baud=int(self.scanner_baud or 0))

    def _change(self, **values: Any) -> None:
        if self.setup is not None and all(values.values()):
            self.setup.change(**values)

    def test_print(self) -> None:
        app = App.get_running_app()
        try:
            self.setup.test_print(lambda error: app.on_ui(self._printed, error))
        except ConfigError as exc:
            self.message = app.tr("maint.print_failed", app.lang, reason=exc.problems[0])
            return
        self.message = app.tr("maint.printing", app.lang)

    def _printed(self, error: DeviceFault | None) -> None:
        app = App.get_running_app()
        if error is None:
            self.message = app.tr("maint.print_ok", app.lang)
        else:
            reason = f"{app.tr('status.' + error.status, app.lang)} ({error})"
            self.message = app.tr("maint.print_failed", app.lang, reason=reason)

    def test_scan(self) -> None:
        app = App.get_running_app()
        self.message = app.tr("maint.scan_wait", app.lang, scanner=app.core.config.scanner.connection)

    def take_scan(self, payload: dict[str, Any]) -> bool:
        """Every scan on this screen is a test scan: show what was read instead of acting on it."""
        app = App.get_running_app()
        self.message = app.tr("maint.scan_result", app.lang, summary=scan_summary(payload))
        return True

    def save(self) -> None:
        app = App.get_running_app()
        try:
            config = self.setup.save()
        except ConfigError as exc:
            self.message = app.tr("maint.save_failed", app.lang, reason=exc.problems[0])
            return
        app.core.replace_devices(config)
        self.message = app.tr("maint.saved", app.lang, path=self.site_path)
        self.refresh()
