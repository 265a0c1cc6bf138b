"""The "Bạn có cần thêm thời gian?" overlay and the root layout that holds it above every screen."""

from __future__ import annotations

from typing import Any

from kivy.properties import NumericProperty
from kivy.uix.floatlayout import FloatLayout

from screens.hidden_text import render_deferred


class IdleRoot(FloatLayout):
    """ScreenManager at the bottom, the hidden technician corner and the idle overlay on top.

    The overlay is in the widget tree only while it shows (``opacity`` 1): Kivy draws a widget at opacity 0 all the
    same, and the overlay's full-window dimming and its card cost every frame of every screen about 30 ms of CPU in
    software GL (``bench/ui_latency.py --draw-cost``) while nobody could see them.
    """

    def on_kv_post(self, *_args: object) -> None:
        overlay = self.ids.overlay.__self__  # held here: ``ids`` keeps only a weak reference
        self._overlay = overlay
        overlay.bind(opacity=self._place_overlay)
        self._place_overlay(overlay, overlay.opacity)

    def _place_overlay(self, overlay: Any, opacity: float) -> None:
        if opacity and overlay.parent is None:
            render_deferred(overlay)  # text that changed while it was out (a language switch) renders now
            self.add_widget(overlay)  # on top of everything
        elif not opacity and overlay.parent is self:
            self.remove_widget(overlay)


class IdleOverlay(FloatLayout):
    """Modal while shown: swallows touches so nothing behind it is pressed (hidden, it is out of the tree, and its
    labels put off rendering a language or text-size switch until it shows: ``screens.hidden_text``)."""

    puts_off_text = True

    seconds = NumericProperty(0)

    def on_touch_down(self, touch):  # type: ignore[no-untyped-def]
        super().on_touch_down(touch)
        return True

    def on_touch_up(self, touch):  # type: ignore[no-untyped-def]
        super().on_touch_up(touch)
        return True
