"""The camera preview on scan steps: the live picture, an aiming frame and a "hold still" hint.

The widget says which scan step it belongs to (``step``) and forwards when that step is on screen — every screen
it sits in is the current one — and when it goes; the core decides whether a camera opens and announces
``camera_preview`` events. While frames flow, the UI thread copies the latest frame the core prepared (already
shrunk and converted on the scanner's thread) into a texture, at most ``BLITS_PER_S`` times a second: that copy
is all the UI thread does. With no camera scanner the widget stays empty and takes no room.

The hint is white with a black outline on a dark band, readable on any scene. It has its own class and kv rule:
the app's ``<Label>`` rule binds every label's colour to the theme's text colour (dark), which overrides a colour
given to the constructor. A rule for the subclass applies after it when it is loaded after the app's rules, so it
is loaded with the first preview (the app's kv files are loaded by then, whatever imported this module first); and
it binds the colour to the theme as well (``on_fill``, white in every theme: text on a fill), so that a theme
change, which re-applies the ``<Label>`` rule, re-applies this one after it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.graphics import Color, Line, Rectangle
from kivy.graphics.texture import Texture
from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen

from screens.look import current_look

BLITS_PER_S = 15
AIM = 0.62  # the aiming frame's side, as a share of the picture's shorter side
HINT_MIN_PX = 30  # the hint's smallest font size at normal text size: a small picture keeps a readable hint
HINT_BAND_RGBA = (0, 0, 0, 0.55)


class PreviewHint(Label):
    """The "hold still" line over the picture (colours from its kv rule below)."""


HINT_RULE = f"""
<PreviewHint>:
    color: app.c("on_fill", app.theme)
    font_name: app.font_bold
    halign: "center"
    valign: "middle"
    size_hint: None, None
    height: self.texture_size[1] + self.font_size * 0.5
    outline_width: 2
    outline_color: 0, 0, 0, 1
    canvas.before:
        Color:
            rgba: {HINT_BAND_RGBA}
        Rectangle:
            pos: self.pos
            size: self.size
"""


@cache
def _load_hint_rule() -> None:
    Builder.load_string(HINT_RULE)


class CameraPreview(FloatLayout):
    step = StringProperty("")  # the scan step this preview belongs to ("lookup", "filing", "camera_test")
    active = BooleanProperty(False)  # frames are flowing

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        app = App.get_running_app()
        self._texture: Texture | None = None
        self._number = 0
        self._screens: list[Screen] = []
        self._blit = Clock.create_trigger(self._copy_frame, 1 / BLITS_PER_S, interval=True)
        with self.canvas.before:
            self._picture_colour = Color(1, 1, 1, 0)
            self._picture = Rectangle()
            self._aim_colour = Color(1, 1, 1, 0)
            self._aim = [Line(width=3) for _ in range(4)]
        _load_hint_rule()
        self.hint = PreviewHint(text="")
        self.add_widget(self.hint)
        app.core.events.subscribe("camera_preview", lambda active: app.on_ui(setattr, self, "active", active))
        self._look = current_look()  # the screen's it is on (screens/look.py)
        self._look.bind(lang=self._words, fs=self._layout)
        self.bind(pos=self._layout, size=self._layout, parent=self._follow_screens)
        Clock.schedule_once(self._follow_screens)  # the screens around it exist once the kv tree is built
        self._words()

    def on_active(self, *_args: object) -> None:
        self._picture_colour.a = self._aim_colour.a = 1 if self.active else 0
        self.opacity = 1 if self.active else 0
        if self.active:
            self._blit()
        else:
            self._blit.cancel()
            self._number = 0

    def _words(self, *_args: object) -> None:
        self.hint.text = App.get_running_app().tr("camera.hold_still", self._look.lang)

    # -- which step shows (forwarded to the core) ------------------------------------------------------------------
    def _follow_screens(self, *_args: object) -> None:
        for screen in self._screens:
            screen.unbind(on_enter=self._visibility, on_leave=self._visibility)
        self._screens = []
        node = self.parent
        while node is not None and node.parent is not node:  # the window is its own parent
            if isinstance(node, Screen):
                node.bind(on_enter=self._visibility, on_leave=self._visibility)
                self._screens.append(node)
            node = node.parent
        self._visibility()

    def _visibility(self, *_args: object) -> None:
        core = App.get_running_app().core
        shown = bool(self._screens) and all(screen.manager is not None and screen.manager.current == screen.name
                                            for screen in self._screens)
        if shown:
            core.show_scan_step(self.step)
        else:
            core.hide_scan_step(self.step)

    # -- drawing ---------------------------------------------------------------------------------------------------
    def _copy_frame(self, *_args: object) -> None:
        frame = App.get_running_app().core.camera_frame()
        if frame is None or frame.number == self._number:
            return
        if self._texture is None or self._texture.size != (frame.width, frame.height):
            self._texture = Texture.create(size=(frame.width, frame.height), colorfmt="rgb")
            self._picture.texture = self._texture
            self._layout()
        self._texture.blit_buffer(frame.pixels, colorfmt="rgb", bufferfmt="ubyte")
        self._number = frame.number
        self.canvas.ask_update()

    def _layout(self, *_args: object) -> None:
        """Fit the picture into the widget (aspect kept), centre the aiming frame on it, the hint below it."""
        tw, th = self._texture.size if self._texture is not None else (4, 3)
        scale = min(self.width / tw, self.height / th)
        w, h = tw * scale, th * scale
        x, y = self.x + (self.width - w) / 2, self.y + (self.height - h) / 2
        self._picture.pos, self._picture.size = (x, y), (w, h)
        side = AIM * min(w, h)
        left, bottom = x + (w - side) / 2, y + (h - side) / 2
        arm = side / 4
        corners = ((left, bottom, 1, 1), (left + side, bottom, -1, 1), (left, bottom + side, 1, -1),
                   (left + side, bottom + side, -1, -1))
        for line, (cx, cy, dx, dy) in zip(self._aim, corners):
            line.points = [cx, cy + dy * arm, cx, cy, cx + dx * arm, cy]
        self.hint.font_size = max(self._look.fs * HINT_MIN_PX, h * 0.07)
        self.hint.width, self.hint.text_size = w, (w * 0.94, None)  # a long hint wraps; its band grows to fit
        self.hint.pos = (x, y + h * 0.03)
