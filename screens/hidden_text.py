"""Text nobody sees is rendered when it shows, or when the kiosk is idle, not when it changes.

A change of language or text size reaches only the screen that shows (``screens/look.py``), but that screen may
hold parts nobody sees (the filing screen's other pages, each a screen of its own, some two hundred labels), and a
few widgets follow the app wherever they are (the idle overlay, out of the window until the citizen idles).
Re-rendering all of those before the frame that shows the switch cost the UI thread up to a third of a second.
Here a label whose top ancestor is a screen held by a screen manager but not on it (a hidden screen, or anything
inside one), or a widget out of the window that says it puts its text off (``puts_off_text``), notes that its
texture is stale and renders nothing; :func:`render_deferred` renders what was put off under a widget as it goes
up (``screens.software_gl.CutTransition``, ``screens.idle.IdleRoot``), before that frame is drawn, and what is
still put off once nobody touched the screen for :data:`CATCH_UP_AFTER_S` is rendered a few labels a frame (a
touch postpones the rest), so that what the citizen opens next has its text ready. A label outside any screen (a
widget being built, a popup) renders as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from weakref import WeakSet

from kivy.clock import Clock
from kivy.core.window import Window
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

CATCH_UP_AFTER_S = 1.0  # without a touch for this long, the kiosk is idle: the citizen reads, or has left
CATCH_UP_PER_FRAME = 5  # labels rendered per frame while catching up (a few ms each)
_STALE = "_texture_put_off"
_put_off: WeakSet[Label] = WeakSet()
_catch_up_event: Any = None  # the scheduled catch-up (a Kivy ClockEvent), if any


def _unseen(widget: Widget) -> bool:
    """On a hidden screen, or on a widget that is out of the window until it shows and says so
    (``puts_off_text``: the idle overlay)."""
    node = widget
    while node.parent is not None and node.parent is not node:  # the window is its own parent
        node = node.parent
    return (isinstance(node, Screen) and node.manager is not None) or getattr(node, "puts_off_text", False)


def defer_hidden_labels() -> None:
    """Make every label built from now on put off rendering while on a hidden screen (once per process; before
    the first label is built, which binds its render trigger to the method)."""
    if getattr(Label.texture_update, "defers_hidden", False):
        return
    render = Label.texture_update

    def texture_update(self: Label, *args: Any) -> None:
        if _unseen(self):
            setattr(self, _STALE, True)
            _put_off.add(self)
            _catch_up_later(render)
            return
        render(self, *args)

    texture_update.defers_hidden = True  # type: ignore[attr-defined]
    Label.texture_update = texture_update
    Window.bind(on_touch_down=_postpone)


def _postpone(*_args: object) -> None:
    """A touch: the citizen is busy, so the catch-up waits until they have not touched for a while."""
    if _catch_up_event is not None and _catch_up_event.is_triggered:
        _catch_up_event.cancel()
        _catch_up_event.timeout = CATCH_UP_AFTER_S
        _catch_up_event()


def _catch_up_later(render: Callable[[Label], None]) -> None:
    global _catch_up_event
    if _catch_up_event is None or not _catch_up_event.is_triggered:
        _catch_up_event = Clock.schedule_once(lambda _dt: _catch_up(render), CATCH_UP_AFTER_S)


def _catch_up(render: Callable[[Label], None]) -> None:
    """Render up to :data:`CATCH_UP_PER_FRAME` put-off labels, and the rest in the next frames."""
    global _catch_up_event
    done = 0
    for label in list(_put_off):
        if done == CATCH_UP_PER_FRAME:
            _catch_up_event = Clock.schedule_once(lambda _dt: _catch_up(render), 0)
            return
        _put_off.discard(label)
        if label.__dict__.pop(_STALE, False):
            render(label)
            done += 1


def render_deferred(screen: Widget) -> None:
    """Ask for the textures put off under ``screen``, now on the window: they render before the next frame."""
    for widget in screen.walk():
        if widget.__dict__.pop(_STALE, False):
            widget._trigger_texture()
