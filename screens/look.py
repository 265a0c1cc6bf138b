"""Each screen's own language and font unit, which follow the app's only while the screen shows.

kv rules take a label's language and font unit from ``look`` (``app.tr("home.help", look.lang)``,
``font_size: look.fs * 40``). Bound to the app's ``lang`` and ``fs``, one language or large-text switch
re-evaluated every such rule of every built screen, hidden ones included (some two hundred rules for a language,
and four hundred labels asked to re-render for a text size), on the UI thread before the frame that shows it. So
each screen has a :class:`Look` of its own: a :class:`LookScreen` is built with ``look`` standing for its look,
follows the app's values only while it shows, and takes them as it goes up (``on_pre_enter``, before its first
frame), so no screen is drawn in the old language or size. Outside a screen (the idle overlay, toasts, a widget
built by a screen's code later) ``look`` is the app itself (``#:set look app`` in widgets.kv), which always
follows; :func:`building` gives widgets that a screen builds later (list rows, keyboard keys) the screen's look.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kivy.app import App
from kivy.event import EventDispatcher
from kivy.lang import global_idmap
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.screenmanager import Screen


class Look(EventDispatcher):
    """The citizen's language and the font unit (``app.u`` × large-text scale) that text is drawn in."""

    lang = StringProperty("vi")
    fs = NumericProperty(1.0)

    def take(self, source: Any) -> None:
        """Take ``source``'s language and font unit (the app's); Kivy re-evaluates only rules whose value changed."""
        self.lang, self.fs = source.lang, source.fs


def current_look() -> Any:
    """The look kv rules bind to right now: the look of the screen being built, or the app."""
    return global_idmap["look"]


@contextmanager
def building(look: Any) -> Iterator[None]:
    """Widgets built inside bind their kv rules' ``look`` to ``look``."""
    previous = global_idmap["look"]
    global_idmap["look"] = look
    try:
        yield
    finally:
        global_idmap["look"] = previous


class LookScreen(Screen):
    """A screen whose kv rules read its own :class:`Look` (``self.look``), kept equal to the app's while it shows."""

    def __init__(self, **kwargs: Any) -> None:
        app = App.get_running_app()
        self.look = Look()
        self.look.take(app)  # a screen built while another language is active starts in it
        self._follow = {"lang": self.look.setter("lang"), "fs": self.look.setter("fs")}  # app property → setter
        self._following = False
        with building(self.look):
            super().__init__(**kwargs)
        self.fbind("on_pre_enter", self._follow_app)
        self.fbind("on_leave", self._stop_following)

    def _follow_app(self, *_args: object) -> None:
        app = App.get_running_app()
        self.look.take(app)
        if not self._following:
            for name, take in self._follow.items():
                app.fbind(name, take)
            self._following = True

    def _stop_following(self, *_args: object) -> None:
        if self._following:
            app = App.get_running_app()
            for name, take in self._follow.items():
                app.funbind(name, take)
            self._following = False
