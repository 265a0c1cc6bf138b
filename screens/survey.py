"""Satisfaction survey: five faces, optional reasons, a thank-you, then home.

The core stores the answer on a worker (a local SQLite write, then the outbox); the thank-you shows when it did.
"""

from __future__ import annotations

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.widget import Widget

from kiosk.view_models.shell import SurveyOutcome
from screens.look import LookScreen
from screens.requests import Pending
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


class SurveyScreen(LookScreen):
    score = NumericProperty(0)
    chosen = ListProperty([])
    thanked = BooleanProperty(False)
    thanks = StringProperty("")  # the thank-you (or why the answer could not be kept)
    kind = StringProperty("standalone")  # what is rated: after a ticket, after a look-up, or on its own
    service = StringProperty("")

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        app = App.get_running_app()
        self._sending = Pending(app)
        self._home_after_thanks = Clock.schedule_once(lambda _dt: None, 0)
        app.core.events.subscribe("survey", lambda outcome: app.on_ui(self._sent, outcome))

    def on_kv_post(self, *_args: object) -> None:
        for reason in App.get_running_app().core.survey_reasons():
            toggle = ReasonToggle(reason=reason)
            self.bind(chosen=toggle.setter("chosen"))
            toggle.bind(on_release=lambda widget: self.toggle(widget.reason))
            self.ids.reasons.add_widget(toggle)

    def about(self, kind: str, service: str = "") -> None:
        """The next answer rates this ticket's service or this look-up (set just before opening the screen)."""
        self.kind, self.service = kind, service

    def on_pre_enter(self, *_args: object) -> None:
        self.score, self.chosen, self.thanked, self.thanks = 0, [], False, ""

    def on_leave(self, *_args: object) -> None:
        self.about("standalone")  # the home screen's survey rates the centre as a whole
        self._sending.finish()
        self._home_after_thanks.cancel()  # the citizen left already: the next one must not be sent home

    def toggle(self, reason: str) -> None:
        self.chosen = [r for r in self.chosen if r != reason] if reason in self.chosen else [*self.chosen, reason]

    def send(self) -> None:
        """One answer per visit: a second tap while it is being stored (or after the thanks) does nothing."""
        if not self.score or self.thanked or not self._sending.start():
            return
        core = App.get_running_app().core
        if not core.send_survey(self.score, tuple(self.chosen), kind=self.kind, service=self.service):
            self._sending.finish()

    def _sent(self, outcome: SurveyOutcome) -> None:
        if not self._sending.finish():
            return  # the citizen left before it was stored; the answer is kept all the same
        self.thanked, self.thanks = True, outcome.message
        self._home_after_thanks = Clock.schedule_once(lambda _dt: App.get_running_app().go_home(), THANKS_SECONDS)
