"""Nộp hồ sơ: catalogue → procedure detail → one question per page → review and consent → receipt.

The screen renders :class:`kiosk.filing_flow.FilingFlow` and forwards touches and scans to it; the rules (which
fields, what is valid, what is filed) live there. A CCCD scanned at any point of the form fills the applicant.
"""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import BooleanProperty, DictProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.screenmanager import Screen

from contracts.forms import display_value
from kiosk.filing_flow import FilingReceipt, Step
from kiosk.receipts import money

KEYBOARD_FOR = {"text": "telex", "number": "numeric", "date": "numeric", "phone": "numeric", "cccd": "numeric"}
SEARCH_RESULTS = 6


class FilingScreen(Screen):
    # catalogue | results | search | detail | form | review | sending | done | unavailable
    state = StringProperty("catalogue")
    message = StringProperty("")
    heading = StringProperty("")
    results = ListProperty([])
    bundle = ListProperty([])  # procedure ids filed together from a life event
    proc = DictProperty({})
    step_no = NumericProperty(0)
    step_total = NumericProperty(0)
    step_label = StringProperty("")
    step_kind = StringProperty("")  # keys | choices | group
    step_required = BooleanProperty(False)
    applicant_step = BooleanProperty(False)
    consent = BooleanProperty(False)
    review_rows = ListProperty([])
    receipt_rows = ListProperty([])
    offline = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        app = App.get_running_app()
        self._steps: list[Step] = []
        self._index = 0
        self._from_review = False
        app.core.events.subscribe("catalogue", lambda available: app.on_ui(self._catalogue_ready))
        app.core.events.subscribe("filing", lambda receipt: app.on_ui(self._filed, receipt))
        app.core.events.subscribe("receipt_print", lambda ok, reason: app.on_ui(self._printed, ok))

    # -- navigation inside the screen -------------------------------------------------------------------------
    def on_state(self, *_args: object) -> None:
        self.ids.parts.current = self.state

    def on_pre_enter(self, *_args: object) -> None:
        if self.state not in ("sending",):
            self.reset()

    def reset(self) -> None:
        self.message, self.consent, self.bundle, self.proc = "", False, [], {}
        self._show_catalogue()

    def go_back(self) -> None:
        """The top bar's Back walks back through the form before leaving the screen."""
        app = App.get_running_app()
        if self.state == "form" and self._index > 0:
            self._open_step(self._index - 1)
        elif self.state == "form":
            self.state = "detail"
        elif self.state == "review":
            self._open_step(len(self._steps) - 1)
        elif self.state in ("results", "search", "detail", "unavailable"):
            self._show_catalogue()
        else:
            app.back()
        self.message = ""

    # -- catalogue ---------------------------------------------------------------------------------------------
    def _catalogue_ready(self) -> None:
        if self.state in ("catalogue", "unavailable"):
            self._show_catalogue()

    def _show_catalogue(self) -> None:
        app = App.get_running_app()
        catalogue = app.core.catalogue
        if catalogue is None:
            self.state = "unavailable"
            return
        self.state = "catalogue"
        events, fields = self.ids.events, self.ids.fields
        events.clear_widgets()
        fields.clear_widgets()
        for event in catalogue.life_events:
            tile = Factory.EventTile(title=event.name(app.lang),
                                     hint=" · ".join(p["name_vi" if app.lang == "vi" else "name_en"]
                                                     for p in catalogue.for_event(event.key)))
            tile.bind(on_release=lambda _t, key=event.key: self.show_event(key))
            events.add_widget(tile)
        for field in catalogue.fields():
            button = Factory.FieldButton(text=field)
            button.bind(on_release=lambda _b, f=field: self.show_field(f))
            fields.add_widget(button)

    def retry_catalogue(self) -> None:
        import threading

        threading.Thread(target=App.get_running_app().core.refresh_catalogue, daemon=True).start()

    def show_event(self, key: str) -> None:
        catalogue = App.get_running_app().core.catalogue
        event = next(e for e in catalogue.life_events if e.key == key)
        procedures = catalogue.for_event(key)
        self.bundle = [p["id"] for p in procedures] if all(p["kiosk"] for p in procedures) else []
        self._list(event.name(App.get_running_app().lang), procedures)

    def show_field(self, field: str) -> None:
        self.bundle = []
        self._list(field, App.get_running_app().core.catalogue.in_field(field))

    def _list(self, heading: str, procedures: list[dict[str, Any]]) -> None:
        self.heading = heading
        self.results = [self._row(p) for p in procedures]
        self.state = "results"

    def _row(self, proc: dict[str, Any]) -> dict[str, Any]:
        app = App.get_running_app()
        fee = app.tr("filing.fee", app.lang, amount=money(proc["fee"])) if proc["fee"] else app.tr("filing.free",
                                                                                                    app.lang)
        where = app.tr("filing.kiosk_yes" if proc["kiosk"] else "filing.kiosk_no", app.lang)
        return {"proc_id": proc["id"], "title": proc["name_en" if app.lang == "en" else "name_vi"],
                "detail": f"{where}  ·  {fee}", "kiosk": proc["kiosk"]}

    def open_search(self) -> None:
        self.bundle = []
        self.ids.search_keys.set_text("")
        self.results = []
        self.state = "search"

    def search_changed(self, text: str) -> None:
        catalogue = App.get_running_app().core.catalogue
        hits = catalogue.search(text, SEARCH_RESULTS) if catalogue else []
        self.results = [self._row(p) for p in hits]

    def open_procedure(self, proc_id: str) -> None:
        self.bundle = []
        self.proc = App.get_running_app().core.catalogue.get(proc_id)
        self.message, self.state = "", "detail"

    def take_counter_number(self) -> None:
        app = App.get_running_app()
        counter = self.proc.get("counter", "HD")
        services = {s.code for s in app.core.queue.services()}
        app.screen("queue").take(counter if counter in services else "HD")

    # -- the form ----------------------------------------------------------------------------------------------
    def start_form(self, bundle: bool = False) -> None:
        app = App.get_running_app()
        ids = list(self.bundle) if bundle else [self.proc["id"]]
        app.core.filing.begin(app.core.catalogue, ids)
        self.consent = False
        self._from_review = False
        self._open_step(0)

    def _open_step(self, index: int) -> None:
        flow = App.get_running_app().core.filing
        self._steps = flow.steps()
        self._index = max(0, min(index, len(self._steps) - 1))
        step = self._steps[self._index]
        app = App.get_running_app()
        label = step.field["label_en" if app.lang == "en" else "label_vi"]
        member = step.path.split(".")
        if len(member) == 3:
            label = f"{label} — {app.tr('filing.member', app.lang, n=int(member[1]) + 1)}"
        if step.group_ask:
            members = flow.values.get(step.path, [])
            names = [m.get(step.field["fields"][0]["name"]) or "…" for m in members]
            label = app.tr("filing.group_ask", app.lang, label=label, count=len(members))
            label += "".join(f"\n{n}. {name}" for n, name in enumerate(names, 1))
        self.step_label = label
        self.step_no, self.step_total = self._index + 1, len(self._steps)
        self.step_required = bool(step.field.get("required")) and not step.group_ask
        self.applicant_step = step.path.startswith("applicant_")
        kind = step.field["type"]
        self.step_kind = "group" if step.group_ask else ("choices" if kind in ("select", "checkbox") else "keys")
        if self.step_kind == "keys":
            value = flow.value(step.path)
            keys = self.ids.form_keys
            keys.mode = KEYBOARD_FOR.get(kind, "telex")
            keys.set_text("" if value in (None, "") else display_value(step.field, value, app.lang))
        elif self.step_kind == "choices":
            self._build_choices(step)
        self.ids.form_parts.current = self.step_kind
        self.message = app.tr("filing.date_hint", app.lang) if kind == "date" and not step.group_ask else ""
        self.state = "form"

    def _build_choices(self, step: Step) -> None:
        app = App.get_running_app()
        box = self.ids.choices
        box.clear_widgets()
        current = App.get_running_app().core.filing.value(step.path)
        if step.field["type"] == "checkbox":
            options = [(app.tr("filing.yes", app.lang), True), (app.tr("filing.no", app.lang), False)]
        else:
            options = [(option, option) for option in step.field.get("options", [])]
        for text, value in options:
            button = Factory.ChoiceButton(text=text)
            button.chosen = current == value  # a kv-declared property cannot be passed to the constructor
            button.bind(on_release=lambda _b, v=value: self.choose(v))
            box.add_widget(button)

    def choose(self, value: Any) -> None:
        self._accept(value)

    def next_step(self) -> None:
        """Tiếp tục: store what was typed; a problem is shown at the field and the page stays."""
        step = self._steps[self._index]
        if self.step_kind == "keys":
            self._accept(self.ids.form_keys.text)
        elif self.step_kind == "choices":
            error = App.get_running_app().core.filing.set_input(step, App.get_running_app().core.filing.value(
                step.path))
            self._show_error_or_advance(error)
        else:
            self._advance()

    def _accept(self, raw: Any) -> None:
        error = App.get_running_app().core.filing.set_input(self._steps[self._index], raw)
        self._show_error_or_advance(error)

    def _show_error_or_advance(self, error: str | None) -> None:
        app = App.get_running_app()
        if error:
            key = f"form.error.{error}"
            self.message = app.tr(key, app.lang) if app.tr(key, app.lang) != key else app.tr(
                "form.error.invalid", app.lang)
            return
        self._advance()

    def _advance(self) -> None:
        if self._from_review or self._index + 1 >= len(self._steps):
            self.show_review()
        else:
            self._open_step(self._index + 1)

    def add_member(self) -> None:
        flow = App.get_running_app().core.filing
        group = self._steps[self._index].path
        flow.add_member(group)
        first = f"{group}.{len(flow.values[group]) - 1}."
        self._open_step(next(i for i, s in enumerate(flow.steps()) if s.path.startswith(first)))

    def scan_hint(self) -> None:
        app = App.get_running_app()
        self.message = app.tr("filing.scan_hint", app.lang)

    def take_scan(self, payload: dict[str, Any]) -> bool:
        """In the form, a CCCD fills the applicant; other codes are explained. Elsewhere the app routes scans."""
        if self.state not in ("form", "review"):
            return False
        app = App.get_running_app()
        if payload["kind"] != "cccd":
            self.message = app.tr("filing.cccd_other", app.lang)
            return True
        if not payload.get("valid"):
            self.message = app.tr("filing.cccd_bad", app.lang, problems=", ".join(payload.get("problems", [])))
            return True
        filled = app.core.filing.apply_cccd(payload)
        if self.state == "form":
            self._open_step(self._index)
        else:
            self.show_review()
        self.message = app.tr("filing.cccd_filled", app.lang, count=len(filled))
        return True

    # -- review, submit, receipt -----------------------------------------------------------------------------
    def show_review(self, errors: dict[str, str] | None = None) -> None:
        app = App.get_running_app()
        flow = app.core.filing
        self._steps = flow.steps()
        errors = errors or {}
        self.review_rows = [{"path": path, "label": label, "value": value, "bad": path in errors}
                            for path, label, value in flow.review(app.lang)]
        self._from_review = True
        self.state = "review"

    def edit(self, path: str) -> None:
        index = next(i for i, s in enumerate(self._steps) if s.path == path)
        self._open_step(index)
        self._from_review = True

    def submit(self) -> None:
        app = App.get_running_app()
        problems = app.core.filing.submit(self.consent)
        if not problems:
            self.message, self.state = "", "sending"
            return
        if problems.get("submit") == "storage_full":
            self.message = app.tr("filing.storage_full", app.lang)
            return
        field_problems = {k: v for k, v in problems.items() if k not in ("consent", "submit")}
        self.show_review(field_problems)
        self.message = (app.tr("filing.fix_errors", app.lang, count=len(field_problems)) if field_problems
                        else app.tr("filing.need_consent", app.lang))

    def _filed(self, receipt: FilingReceipt) -> None:
        app = App.get_running_app()
        name = "name_en" if app.lang == "en" else "name_vi"
        self.offline = receipt.offline
        self.receipt_rows = [{"title": item.procedure[name], "code": item.reference,
                              "label": app.tr("receipt.code" if item.delivered else "receipt.local_ref", app.lang,
                                              code=item.reference)} for item in receipt.items]
        self.message = app.tr("filing.printing", app.lang)
        self.state = "done"
        app.core.guide("filed")

    def _printed(self, ok: bool) -> None:
        if not ok and self.state == "done":
            app = App.get_running_app()
            self.message = app.tr("filing.print_failed", app.lang)

    def finish(self) -> None:
        App.get_running_app().go_home()
