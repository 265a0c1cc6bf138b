"""Xác nhận có mặt: a number taken from a phone, checked in by scanning its QR; shows the number and "please wait",
or why not and where to go instead.

The scan arrives here from anywhere (kiosk.scan_routing); the core checks the number in on a worker, and this
screen shows "Đang xác nhận…" (with the app's progress message after 150 ms) until the
:class:`~kiosk.view_models.checkin.CheckInView` arrives.
"""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.properties import BooleanProperty, StringProperty

from kiosk.view_models.checkin import CheckInView
from screens.look import LookScreen
from screens.requests import Pending


class CheckinScreen(LookScreen):
    state = StringProperty("checking")  # checking | done | refused
    number = StringProperty("")
    service = StringProperty("")
    headline = StringProperty("")
    ahead_text = StringProperty("")
    wait_text = StringProperty("")
    checked_in = BooleanProperty(False)

    speaks_itself = True  # the core says the number once it is checked in; nothing to say before
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        app = App.get_running_app()
        self._pending = Pending(app)
        self._code = ""
        app.core.events.subscribe("phone_checkin", lambda view: app.on_ui(self._answered, view))

    def take_scan(self, payload: dict[str, Any]) -> bool:
        """A check-in QR (here or routed from another screen) is sent once; anything else is routed as usual."""
        if payload.get("kind") != "checkin":
            return False
        if self._pending.active:  # one check-in at a time: the second scan is ignored, not doubled
            return True
        app = App.get_running_app()
        if not app.core.check_in_phone(payload):
            return True
        self._code = str(payload["code"])
        self._pending.start()
        self.state, self.checked_in = "checking", False
        self.number = self.service = self.ahead_text = self.wait_text = ""
        self.headline = app.tr("checkin.checking", app.lang)
        return True

    def _answered(self, view: CheckInView) -> None:
        if view.code != self._code or not self._pending.finish():
            return  # the citizen left meanwhile (the app finished the wait), or an answer to an older scan
        self.state = "done" if view.checked_in else "refused"
        self.checked_in = view.checked_in
        self.number, self.service, self.headline = view.number, view.service, view.headline
        self.ahead_text, self.wait_text = view.ahead_text, view.wait_text
