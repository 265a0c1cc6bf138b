"""Drawing that costs less in software GL: flat fills, no stencil, no frame with two screens.

Without a GPU every pixel a frame covers costs CPU (Mesa's llvmpipe). Kivy draws a plain coloured shape by
sampling a white texture with bilinear filtering, four texel reads a pixel for a constant; sampled nearest, the same
colour costs about a third less (:func:`sample_fills_nearest`). Kivy's clipping widgets cost more than their content
needs. ScreenManager and the scroll views (StencilView) clip to their box with the stencil buffer:
two extra draws of their whole area each frame and a stencil test on every pixel inside (the filing form, four
clips deep, paid for it four times). A ScreenManager whose screens never slide needs no clipping at all, and a
scroll view's box is a rectangle in the window, which the scissor clips for nothing (it only narrows what is
rasterized). And ScreenManager's NoTransition keeps the old screen in the tree until the next clock tick, so the
first frame after a touch, the one the citizen waits for, drew the old screen under the new one.

The kv rules in ``widgets.kv`` drop Kivy's stencil styles for these classes.
"""

from __future__ import annotations

from typing import Any

from kivy.core.window import Window
from kivy.graphics import Rectangle
from kivy.graphics.scissor_instructions import ScissorPop, ScissorPush
from kivy.uix.recycleview import RecycleView
from kivy.uix.screenmanager import ScreenManager, TransitionBase
from kivy.uix.scrollview import ScrollView

from screens.hidden_text import render_deferred
from screens.look import building, current_look


def sample_fills_nearest() -> None:
    """Sample Kivy's default texture (the white one under every untextured shape) nearest, not bilinear: a
    uniform texture looks the same either way. Needs the window (a GL context)."""
    white = Rectangle().texture
    white.mag_filter = white.min_filter = "nearest"


class CutTransition(TransitionBase):
    """Swaps the screens at once, with Kivy's events in Kivy's order: pre-enter, pre-leave, enter, leave."""

    def start(self, manager: Any) -> None:
        self.manager = manager
        screen_in, screen_out = self.screen_in, self.screen_out  # a handler below may switch again
        self.add_screen(screen_in)
        render_deferred(screen_in)
        screen_in.pos = manager.pos
        self.remove_screen(screen_out)
        screen_in.dispatch("on_pre_enter")
        screen_out.dispatch("on_pre_leave")
        screen_in.dispatch("on_enter")
        screen_out.dispatch("on_leave")


class FlatScreenManager(ScreenManager):
    """A ScreenManager whose screens fill it and never slide: no clipping, cut transitions."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("transition", CutTransition())
        super().__init__(**kwargs)


class ScissorClip:
    """Clips a scroll view to its box with the scissor rectangle, placed in window coordinates before each frame
    is drawn (the box moves with every layout around it, inside screens that are relative layouts)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._scissor = ScissorPush(x=0, y=0, width=0, height=0)
        self.canvas.before.insert(0, self._scissor)
        self.canvas.after.add(ScissorPop())
        Window.bind(on_draw=self._place_scissor)  # runs before the window draws; a weak reference

    def _place_scissor(self, *_args: object) -> None:
        if self.get_root_window() is None:  # not on screen
            return
        x, y = self.to_window(self.x, self.y)
        box = (round(x), round(y), round(self.width), round(self.height))
        scissor = self._scissor
        if (scissor.x, scissor.y, scissor.width, scissor.height) != box:
            scissor.x, scissor.y, scissor.width, scissor.height = box


class ClippedScrollView(ScissorClip, ScrollView):
    """A vertical ScrollView clipped by the scissor."""


class ClippedRecycleView(ScissorClip, RecycleView):
    """A vertical RecycleView clipped by the scissor, whose rows (built as they scroll into view) take the look of
    the screen it is on (screens/look.py)."""

    def __init__(self, **kwargs: Any) -> None:
        self._look = current_look()
        super().__init__(**kwargs)

    def refresh_views(self, *args: Any) -> None:
        with building(self._look):
            super().refresh_views(*args)
