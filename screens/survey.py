"""Satisfaction survey: five faces, optional reasons, a thank-you, then home."""

from __future__ import annotations

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from contracts.survey import REASONS
from screens.widgets import KioskButton

THANKS_SECONDS = 4


class Face(ButtonBehavior, Widget):
    """A drawn face: ``score`` 1 (frown) … 5 (big smile); no emoji font needed."""

    score = NumericProperty(3)
    selected = BooleanProperty(False)


class ReasonToggle(KioskButton):
    """One optional reason; highlighted while it is in ``chosen``."""

    reason = StringProperty("")
    chosen = ListProperty([])


class SurveyScreen(Screen):
    score = NumericProperty(0)
    chosen = ListProperty([])
    thanked = BooleanProperty(False)
    kind = StringProperty("standalone")  # what is rated: after a ticket, after a look-up, or on its own
    service = StringProperty("")

    def on_kv_post(self, *_args: object) -> None:
        for reason in REASONS:
            toggle = ReasonToggle(reason=reason)
            self.bind(chosen=toggle.setter("chosen"))
            toggle.bind(on_release=lambda widget: self.toggle(widget.reason))
            self.ids.reasons.add_widget(toggle)

    def about(self, kind: str, service: str = "") -> None:
        """The next answer rates this ticket's service or this look-up (set just before opening the screen)."""
        self.kind, self.service = kind, service

    def on_pre_enter(self, *_args: object) -> None:
        self.score, self.chosen, self.thanked = 0, [], False

    def on_leave(self, *_args: object) -> None:
        self.about("standalone")  # the home screen's survey rates the centre as a whole

    def toggle(self, reason: str) -> None:
        self.chosen = [r for r in self.chosen if r != reason] if reason in self.chosen else [*self.chosen, reason]

    def send(self) -> None:
        if not self.score:
            return
        App.get_running_app().core.survey.record(self.score, tuple(self.chosen), service=self.service, kind=self.kind)
        self.thanked = True
        Clock.schedule_once(lambda _dt: App.get_running_app().go_home(), THANKS_SECONDS)
