"""The filing screen's flow: which page shows, where Back goes and what each touch does.

:class:`FilingWizard` walks a citizen from the catalogue (life events, fields, search) through a procedure's detail
and the form (one question per page, household members one person at a time) to review — where the citizen also says
how the result comes back and whether to get status SMS, typing an address or a number on a page of its own —
consent, sending and the receipt. The screen forwards touches as intents (:data:`INTENTS`, through
``KioskCore.filing_intent``) and renders the :class:`~kiosk.filing_view.FilingView` each one returns. Outcomes that
arrive later — the catalogue loaded, the dossier filed or refused, the receipt printed — are announced as a
``filing_changed`` event, after which the screen asks for the view again; a number for a counter is the core's
ticket request like any other (its answer is a ``ticket`` event). Intents come from the UI thread and outcomes from
workers, so state changes under one lock; nothing here waits for the disk or the network.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec

from kiosk.catalogue import Catalogue
from kiosk.filing_flow import FilingFlow, FilingReceipt, Step
from kiosk.filing_view import (
    FilingView,
    Message,
    Page,
    ResultsPage,
    SendingPage,
    UnavailablePage,
    catalogue_page,
    contact_page,
    detail_page,
    done_page,
    field_error,
    message,
    results_page,
    review_page,
    search_page,
    step_page,
)
from kiosk.scan_routing import ScanRoute, refusal

SEARCH_RESULTS = 6  # what fits above the keyboard
BROWSING = ("catalogue", "results", "search", "detail")
P = ParamSpec("P")


def intent(method: Callable[Concatenate[FilingWizard, P], bool | None]) -> Callable[Concatenate[FilingWizard, P],
                                                                                  FilingView]:
    """Mark a method as something the screen may ask for: it runs under the lock and returns the new view.

    The method returns True when Back found nothing left to go back to inside filing (the app leaves the screen).
    """
    @functools.wraps(method)
    def run(self: FilingWizard, *args: P.args, **kwargs: P.kwargs) -> FilingView:
        with self._lock:
            self._asked = None
            leave = method(self, *args, **kwargs)
            view = self._view(leave=leave is True, number_request=self._asked)
            self._asked = None
            return view

    run.is_intent = True  # type: ignore[attr-defined]
    return run


class FilingWizard:
    """Navigation and page state of the filing screen over one :class:`FilingFlow` (which holds the form)."""

    def __init__(self, flow: FilingFlow, *, catalogue: Callable[[], Catalogue | None], language: Callable[[], str],
                 refresh_catalogue: Callable[[], None], take_number: Callable[[str | None], int | None],
                 guide: Callable[[str], None], subscribe: Callable[[str, Callable[..., None]], None],
                 publish: Callable[..., None]) -> None:
        """
        :param refresh_catalogue: fetch the catalogue again on a worker (announced as a ``catalogue`` event).
        :param take_number: issue a ticket on a worker for a counter's service code (None: the help desk); returns
            the request number its ``ticket`` event will carry, or None while another ticket is being taken.
        :param guide: say a step's spoken guidance.
        """
        self._flow = flow
        self._catalogue = catalogue
        self._lang = language
        self._refresh = refresh_catalogue
        self._take_number = take_number
        self._guide = guide
        self._publish = publish
        self._lock = threading.RLock()
        self._asked: int | None = None  # the ticket request the running intent made
        self._reset()
        subscribe("catalogue", self._catalogue_loaded)
        subscribe("filing", self._filed)
        subscribe("filing_refused", self._refused)
        subscribe("receipt_print", self._printed)

    def _reset(self) -> None:
        self._state = "catalogue"  # one of BROWSING, "form", "review", "contact", "sending", "done"
        self._message: Message | ScanRoute | None = None
        self._listing = ("", "")  # what the results page lists: ("event", key) or ("field", name)
        self._typed = ""  # the search query
        self._proc_id = ""  # the procedure whose detail shows
        self._form_from = "detail"  # where Back from the first question goes: a procedure or a life event's list
        self._index = 0  # the question showing
        self._from_review = False  # a question opened from the review page goes back there when answered
        self._bad: set[str] = set()  # review rows to fix
        self._consent = False
        self._contact = "address"  # what the contact page types: "address" (post) or "phone" (SMS)
        self._undo: Callable[[], None] | None = None  # Back from a contact page left empty undoes the touch opening it
        self._receipt: FilingReceipt | None = None
        self._print_failed = False  # the receipt's printing failed (that may be heard before the receipt)

    # -- the view ------------------------------------------------------------------------------------------------
    def view(self) -> FilingView:
        """What the screen shows now."""
        with self._lock:
            return self._view()

    def _view(self, leave: bool = False, number_request: int | None = None) -> FilingView:
        lang = self._lang()
        return FilingView(self._page(lang), self._message.text(lang) if self._message else "", leave, number_request)

    def _page(self, lang: str) -> Page:
        catalogue = self._catalogue()
        if self._state in BROWSING and catalogue is None:
            return UnavailablePage()
        if self._state == "results" and catalogue is not None:
            return self._results(catalogue, lang) or catalogue_page(catalogue, lang)
        if self._state == "search" and catalogue is not None:
            return search_page(self._typed, catalogue.search(self._typed, SEARCH_RESULTS), lang)
        if self._state == "detail" and catalogue is not None and self._proc_id in catalogue:
            return detail_page(catalogue.get(self._proc_id), lang)
        steps = self._flow.steps()
        if self._state == "form" and self._index < len(steps):
            return step_page(self._flow, steps, self._index, lang)
        if self._state == "review":
            return review_page(self._flow, self._bad, self._consent, lang)
        if self._state == "contact":
            return contact_page(self._contact, self._flow.delivery_now(),
                                self._flow.delivery.typed_phone(self._flow.values), lang)
        if self._state == "done" and self._receipt is not None:
            return done_page(self._receipt, lang)
        if self._state == "sending":
            return SendingPage()
        return catalogue_page(catalogue, lang) if catalogue is not None else UnavailablePage()

    def _results(self, catalogue: Catalogue, lang: str) -> ResultsPage | None:
        """The life event's or field's list; None when a content update took it away."""
        kind, key = self._listing
        if kind == "event":
            event = next((e for e in catalogue.life_events if e.key == key), None)
            return None if event is None else results_page(event.name(lang), catalogue.for_event(key), lang,
                                                           life_event=True)
        procedures = catalogue.in_field(key)
        return results_page(key, procedures, lang, life_event=False) if procedures else None

    # -- browsing the catalogue ----------------------------------------------------------------------------------
    @intent
    def enter(self) -> None:
        """The screen opens: a fresh start, unless a dossier is still being sent (its receipt is on the way)."""
        if self._state != "sending":
            self._reset()

    @intent
    def back(self) -> bool:
        """Back walks back through the questions, then to where the form was started, then out of filing."""
        self._message = None
        if self._state == "form" and self._index > 0:
            self._open_step(self._index - 1)
        elif self._state == "form":
            self._state = self._form_from
        elif self._state == "review":
            self._open_step(len(self._flow.steps()) - 1)
        elif self._state == "contact":
            self._leave_contact()
        elif self._state in ("results", "search", "detail"):
            self._state = "catalogue"
        else:
            return True
        return False

    @intent
    def retry_catalogue(self) -> None:
        self._refresh()

    @intent
    def open_event(self, key: str) -> None:
        self._listing, self._state, self._message = ("event", key), "results", None

    @intent
    def open_field(self, field: str) -> None:
        self._listing, self._state, self._message = ("field", field), "results", None

    @intent
    def open_search(self) -> None:
        self._typed, self._state, self._message = "", "search", None

    @intent
    def search(self, text: str) -> None:
        if self._state == "search":
            self._typed = text

    @intent
    def open_procedure(self, proc_id: str) -> None:
        self._proc_id, self._state, self._message = proc_id, "detail", None

    @intent
    def take_number(self) -> None:
        """A counter-only procedure: a number for the counter that handles it (the help desk if none is open)."""
        catalogue = self._catalogue()
        if self._state == "detail" and catalogue is not None and self._proc_id in catalogue:
            self._ask_number(catalogue.get(self._proc_id).get("counter"))

    @intent
    def help_number(self) -> None:
        """No catalogue: a number for the help desk, where staff file with the citizen."""
        self._ask_number(None)

    def _ask_number(self, counter: str | None) -> None:
        """The core takes the number on a worker; the view returned carries the request its ``ticket`` event
        answers (None: another ticket is being taken, and this tap is ignored)."""
        self._asked, self._message = self._take_number(counter), None

    # -- the form ------------------------------------------------------------------------------------------------
    @intent
    def start_form(self, bundle: bool = False) -> None:
        """Begin the procedure shown (or, with ``bundle``, every procedure of the life event listed)."""
        catalogue = self._catalogue()
        if catalogue is None:
            return
        if bundle:
            listed = self._results(catalogue, self._lang())
            ids, self._form_from = list(listed.bundle if listed else ()), "results"
        else:
            ids, self._form_from = [self._proc_id], "detail"
        try:
            self._flow.begin(catalogue, ids)
        except (KeyError, ValueError):
            return  # counter-only, or gone with a content update: the page shown offers what is possible
        self._bad, self._consent, self._from_review = set(), False, False
        self._open_step(0)

    def _open_step(self, index: int) -> None:
        steps = self._flow.steps()
        if not steps:
            self._show_review(set())
            return
        self._index = max(0, min(index, len(steps) - 1))
        step = steps[self._index]
        self._message = message("filing.date_hint") if step.field["type"] == "date" and not step.group_ask else None
        self._state = "form"

    def _current(self) -> Step | None:
        steps = self._flow.steps()
        return steps[self._index] if self._state == "form" and self._index < len(steps) else None

    @intent
    def answer(self, raw: str) -> None:
        """What was typed for the question showing; a problem shows at the question and the page stays."""
        self._settle(raw)

    @intent
    def choose(self, value: Any) -> None:
        """A choice touched: stored, and on to the next question."""
        self._settle(value)

    @intent
    def next(self) -> None:
        """Tiếp tục without new input: the stored answer is checked (a group question just moves on)."""
        step = self._current()
        if step is not None:
            self._settle(self._flow.value(step.path))

    def _settle(self, answer: Any) -> None:
        step = self._current()
        if step is None:
            return
        error = None if step.group_ask else self._flow.set_input(step, answer)
        if error:
            self._message = field_error(error)
        elif self._from_review or self._index + 1 >= len(self._flow.steps()):
            self._show_review(set())
        else:
            self._open_step(self._index + 1)

    @intent
    def add_member(self) -> None:
        """On a group question: one more person, whose first question opens."""
        step = self._current()
        if step is None or not step.group_ask:
            return
        self._flow.add_member(step.path)
        first = f"{step.path}.{len(self._flow.value(step.path)) - 1}."
        self._open_step(next(i for i, s in enumerate(self._flow.steps()) if s.path.startswith(first)))

    @intent
    def remove_member(self) -> None:
        """On one of a person's questions: that person leaves the list (added by mistake); the group question
        shows again with who is left."""
        step = self._current()
        if step is None or step.path.count(".") != 2:
            return
        group, index, _field = step.path.split(".")
        self._flow.remove_member(group, int(index))
        self._open_step(next(i for i, s in enumerate(self._flow.steps()) if s.group_ask and s.path == group))

    @intent
    def scan_hint(self) -> None:
        self._message = message("filing.scan_hint")

    @intent
    def scan(self, payload: dict[str, Any]) -> None:
        """A scan on the form or its review: a valid CCCD fills the applicant; anything else is explained."""
        if self._state not in ("form", "review"):
            return
        if payload.get("kind") != "cccd":
            self._message = message("filing.cccd_other")
            return
        if not payload.get("valid"):
            self._message = refusal(payload, "filing.cccd_bad")  # its problems worded in the citizen's language
            return
        filled = self._flow.apply_cccd(payload)
        if self._state == "form":
            self._open_step(self._index)
        else:
            self._show_review(set())
        self._message = message("filing.cccd_filled", count=len(filled))

    # -- review, submit, receipt ---------------------------------------------------------------------------------
    def _show_review(self, bad: set[str]) -> None:
        self._bad, self._from_review, self._state, self._message = bad, True, "review", None

    @intent
    def edit(self, path: str) -> None:
        """A review row touched: its question opens, and answering it returns to the review."""
        index = next((i for i, s in enumerate(self._flow.steps()) if s.path == path), None)
        if self._state == "review" and index is not None:
            self._open_step(index)
            self._from_review = True

    @intent
    def choose_delivery(self, method: str) -> None:
        """At the counter, by post or electronic only; by post with no address yet opens the address page."""
        if self._state != "review":
            return
        before = self._flow.delivery_now().method
        try:
            self._flow.choose_delivery(method)
        except ValueError:
            return  # not a method this kiosk offers: nothing changes
        self._bad.discard("delivery_address")
        if method == "post" and "delivery_address" in self._flow.delivery.problems(self._flow.values):
            self._open_contact("address", undo=lambda: self._flow.choose_delivery(before))

    @intent
    def edit_address(self) -> None:
        """The post address row touched: the Telex keyboard opens with the address shown."""
        if self._state == "review" and self._flow.delivery_now().method == "post":
            self._open_contact("address")

    @intent
    def toggle_sms(self) -> None:
        """Status SMS on or off; switched on without a usable mobile number, the number pad opens."""
        if self._state != "review":
            return
        wanted = not self._flow.delivery_now().sms
        self._flow.delivery.set_sms(wanted)
        self._bad.discard("sms_phone")
        if wanted and "sms_phone" in self._flow.delivery.problems(self._flow.values):
            self._open_contact("phone", undo=lambda: self._flow.delivery.set_sms(False))
            if self._flow.delivery.typed_phone(self._flow.values):
                self._message = message("filing.sms_bad_phone")  # the form's number is not a mobile one

    @intent
    def edit_sms_phone(self) -> None:
        """The SMS number row touched: the number pad opens with the number shown."""
        if self._state == "review" and self._flow.delivery_now().sms:
            self._open_contact("phone")

    def _open_contact(self, item: str, undo: Callable[[], None] | None = None) -> None:
        self._contact, self._undo, self._state, self._message = item, undo, "contact", None

    def _leave_contact(self) -> None:
        """Back: nothing typed is kept; a switch to post or SMS that still lacks its address or number is undone
        (the citizen changed their mind), one that has them stays."""
        item = "delivery_address" if self._contact == "address" else "sms_phone"
        if self._undo is not None and item in self._flow.delivery.problems(self._flow.values):
            self._undo()
        self._undo = None
        self._show_review(self._bad - {item})

    @intent
    def save_contact(self, raw: str) -> None:
        """The address or number typed: kept and back to the review, or the page stays and says what is wrong."""
        if self._state != "contact":
            return
        if self._contact == "address":
            error = self._flow.delivery.set_address(raw)
            problem = field_error(error) if error else None
        else:
            problem = message("filing.sms_bad_phone") if self._flow.delivery.set_phone(raw) else None
        if problem is not None:
            self._message = problem
            return
        self._undo = None
        self._show_review(self._bad - {"delivery_address" if self._contact == "address" else "sms_phone"})

    @intent
    def toggle_consent(self) -> None:
        if self._state == "review":
            self._consent = not self._consent

    @intent
    def submit(self) -> None:
        """Gửi hồ sơ: problems are marked on the review; else the dossier is sent on a worker (one at a time)."""
        if self._state != "review":
            return  # a second tap while sending files nothing twice
        problems = self._flow.submit(self._consent)
        if not problems:
            self._state, self._message, self._print_failed = "sending", None, False
            return
        if "submit" in problems:
            return  # still filing the previous tap
        fields = {path for path in problems if path != "consent"}
        self._show_review(fields)  # form paths and delivery items alike are marked on the review
        self._message = message("filing.fix_errors", count=len(fields)) if fields else message("filing.need_consent")

    def _catalogue_loaded(self, available: bool) -> None:
        with self._lock:
            browsing = self._state in BROWSING
        if browsing:
            self._publish("filing_changed")

    def _filed(self, receipt: FilingReceipt) -> None:
        with self._lock:
            if self._state != "sending":
                return  # the session ended meanwhile: the receipt printed, the next citizen sees nothing of it
            self._state, self._receipt = "done", receipt
            self._message = message("filing.print_failed" if self._print_failed else "filing.printing")
        self._guide("filed")
        self._publish("filing_changed")

    def _refused(self, reason: str) -> None:
        with self._lock:
            if self._state == "sending":
                self._show_review(set())
                self._message = message(f"filing.{reason}")
        self._publish("filing_changed")

    def _printed(self, ok: bool, reason: str) -> None:
        with self._lock:
            if ok or self._state not in ("sending", "done"):
                return
            self._print_failed = True
            if self._state == "done":
                self._message = message("filing.print_failed")
        self._publish("filing_changed")

    def forget(self) -> None:
        """Session end: back to the catalogue; the receipt shown (dossier codes) is dropped with the form."""
        with self._lock:
            self._reset()

    def do(self, name: str, *args: Any) -> FilingView:
        """Run the intent called ``name``.

        :raises ValueError: ``name`` is not one of :data:`INTENTS`.
        """
        if name not in INTENTS:
            raise ValueError(f"unknown filing intent {name!r}")
        return getattr(self, name)(*args)


INTENTS = frozenset(name for name, member in vars(FilingWizard).items() if getattr(member, "is_intent", False))
