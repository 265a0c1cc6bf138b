"""Drive the real kiosk through the citizen paths while every server and the printer misbehave; time the UI thread.

Run by ``tests/ui/test_ui_never_waits.py`` in a child process (Kivy's window is per process, and this app needs a
configuration of its own)::

    python -m tests.ui.fault_run DATA_DIR QUEUE_URL BACKEND_URL PRINTER_PORT OUT.json

The queue server, the backend and the network printer are whatever the parent put behind those addresses (a
branch server behind a slow link, a backend that answers late, a printer that accepts and stalls). Every piece of
work Kivy does on the
UI thread is timed — the clock's callbacks of each frame, the triggers run before each frame, each touch's
dispatch — less the time the OS kept the thread waiting for a CPU (read from ``/proc/…/schedstat``), so a loaded
machine does not count against the kiosk while a blocking socket read counts in full. The parent sets
``LP_NUM_THREADS=0``: software GL then rasterizes inside the drawing call itself (not timed), so a texture upload in
a timed callback never waits for a rasterizer thread that the loaded machine starves. Writes one JSON object: the
longest pieces, what each path ended with (a ticket number or a message), and the paths on which the progress
message showed.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support import queue_token
from tests.ui.driver import SCREENSHOTS, KioskDriver, runqueue_s, start_kiosk

DOSSIER = "000.00.13.H26-251120-0002"
BOOKING = "BK-251120-DEMO01"
PIN = "246810"
SCREENS = ("pin", "maintenance", "queue", "priority", "ticket", "survey", "lookup")  # the paths below


class UiTimer:
    """Times each piece of UI-thread work once :meth:`start` is called; keeps the longest ones."""

    def __init__(self, driver: KioskDriver) -> None:
        self._driver = driver
        self.measuring = False
        self.pieces: list[tuple[float, str]] = []  # (milliseconds, what and where)
        self.count = 0

    def install(self) -> None:
        from kivy.base import EventLoop
        from kivy.clock import Clock

        post_idle, tick_draw = Clock.post_idle, Clock.tick_draw
        dispatch = EventLoop.post_dispatch_input
        Clock.post_idle = lambda ts, current: self._timed("clock callbacks", post_idle, ts, current)
        Clock.tick_draw = lambda: self._timed("before-frame triggers", tick_draw)
        EventLoop.post_dispatch_input = lambda etype, event: self._timed(f"touch {etype}", dispatch, etype, event)

    def _timed(self, what: str, work: Callable[..., Any], *args: Any) -> Any:
        if not self.measuring:
            return work(*args)
        started, waited = time.perf_counter(), runqueue_s()
        try:
            return work(*args)
        finally:
            ms = (time.perf_counter() - started - (runqueue_s() - waited)) * 1000
            self.count += 1
            if ms > 5:
                self.pieces.append((round(ms, 1), f"{what} on {self._driver.app.manager.current}"))


class Paths:
    """The citizen and technician paths, by real touches, each ending in the message it defines."""

    def __init__(self, driver: KioskDriver, shots: Path) -> None:
        self.kiosk = driver
        self.shots = shots
        self.ended: dict[str, str] = {}
        self.progress_seen: set[str] = set()

    def until(self, path: str, condition: Callable[[], object], message: str) -> Any:
        """Frames until ``condition``; notes whether the progress message showed on the way."""
        def check() -> object:
            if self.kiosk.app.waiting:
                self.progress_seen.add(path)
            return condition()

        return self.kiosk.until(check, f"{path}: {message}")

    def shot(self, name: str) -> None:
        from kivy.core.window import Window

        self.kiosk.frames(2)
        written = Path(Window.screenshot(name=str(self.shots / f"{name}-.png")))
        written.replace(self.shots / f"{name}.png")

    def home(self) -> None:
        self.kiosk.app.go_home()
        self.kiosk.frames(2)

    def type_code(self, lookup: Any, code: str) -> None:
        keys = {button.key: button for row in lookup.ids.keyboard.children for button in row.children}
        for char in code:
            self.kiosk.tap(keys[char])

    def take_a_number(self) -> None:
        kiosk = self.kiosk
        kiosk.tap(kiosk.screen.ids.queue)
        queue = kiosk.screen
        # the service list may already be synced in the background (then it shows at once, with no progress)
        rows = self.until("take_a_number", lambda: {w.code: w for w in queue.ids.services.children[0].children
                                                    if getattr(w, "code", "")}, "the service list")
        kiosk.tap(rows["HT"])
        # taking the number always crosses the slow link: the progress message shows before the ticket does
        self.until("take_a_number", lambda: kiosk.app.waiting, "the progress message")
        self.shot("fault-queue-waiting")
        self.until("take_a_number", lambda: kiosk.screen.name == "ticket", "the ticket")
        self.shot("fault-ticket")
        self.ended["take_a_number"] = kiosk.screen.number
        self.home()

    def help_button(self) -> None:
        kiosk = self.kiosk
        kiosk.tap(kiosk.screen.ids.help)
        self.until("help_button", lambda: kiosk.screen.name == "ticket", "the help ticket")
        self.ended["help_button"] = f"{kiosk.screen.ticket.priority} {kiosk.screen.number}"
        self.home()

    def look_up(self) -> None:
        kiosk, tr = self.kiosk, self.kiosk.app.tr
        kiosk.tap(kiosk.screen.ids.lookup)
        lookup = kiosk.screen
        kiosk.tap(lookup.ids.type_code)
        self.type_code(lookup, DOSSIER)
        kiosk.tap(lookup.ids.search)
        expected = tr("lookup.unavailable", "vi")
        self.until("look_up", lambda: lookup.state == "unavailable" and lookup.ids.outcome.text == expected,
                   "the look-up's 'try again later'")
        self.shot("fault-lookup-unavailable")
        self.ended["look_up"] = lookup.ids.outcome.text

    def check_in(self) -> None:
        kiosk, tr = self.kiosk, self.kiosk.app.tr
        lookup = kiosk.screen
        kiosk.tap(lookup.ids.again)
        kiosk.tap(lookup.ids.type_code)
        self.type_code(lookup, BOOKING)
        kiosk.tap(lookup.ids.search)
        expected = tr("booking.unavailable", "vi", code=BOOKING)
        self.until("check_in", lambda: lookup.state == "booking_refused" and lookup.message == expected,
                   "the check-in's refusal")
        self.shot("fault-check-in-unavailable")
        self.ended["check_in"] = lookup.message
        self.home()

    def survey(self) -> None:
        import screens.survey

        kiosk = self.kiosk
        screens.survey.THANKS_SECONDS = 0.3
        kiosk.tap(kiosk.screen.ids.survey)
        survey = kiosk.screen
        kiosk.tap(list(reversed(survey.ids.faces.children))[4])
        kiosk.tap(survey.ids.send)
        self.until("survey", lambda: survey.thanked, "the thank-you")
        self.ended["survey"] = survey.thanks
        self.until("survey", lambda: kiosk.screen.name == "home", "the way home")

    def maintenance_status(self) -> None:
        kiosk, tr = self.kiosk, self.kiosk.app.tr
        corner = next(w for w in kiosk.app.root.children if type(w).__name__ == "HiddenCorner")
        kiosk.hold(corner, until=lambda: kiosk.screen.name == "pin")
        pin = kiosk.screen
        keys = {w.text: w for w in pin.ids["keys"].children}
        for digit in PIN:
            kiosk.tap(keys[digit])
        kiosk.tap(pin.ids.enter)
        self.until("maintenance_status", lambda: kiosk.screen.name == "maintenance", "the maintenance screen")
        screen = kiosk.screen
        expected = tr("status.offline", "vi")
        self.until("maintenance_status", lambda: screen.printer_text == expected, "the stalled printer's status")
        self.shot("fault-maintenance-status")
        self.ended["maintenance_status"] = screen.printer_text
        self.home()


def main() -> int:
    data, queue_url, backend_url, printer_port, out = sys.argv[1:6]
    # half the portrait screen: the layout scales with the window, and software GL draws a quarter of the pixels
    driver = start_kiosk(Path(data), [
        "scanner.connection=sim:127.0.0.1:0", "voice.enabled=false",
        "queue.mode=branch", f"queue.server={queue_url}", f"queue.token={queue_token()}", f"backend.url={backend_url}",
        f"printer.connection=tcp:127.0.0.1:{printer_port}",
    ], width=540, height=960, prebuilt=SCREENS)
    app, timer = driver.app, UiTimer(driver)
    timer.install()  # measuring from here on: the start-up above is not the UI waiting
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    paths = Paths(driver, SCREENSHOTS)
    timer.measuring = True
    for path in (paths.take_a_number, paths.help_button, paths.look_up, paths.check_in, paths.survey,
                 paths.maintenance_status):
        path()
    timer.measuring = False
    worst = sorted(timer.pieces, reverse=True)[:15]
    Path(out).write_text(json.dumps({
        "measured": timer.count, "worst": worst, "max_ms": worst[0][0] if worst else 0.0,
        "ended": paths.ended, "progress_seen": sorted(paths.progress_seen),
    }, ensure_ascii=False, indent=1), encoding="utf-8")
    app.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
