"""The Kivy application: a ScreenManager of thin screens over one :class:`~kiosk.core.KioskCore`.

The app owns navigation (with a Back history), the idle overlay, the progress message for slow answers and the
bridge that moves core events onto the UI thread. Screens call ``app.core``'s facade for anything that is not
drawing, and never wait for it: slow work answers later, as an event.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.text import LabelBase
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import NumericProperty, ObjectProperty, StringProperty
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import Screen

from kiosk.core import KioskCore
from kiosk.i18n import tr
from kiosk.scan_routing import route_scan
from screens.hidden_text import defer_hidden_labels
from screens.requests import Pending, TicketDesk
from screens.software_gl import FlatScreenManager, sample_fills_nearest
from screens.theme import HIGH_CONTRAST, STANDARD, Theme
from screens.ui_gc import collect_anywhere, collect_on_ui_thread

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
FONTS = HERE.parent / "assets" / "fonts"
LARGE_TEXT_SCALE = 1.3
DESIGN_WIDTH = 1080.0
DESIGN_HEIGHT = 1920.0
# screen name → (module in screens/ with a .kv of the same name, Screen class)
SCREENS = {
    "home": ("home", "HomeScreen"),
    "pin": ("pin", "PinScreen"),
    "maintenance": ("maintenance", "MaintenanceScreen"),
    "queue": ("queue", "QueueScreen"),
    "priority": ("queue", "PriorityScreen"),
    "ticket": ("ticket", "TicketScreen"),
    "survey": ("survey", "SurveyScreen"),
    "lookup": ("lookup", "LookupScreen"),
    "submit": ("filing", "FilingScreen"),
    "checkin": ("checkin", "CheckinScreen"),
}


class KioskApp(App):
    lang = StringProperty("vi")
    u = NumericProperty(1.0)
    text_scale = NumericProperty(1.0)
    fs = NumericProperty(1.0)  # font unit: u × text_scale (large-text mode)
    min_target = NumericProperty(60)
    font_regular = StringProperty(str(FONTS / "NotoSans-Regular.ttf"))
    font_bold = StringProperty(str(FONTS / "NotoSans-Bold.ttf"))
    theme = ObjectProperty(STANDARD)
    clock_text = StringProperty("")
    toast_text = StringProperty("")
    waiting = NumericProperty(0)  # requests whose answer is overdue: the progress message shows while > 0

    def __init__(self, core: KioskCore, *, started_at: float | None = None,
                 on_first_frame: Callable[[], None] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.core = core
        self._on_first_frame = on_first_frame
        self.lang = core.language
        self.first_frame_s: float | None = None
        self._started_at = started_at if started_at is not None else time.perf_counter()
        self._history: list[str] = []
        self._hide_toast = Clock.schedule_once(lambda _dt: None, 0)
        self._pending: list[Pending] = []
        self.exit_status = 0

    # -- building ---------------------------------------------------------------------------------------------
    def build(self) -> FloatLayout:
        LabelBase.register("NotoSans", self.font_regular, fn_bold=self.font_bold)
        self.title = tr("app.title", self.lang)
        Window.clearcolor = self.theme.background
        sample_fills_nearest()
        defer_hidden_labels()
        collect_on_ui_thread()  # widgets die on the UI thread, where Kivy unbinds their kv rules
        Window.bind(size=self._resize, on_touch_down=self._on_any_touch)
        self._resize(Window, Window.size)
        for kv in ("widgets.kv", "idle.kv"):
            Builder.load_file(str(HERE / kv))
        self.manager = FlatScreenManager()
        self.screen("home")
        root = Builder.load_string("IdleRoot:")
        root.add_widget(self.manager, index=len(root.children))
        self.idle_overlay = root.ids.overlay
        # a switch is drawn in the frame of the touch that asked for it (see on_ui)
        self.core.events.subscribe("language", lambda lang: self.on_ui(self._set_lang, lang, this_frame=True))
        self.core.events.subscribe("scan", lambda payload: self.on_ui(self._on_scan, payload))
        self.core.events.subscribe("accessibility",
                                   lambda **mode: self.on_ui(self._set_accessibility, this_frame=True, **mode))
        self.tickets = TicketDesk(self)
        Clock.schedule_interval(self._tick, 0.25)
        self._tick(0)
        Window.bind(on_flip=self._first_flip)
        return root

    def _first_flip(self, *_args: Any) -> None:
        Window.unbind(on_flip=self._first_flip)
        self.first_frame_s = time.perf_counter() - self._started_at
        log.warning("first frame after %.2f s", self.first_frame_s)
        self.core.ui_ready()
        if self._on_first_frame is not None:
            self._on_first_frame()

    def _resize(self, _window: Any, size: tuple[int, int]) -> None:
        width, height = size
        if width > height:  # landscape: less height for the same content, so scale down a little more
            self.u = 0.8 * min(width / DESIGN_HEIGHT, height / DESIGN_WIDTH)
        else:
            self.u = min(width / DESIGN_WIDTH, height / DESIGN_HEIGHT)

    # -- helpers for kv -----------------------------------------------------------------------------------------
    def tr(self, key: str, lang: str, **values: object) -> str:
        """kv passes ``app.lang`` so every label re-evaluates when the language changes."""
        return tr(key, lang, **values)

    def c(self, role: str, theme: Theme) -> Any:
        """A theme colour for kv: passing ``app.theme`` makes kv re-evaluate when the theme changes."""
        return getattr(theme, role)

    def on_ui(self, func: Callable[..., None], *args: Any, this_frame: bool = False, **kwargs: Any) -> None:
        """Run ``func`` on the UI thread (core events may come from worker threads): at the start of the next turn
        of the event loop, or with ``this_frame`` before the next frame is drawn — for an event published while
        Kivy handles a touch, that touch's own frame instead of one more full frame after it."""
        Clock.schedule_once(lambda _dt: func(*args, **kwargs), -1 if this_frame else 0)

    def track(self, pending: Pending) -> None:
        """Remember a request in flight: when the citizen leaves, nobody waits for its answer any more."""
        if pending not in self._pending:
            self._pending.append(pending)

    def _set_lang(self, lang: str) -> None:
        self.lang = lang

    def _set_accessibility(self, large_text: bool, high_contrast: bool) -> None:
        self.text_scale = LARGE_TEXT_SCALE if large_text else 1.0
        self.theme = HIGH_CONTRAST if high_contrast else STANDARD
        Window.clearcolor = self.theme.background

    def on_u(self, *_args: Any) -> None:
        self.fs = self.u * self.text_scale

    def on_text_scale(self, *_args: Any) -> None:
        self.fs = self.u * self.text_scale

    # -- navigation ---------------------------------------------------------------------------------------------
    def screen(self, name: str) -> Screen:
        """The screen called ``name``, built on first use so start-up only pays for the home screen."""
        if not self.manager.has_screen(name):
            module_name, class_name = SCREENS[name]
            module = importlib.import_module(f"screens.{module_name}")
            kv = str(HERE / f"{module_name}.kv")
            if kv not in Builder.files:
                Builder.load_file(kv)
            self.manager.add_widget(getattr(module, class_name)(name=name))
        return self.manager.get_screen(name)

    def go(self, name: str) -> None:
        screen = self.screen(name)
        if self.manager.current == "home":
            self.core.start_session()
        self._history.append(self.manager.current)
        self.manager.current = name
        if not getattr(screen, "speaks_itself", False):
            self.core.guide(name)

    def back(self) -> None:
        if self._history:
            self.manager.current = self._history.pop()
            if self.manager.current == "home":
                self.core.end_session()
        else:
            self.go_home()

    def go_home(self) -> None:
        """End the citizen's session (wiping their data) and show the home screen."""
        self._history.clear()
        for pending in self._pending:
            pending.finish()
        self.core.end_session()
        self.idle_overlay.opacity = 0
        self.manager.current = "home"

    # -- scans -------------------------------------------------------------------------------------------------
    def _on_scan(self, payload: dict[str, Any]) -> None:
        """A screen with ``take_scan`` handles scans itself; elsewhere kiosk.scan_routing decides."""
        handler = getattr(self.manager.current_screen, "take_scan", None)
        if handler is not None and handler(payload):
            return
        route = route_scan(payload, set(SCREENS))
        if route.screen:  # the opened screen shows what was read
            self.go(route.screen)
            self.manager.current_screen.take_scan(payload)
        else:
            self.toast(route.text(self.lang))

    def toast(self, text: str, seconds: float = 5.0) -> None:
        """A short message over any screen (scan feedback)."""
        self.toast_text = text
        self._hide_toast.cancel()
        self._hide_toast = Clock.schedule_once(lambda _dt: setattr(self, "toast_text", ""), seconds)

    # -- idle -----------------------------------------------------------------------------------------------
    def _on_any_touch(self, *_args: Any) -> None:
        self.core.touch()

    def _tick(self, _dt: float) -> None:
        self.core.ui_alive()
        self.clock_text = time.strftime("%H:%M  %d/%m/%Y")
        idle = self.core.idle_status()
        if idle.expired:
            self.go_home()
            return
        self.idle_overlay.seconds = idle.seconds_left
        self.idle_overlay.opacity = 1 if idle.warning else 0

    def stop_with(self, status: int) -> None:
        """Stop and make the process exit with ``status`` (non-zero: systemd restarts the kiosk)."""
        self.exit_status = status
        self.stop()

    def on_stop(self) -> None:
        self.core.ui_stopping()
        self.core.close()
        collect_anywhere()
