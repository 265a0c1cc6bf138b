"""Nộp hồ sơ: catalogue → procedure detail → one question per page → review (how the result comes back, status SMS,
consent) → receipt.

The screen renders the :class:`~kiosk.filing_view.FilingView` the core hands it and forwards touches and scans as
intents (``app.core.filing_intent``); which page shows, where Back goes and every text live in
:mod:`kiosk.filing_wizard`. Outcomes that arrive later (the catalogue, the filed dossier, the printed receipt)
come as a ``filing_changed`` event, and the screen asks for the view again. With a camera scanner the form shows its
preview (``filing`` scan step) while the question is the applicant's; the core opens and releases the camera as the
page changes. The review's post address and SMS number are typed on a page of their own (``contact``) with the Telex
keyboard or the number pad, like a question of the form.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import ListProperty, ObjectProperty, StringProperty

from kiosk.filing_view import (
    CataloguePage,
    ContactPage,
    DetailPage,
    DonePage,
    FilingView,
    ResultsPage,
    ReviewPage,
    SearchPage,
    StepPage,
)
from screens.look import LookScreen, building


class FilingScreen(LookScreen):
    state = StringProperty("catalogue")  # the page showing (FilingView.state)
    message = StringProperty("")
    results = ListProperty([])  # procedure rows of a life event, a field or a search
    bundle = ListProperty([])  # procedure ids filed together from a life event
    listing = ObjectProperty(ResultsPage(), rebind=True)
    found = ObjectProperty(SearchPage(), rebind=True)
    detail = ObjectProperty(DetailPage(), rebind=True)
    step = ObjectProperty(StepPage(), rebind=True)
    review_rows = ListProperty([])
    review = ObjectProperty(ReviewPage(), rebind=True)
    contact = ObjectProperty(ContactPage(), rebind=True)
    receipt_rows = ListProperty([])
    done = ObjectProperty(DonePage(), rebind=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        app = App.get_running_app()
        self._view = FilingView(CataloguePage())
        self._events: CataloguePage | None = None  # the catalogue's tiles as last built
        self._typed_value: tuple[str, str] = ("", "")  # (question, stored answer) last put on the keyboard
        self._contact_value: tuple[str, str] = ("", "")  # (address|phone, stored value) last put on its keyboard
        self._delivery: tuple[Any, ...] = ()  # the delivery choices as last built
        refresh = lambda **_ignored: app.on_ui(self._refresh)  # noqa: E731
        app.core.events.subscribe("filing_changed", refresh)
        app.core.events.subscribe("language", refresh)

    # -- intents -------------------------------------------------------------------------------------------------
    def intent(self, name: str, *args: Any) -> None:
        """Forward a touch to the core and show what comes back (Back past the first page leaves the screen)."""
        app = App.get_running_app()
        view = app.core.filing_intent(name, *args)
        if view.leave:
            app.back()
        else:
            self.render(view)

    def on_pre_enter(self, *_args: object) -> None:
        self.intent("enter")

    def go_back(self) -> None:
        self.intent("back")

    def next_step(self) -> None:
        """Tiếp tục: a typed answer goes with it; choices and group questions confirm what is stored."""
        if self.step.kind == "keys":
            self.intent("answer", self.ids.form_keys.text)
        else:
            self.intent("next")

    def take_scan(self, payload: dict[str, Any]) -> bool:
        """On the form or its review a scan is the citizen's CCCD; elsewhere the app routes scans."""
        if not self._view.takes_scans:
            return False
        self.intent("scan", payload)
        return True

    def take_number(self, intent: str) -> None:
        """``take_number`` (this procedure's counter) or ``help_number``: the app's ticket desk waits for the
        answer (progress if it is slow, a second tap ignored), then shows the ticket or says why there is none."""
        def ask(core: Any) -> int | None:
            view = core.filing_intent(intent)
            self.render(view)
            return view.number_request

        App.get_running_app().tickets.take(ask, self._refused)

    def _refused(self, reason: str) -> None:
        self.message = reason

    def finish(self) -> None:
        App.get_running_app().go_home()

    # -- rendering -----------------------------------------------------------------------------------------------
    def _refresh(self) -> None:
        """Show the flow as it stands. A hidden screen whose page stays the same renders on entering instead (a
        language switch on the home screen rebuilt the catalogue's tiles here, unseen, before its frame); a page
        change renders at once, so what the page held lets go now (the form's camera when a reset leaves it)."""
        view = App.get_running_app().core.filing_view()
        if self.manager is None or self.manager.current == self.name or view.state != self.state:
            self.render(view)

    def render(self, view: FilingView) -> None:
        with building(self.look):  # the tiles and buttons of a page follow this screen's look
            self._render(view)

    def _render(self, view: FilingView) -> None:
        self._view = view
        self.message = view.message
        page = view.page
        if not isinstance(page, StepPage) or page.kind != "keys":
            self._typed_value = ("", "")  # the next typed question starts from its stored answer
        if not isinstance(page, ContactPage):
            self._contact_value = ("", "")  # the next address or number page starts from what is stored
        if isinstance(page, CataloguePage):
            self._show_catalogue(page)
        elif isinstance(page, ResultsPage):
            self.listing, self.bundle, self.results = page, list(page.bundle), [asdict(row) for row in page.rows]
        elif isinstance(page, SearchPage):
            self._show_search(page)
        elif isinstance(page, DetailPage):
            self.detail = page
        elif isinstance(page, StepPage):
            self._show_step(page)
        elif isinstance(page, DonePage):
            self.done, self.receipt_rows = page, [asdict(row) for row in page.rows]
        elif isinstance(page, ReviewPage):
            self._show_review(page)
        elif isinstance(page, ContactPage):
            self._show_contact(page)
        self.state = view.state

    def on_state(self, *_args: object) -> None:
        self.ids.parts.current = self.state

    def _show_catalogue(self, page: CataloguePage) -> None:
        if page == self._events:
            return
        self._events = page
        events, fields = self.ids.events, self.ids.fields
        events.clear_widgets()
        fields.clear_widgets()
        for event in page.events:
            tile = Factory.EventTile(title=event.title, hint=event.hint)
            tile.bind(on_release=lambda _tile, key=event.key: self.intent("open_event", key))
            events.add_widget(tile)
        for field in page.fields:
            button = Factory.FieldButton(text=field)
            button.bind(on_release=lambda _button, name=field: self.intent("open_field", name))
            fields.add_widget(button)

    def _show_search(self, page: SearchPage) -> None:
        self.found, self.results = page, [asdict(row) for row in page.rows]
        keys = self.ids.search_keys
        if keys.text != page.typed:  # a fresh search starts empty; typing comes back as the same text
            keys.set_text(page.typed)

    def _show_step(self, page: StepPage) -> None:
        self.step = page
        self.ids.form_parts.current = page.kind
        if page.kind == "keys":
            keys = self.ids.form_keys
            keys.mode = page.keyboard
            if (page.path, page.value) != self._typed_value:  # a new question, or an answer filled from a card
                keys.set_text(page.value)
            self._typed_value = (page.path, page.value)
        elif page.kind == "choices":
            box = self.ids.choices
            box.clear_widgets()
            for choice in page.choices:
                button = Factory.ChoiceButton(text=choice.text)
                button.chosen = choice.chosen  # a kv-declared property cannot be passed to the constructor
                button.bind(on_release=lambda _button, value=choice.value: self.intent("choose", value))
                box.add_widget(button)

    def _show_review(self, page: ReviewPage) -> None:
        self.review, self.review_rows = page, [asdict(row) for row in page.rows]
        if page.delivery == self._delivery:
            return
        self._delivery = page.delivery
        box = self.ids.delivery
        box.clear_widgets()
        for choice in page.delivery:
            button = Factory.DeliveryButton(text=choice.text)
            button.chosen = choice.chosen
            button.bind(on_release=lambda _button, method=choice.value: self.intent("choose_delivery", method))
            box.add_widget(button)

    def _show_contact(self, page: ContactPage) -> None:
        self.contact = page
        keys = self.ids.contact_keys
        keys.mode = page.keyboard
        if (page.item, page.value) != self._contact_value:  # a fresh page; a refused save keeps what was typed
            keys.set_text(page.value)
        self._contact_value = (page.item, page.value)
