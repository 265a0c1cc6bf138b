"""Shared widgets: big touch targets, the top bar with Home/Back, the announcement ticker, the hidden corner.

Sizes derive from the window (``app.u`` is one "design pixel" of a 1080-wide portrait screen), so one layout
serves 1080×1920, 1920×1080 and 768×1366 without a target dropping below ~15 mm.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from kivy.clock import Clock
from kivy.properties import NumericProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.relativelayout import RelativeLayout
from kivy.uix.spinner import Spinner
from kivy.uix.widget import Widget

HOLD_TO_OPEN_S = 3.0
QR_BOX = 8  # texture pixels per QR module: sharp when the view scales it down


def value_of(mapping: Mapping[str, Any], key: str, default: Any = "") -> Any:
    """``mapping[key]`` or ``default`` for kv: written as ``value_of(root.status, "x")`` the rule re-evaluates
    whenever ``root.status`` changes, which ``root.status.get("x")`` does not do."""
    return mapping.get(key) or default


class Tile(ButtonBehavior, BoxLayout):
    """A large coloured touch target with a title and a hint line."""

    title = StringProperty("")
    hint = StringProperty("")
    tint = ObjectProperty((0.05, 0.28, 0.63, 1))


class KioskButton(ButtonBehavior, Label):
    """A rounded button with large text; ``tint`` is its background colour.

    Its text grows with large text. A button in a bar that must keep its size (Back, Home, the switches) gives
    ``fixed_size`` instead of ``font_size``: a ``font_size`` of its own in ``app.u`` would be overwritten by this
    class's rule (``look.fs`` × 44) at the next large-text switch, which re-evaluates that rule and not the other.
    """

    tint = ObjectProperty((0.05, 0.28, 0.63, 1))
    fixed_size = NumericProperty(0)  # font size in design units (× app.u) that large text leaves alone; 0: grows


class TopBar(BoxLayout):
    """Title plus Home and Back; the screen decides what Back means."""

    title = StringProperty("")
    back_action = ObjectProperty(None, allownone=True)


class Ticker(RelativeLayout):
    """Scrolls announcements right to left, one after another, forever, in :data:`STEPS_PER_S` steps a second.

    Each step redraws the whole window, and without a GPU software GL pays for every pixel of it: a smooth
    60-frame scroll kept the CPU drawing the home screen non-stop, and a touch's frame waited behind those frames
    (docs/BENCHMARKS.md, touch to frame). Ten steps a second read as well.
    """

    SPEED = 120.0  # pixels a second
    STEPS_PER_S = 10

    text = StringProperty("")
    offset = NumericProperty(0)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._stepping = Clock.create_trigger(self._step, 1 / self.STEPS_PER_S, interval=True)

    def on_text(self, *_args: object) -> None:
        Clock.schedule_once(self._restart, 0)

    def on_size(self, *_args: object) -> None:
        Clock.schedule_once(self._restart, 0)

    def _restart(self, *_args: object) -> None:
        self._stepping.cancel()
        self.offset = 0
        label = self.ids.get("label")
        if label is None or not self.text:  # nothing to scroll: no redraws
            return
        label.texture_update()
        self._stepping()

    def _step(self, _dt: float) -> None:
        self.offset += self.SPEED / self.STEPS_PER_S
        if self.offset > self.width + self.ids.label.texture_size[0]:
            self.offset = 0


class LazySpinner(Spinner):
    """A drop-down that makes its option buttons when it opens, not each time its values change.

    Kivy's Spinner builds one widget per value as soon as ``values`` is set; the maintenance screen sets six lists
    at once when detection answers, which is tens of milliseconds of widget building in one UI callback. Built on
    opening, each list costs that only when a technician opens it.
    """

    _options_stale = True

    def _update_dropdown(self, *_args: object) -> None:
        self._options_stale = True

    def on_is_open(self, instance: Spinner, value: bool) -> None:
        if value and self._options_stale:
            self._options_stale = False
            super()._update_dropdown()
        super().on_is_open(instance, value)


class HiddenCorner(Widget):
    """Press and hold for :data:`HOLD_TO_OPEN_S` seconds to open the technician PIN pad."""

    __events__ = ("on_hold",)

    def on_touch_down(self, touch):  # type: ignore[no-untyped-def]
        if self.collide_point(*touch.pos):
            touch.ud["hidden_corner"] = Clock.schedule_once(lambda _dt: self.dispatch("on_hold"), HOLD_TO_OPEN_S)
            return True
        return super().on_touch_down(touch)

    def on_touch_up(self, touch):  # type: ignore[no-untyped-def]
        event = touch.ud.pop("hidden_corner", None)
        if event is not None:
            event.cancel()
            return True
        return super().on_touch_up(touch)

    def on_hold(self) -> None:
        """Default handler; the app binds to this event."""


class QRView(Image):
    """Shows ``data`` as a QR code, drawn with sharp modules at any size.

    The modules are computed on a worker thread: qrcode is pure Python (and its first use is an import), tens of
    milliseconds the UI thread must not spend. The UI thread only uploads the finished picture as a texture.
    """

    data = StringProperty("")

    def on_data(self, *_args: object) -> None:
        self.texture = None  # never the previous code (another citizen's ticket) beside this one's number
        if not self.data:
            return
        threading.Thread(target=self._encode, args=(self.data,), name="qr-encode", daemon=True).start()

    def _encode(self, data: str) -> None:
        import qrcode

        code = qrcode.QRCode(border=2)
        code.add_data(data)
        code.make(fit=True)
        light, dark = b"\xff\xff\xff\xff" * QR_BOX, b"\x00\x00\x00\xff" * QR_BOX
        rows = [b"".join(dark if module else light for module in row) * QR_BOX for row in code.get_matrix()]
        pixels = b"".join(reversed(rows))  # textures fill from the bottom row up
        Clock.schedule_once(lambda _dt: self._show(data, len(rows) * QR_BOX, pixels), 0)

    def _show(self, data: str, size: int, pixels: bytes) -> None:
        if data != self.data:  # the code changed while this one was being drawn
            return
        from kivy.graphics.texture import Texture

        texture = Texture.create(size=(size, size), colorfmt="rgba")
        texture.blit_buffer(pixels, colorfmt="rgba", bufferfmt="ubyte")
        texture.mag_filter = "nearest"
        self.texture = texture
