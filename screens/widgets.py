"""Shared widgets: big touch targets, the top bar with Home/Back, the announcement ticker, the hidden corner.

Sizes derive from the window (``app.u`` is one "design pixel" of a 1080-wide portrait screen), so one layout
serves 1080×1920, 1920×1080 and 768×1366 without a target dropping below ~15 mm.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from kivy.animation import Animation
from kivy.clock import Clock
from kivy.properties import NumericProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.relativelayout import RelativeLayout
from kivy.uix.widget import Widget

HOLD_TO_OPEN_S = 3.0


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
    """A rounded button with large text; ``tint`` is its background colour."""

    tint = ObjectProperty((0.05, 0.28, 0.63, 1))


class TopBar(BoxLayout):
    """Title plus Home and Back; the screen decides what Back means."""

    title = StringProperty("")
    back_action = ObjectProperty(None, allownone=True)


class Ticker(RelativeLayout):
    """Scrolls announcements right to left, one after another, forever."""

    text = StringProperty("")
    offset = NumericProperty(0)

    def on_text(self, *_args: object) -> None:
        Clock.schedule_once(self._restart, 0)

    def on_size(self, *_args: object) -> None:
        Clock.schedule_once(self._restart, 0)

    def _restart(self, *_args: object) -> None:
        Animation.cancel_all(self, "offset")
        label = self.ids.get("label")
        if label is None:
            return
        label.texture_update()
        distance = self.width + label.texture_size[0]
        self.offset = 0
        anim = Animation(offset=distance, duration=max(distance / 120.0, 1.0))
        anim.bind(on_complete=self._restart)
        anim.start(self)


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
    """Shows ``data`` as a QR code, drawn with sharp modules at any size."""

    data = StringProperty("")

    def on_data(self, *_args: object) -> None:
        if not self.data:
            self.texture = None
            return
        import qrcode
        from kivy.core.image import Image as CoreImage

        code = qrcode.QRCode(border=2, box_size=8)
        code.add_data(self.data)
        code.make(fit=True)
        buffer = io.BytesIO()
        code.make_image().convert("RGB").save(buffer, "png")
        buffer.seek(0)
        texture = CoreImage(buffer, ext="png").texture
        texture.mag_filter = "nearest"
        self.texture = texture
