"""The "Bạn có cần thêm thời gian?" overlay and the root layout that holds it above every screen."""

from __future__ import annotations

from kivy.properties import NumericProperty
from kivy.uix.floatlayout import FloatLayout


class IdleRoot(FloatLayout):
    """ScreenManager at the bottom, the hidden technician corner and the idle overlay on top."""


class IdleOverlay(FloatLayout):
    """Modal while shown (swallows touches so nothing behind it is pressed), transparent to touches otherwise."""

    seconds = NumericProperty(0)

    @property
    def shown(self) -> bool:
        return self.opacity > 0

    def on_touch_down(self, touch):  # type: ignore[no-untyped-def]
        if not self.shown:
            return False
        super().on_touch_down(touch)
        return True

    def on_touch_up(self, touch):  # type: ignore[no-untyped-def]
        if not self.shown:
            return False
        super().on_touch_up(touch)
        return True
