"""Maintenance screen (after the PIN): version, live device status, device setup, the loaded config (secrets masked).

Device setup — choose printer/scanner connections, profile, paper width and baud rates, "In thử", "Quét thử",
"Lưu" — is the core's (:meth:`kiosk.core.KioskCore.open_device_setup` and the methods after it); this screen shows
its :class:`~kiosk.view_models.technician.SetupView` and forwards touches. Status queries, device detection, test
prints and saving run on workers: a dead network printer never freezes the screen. After "Lưu" the core swaps to
the saved devices without a restart.

"Xem thử camera" swaps the setup for the camera test view: its preview is the ``camera_test`` scan step, so the
camera is open exactly while that view shows, and a scan there shows as its kind and validity (a CCCD masked).
While the technician PIN is the demo one, a banner over both says so.
"""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, ListProperty, StringProperty

from kiosk.core import VERSION
from kiosk.view_models.technician import DeviceStatusView, SetupOutcome, SetupView
from screens.look import LookScreen
from screens.requests import Pending

STATUS_EVERY_S = 2.0
CHOICES = {  # screen property → the draft setting it chooses
    "printer_choice": "printer", "scanner_choice": "scanner", "profile_choice": "profile",
    "width_choice": "paper_width_mm", "printer_baud": "printer_baud", "scanner_baud": "scanner_baud",
}


class MaintenanceScreen(LookScreen):
    version = StringProperty(VERSION)
    printer_status = StringProperty("")
    scanner_status = StringProperty("")
    printer_text = StringProperty("")
    scanner_text = StringProperty("")
    last_error = StringProperty("")
    demo_pin = StringProperty("")  # the banner while the technician PIN is the demo one
    cameras = StringProperty("")
    config_rows = ListProperty([])
    # device setup: spinner values (labels) and the current choice of each
    printer_options = ListProperty([])
    scanner_options = ListProperty([])
    profile_options = ListProperty([])
    width_options = ListProperty([])
    baud_options = ListProperty([])
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
    setup_ready = BooleanProperty(False)  # this visit's detection answered: the choices are the running devices

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        app = App.get_running_app()
        self._detecting = Pending(app)
        self._saving = Pending(app)
        self._showing_setup = False  # while a SetupView is copied in, the choices it sets are not changes
        self._poll = Clock.create_trigger(lambda _dt: app.core.request_device_status(), STATUS_EVERY_S,
                                          interval=True)
        events = app.core.events
        events.subscribe("device_status", lambda status: app.on_ui(self._show_status, status))
        events.subscribe("device_setup", lambda setup: app.on_ui(self._show_setup, setup))
        events.subscribe("device_test", lambda message: app.on_ui(setattr, self, "message", message))
        events.subscribe("device_saved", lambda outcome: app.on_ui(self._saved, outcome))
        for name in CHOICES:
            self.bind(**{name: self._choice_changed})

    def on_pre_enter(self, *_args: object) -> None:
        app = App.get_running_app()
        self.ids.parts.current = "setup"
        self.message = ""
        self.setup_ready = False
        self._detecting.start()
        app.core.open_device_setup()
        self.refresh()

    def on_enter(self, *_args: object) -> None:
        self._poll()

    def on_leave(self, *_args: object) -> None:
        self._poll.cancel()
        self._detecting.finish()
        self._saving.finish()
        self.message = ""  # a test scan may have shown a citizen's card

    def refresh(self) -> None:
        """Ask for the devices' status (it shows when the core answers) and show the running configuration."""
        app = App.get_running_app()
        app.core.request_device_status()
        self.config_rows = [{"key": key, "value": value} for key, value in app.core.config_rows()]

    def _show_status(self, status: DeviceStatusView) -> None:
        self.printer_status, self.scanner_status = status.printer, status.scanner
        self.printer_text, self.scanner_text = status.printer_text, status.scanner_text
        self.last_error = status.last_error
        self.demo_pin = status.demo_pin

    # -- device setup ---------------------------------------------------------------------------------------
    def detect_devices(self) -> None:
        """(Re)list ports and devices; the configured connections stay selectable even when not plugged in."""
        if self._detecting.start():
            App.get_running_app().core.detect_devices()

    def _show_setup(self, setup: SetupView | None) -> None:
        self._detecting.finish()
        if setup is None:
            return
        self._showing_setup = True
        try:
            self.printer_options, self.scanner_options = list(setup.printer_options), list(setup.scanner_options)
            self.profile_options = list(setup.profile_options)
            self.width_options, self.baud_options = list(setup.width_options), list(setup.baud_options)
            self.printer_choice, self.scanner_choice = setup.printer_choice, setup.scanner_choice
            self.profile_choice, self.width_choice = setup.profile_choice, setup.width_choice
            self.printer_baud, self.scanner_baud = setup.printer_baud, setup.scanner_baud
            self.printer_serial, self.scanner_serial = setup.printer_serial, setup.scanner_serial
            self.site_path = setup.site_path
            self.cameras = setup.cameras
        finally:
            self._showing_setup = False
        self.setup_ready = True

    def _choice_changed(self, _screen: object, _value: str) -> None:
        if self._showing_setup:
            return
        app = App.get_running_app()
        choices = {setting: getattr(self, name) for name, setting in CHOICES.items()}
        setup = app.core.change_device_setup(**choices)
        if setup is not None:
            self.printer_serial, self.scanner_serial = setup.printer_serial, setup.scanner_serial

    def test_print(self) -> None:
        self.message = App.get_running_app().core.test_print()

    def test_scan(self) -> None:
        self.message = App.get_running_app().core.scan_test_prompt()

    def open_camera_test(self) -> None:
        """The camera test view: its preview opens the camera; a scanner that is no camera says so instead."""
        refusal = App.get_running_app().core.camera_test_refusal()
        self.message = refusal
        if not refusal:
            self.ids.parts.current = "camera"

    def close_camera_test(self) -> None:
        self.message = ""  # the last scan may have been a citizen's card
        self.ids.parts.current = "setup"

    def go_back(self) -> None:
        """The top bar's Back: out of the camera test view first, then home."""
        if self.ids.parts.current == "camera":
            self.close_camera_test()
        else:
            App.get_running_app().go_home()

    def take_scan(self, payload: dict[str, Any]) -> bool:
        """Every scan on this screen is a test scan: show what was read instead of acting on it."""
        self.message = App.get_running_app().core.describe_scan(payload)
        return True

    def save(self) -> None:
        if self._saving.start():
            App.get_running_app().core.save_device_setup()

    def _saved(self, outcome: SetupOutcome) -> None:
        self._saving.finish()
        self.message = outcome.message
        self.config_rows = [{"key": key, "value": value} for key, value in outcome.config_rows]
        App.get_running_app().core.request_device_status()
