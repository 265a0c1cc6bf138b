"""Text on a screen nobody sees is rendered when the screen shows, not when it changes.

Every label's text and size are bound in kv to ``app.lang`` and ``app.fs``: a language or large-text switch
re-rendered the texture of every label on every built screen — hidden ones and the hidden parts of the filing
screen included, some three hundred textures, a third of a second of the UI thread — before the frame that shows
the switch. Here a label whose top ancestor is a screen held by a screen manager but not on it (a hidden screen,
or anything inside one) notes that its texture is stale and renders nothing; :func:`render_deferred` renders what
was put off when the screen goes up (``screens.software_gl.CutTransition``), before that frame is drawn.
A label outside any screen (a widget being built, a popup) renders as before.
"""

from __future__ import annotations

from typing import Any

from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

_STALE = "_texture_put_off"


def _on_hidden_screen(widget: Widget) -> bool:
    node = widget
    while node.parent is not None and node.parent is not node:  # the window is its own parent
        node = node.parent
    return isinstance(node, Screen) and node.manager is not None


def defer_hidden_labels() -> None:
    """Make every label built from now on put off rendering while on a hidden screen (once per process; before
    the first label is built, which binds its render trigger to the method)."""
    if getattr(Label.texture_update, "defers_hidden", False):
        return
    render = Label.texture_update

    def texture_update(self: Label, *args: Any) -> None:
        if _on_hidden_screen(self):
            setattr(self, _STALE, True)
            return
        render(self, *args)

    texture_update.defers_hidden = True  # type: ignore[attr-defined]
    Label.texture_update = texture_update


def render_deferred(screen: Widget) -> None:
    """Ask for the textures put off under ``screen``, now on the window: they render before the next frame."""
    for widget in screen.walk():
        if widget.__dict__.pop(_STALE, False):
            widget._trigger_texture()
