"""What the filing screen shows, as frozen data already in the citizen's language.

The screen renders these and nothing else: it never reads a procedure, a form field or a receipt itself. There is
one page class per state of the wizard (:mod:`kiosk.filing_wizard` decides which one shows); the functions below
build them from the catalogue and the form, so a test checks every label, member list, error text and review row
without Kivy. Fields have defaults so a screen can hold an empty page of each kind before the first one arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from contracts.forms import display_value
from kiosk.catalogue import Catalogue
from kiosk.filing_delivery import METHODS, Delivery
from kiosk.filing_flow import FilingFlow, FilingReceipt, Step
from kiosk.i18n import catalogue as messages
from kiosk.i18n import tr
from kiosk.receipts import money

# the on-screen keyboard layout each typed field gets (anything else types Vietnamese with Telex)
KEYBOARD_FOR = {"text": "telex", "number": "numeric", "date": "numeric", "phone": "numeric", "cccd": "numeric"}


@dataclass(frozen=True)
class Message:
    """A catalogue key with its values, translated when shown: a language switch re-words a shown message."""

    key: str
    values: tuple[tuple[str, Any], ...] = ()

    def text(self, lang: str) -> str:
        return tr(self.key, lang, **dict(self.values))


def message(key: str, **values: Any) -> Message:
    return Message(key, tuple(values.items()))


def field_error(code: str) -> Message:
    """The message for a form error code (:func:`contracts.forms.check_value`); unknown codes read "invalid"."""
    key = f"form.error.{code}"
    return Message(key if key in messages("vi") else "form.error.invalid")


@dataclass(frozen=True)
class EventTile:
    key: str
    title: str
    hint: str  # the procedures the life event files, " · "-separated


@dataclass(frozen=True)
class ProcedureRow:
    proc_id: str
    title: str
    detail: str  # where it is filed and its fee
    kiosk: bool


@dataclass(frozen=True)
class Choice:
    text: str
    value: Any
    chosen: bool


@dataclass(frozen=True)
class ReviewRow:
    path: str
    label: str
    value: str
    bad: bool


@dataclass(frozen=True)
class ReceiptRow:
    title: str
    code: str
    label: str


@dataclass(frozen=True)
class CataloguePage:
    state: ClassVar[str] = "catalogue"
    events: tuple[EventTile, ...] = ()
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class UnavailablePage:
    """No catalogue yet (offline start without a cached copy): retry, or a number for the help desk."""

    state: ClassVar[str] = "unavailable"


@dataclass(frozen=True)
class ResultsPage:
    state: ClassVar[str] = "results"
    heading: str = ""
    rows: tuple[ProcedureRow, ...] = ()
    bundle: tuple[str, ...] = ()  # procedures a life event files together; empty when one needs the counter
    bundle_text: str = ""
    bundle_hint: str = ""


@dataclass(frozen=True)
class SearchPage:
    state: ClassVar[str] = "search"
    typed: str = ""
    rows: tuple[ProcedureRow, ...] = ()
    no_results: str = ""  # shown under a query that found nothing


@dataclass(frozen=True)
class DetailPage:
    state: ClassVar[str] = "detail"
    proc_id: str = ""
    name: str = ""
    field: str = ""
    fee: str = ""
    days: str = ""
    result_at: str = ""
    documents: str = ""
    counter_only: str = ""
    can_file: bool = False  # True: "start filing"; False: "a number for this counter"
    action: str = ""


@dataclass(frozen=True)
class StepPage:
    """One question of the form (or, for a group, "add another person?" with who was added)."""

    state: ClassVar[str] = "form"
    path: str = ""
    label: str = ""
    optional: str = ""  # "(không bắt buộc)" after an optional question's label, else ""
    step_no: int = 0
    step_total: int = 0
    required: bool = False
    kind: str = "keys"  # keys | choices | group
    keyboard: str = "telex"
    value: str = ""  # the stored answer as the citizen would type it
    choices: tuple[Choice, ...] = ()
    next_text: str = ""
    can_scan: bool = False  # the applicant's own fields: a CCCD scan fills them
    remove_member: str = ""  # on a household member's questions: the button that removes that person


@dataclass(frozen=True)
class ReviewPage:
    """The answers to check, how the result comes back, status SMS, consent to data processing."""

    state: ClassVar[str] = "review"
    rows: tuple[ReviewRow, ...] = ()
    consent: bool = False
    delivery: tuple[Choice, ...] = ()  # at the counter, by post, electronic only: one is chosen
    by_post: bool = False  # the address row shows
    address: str = ""  # where the post goes, or a prompt to type it
    address_bad: bool = False
    sms: bool = False  # status SMS wanted: the number row shows
    sms_phone: str = ""  # the number, or a prompt to type it
    sms_phone_bad: bool = False


@dataclass(frozen=True)
class ContactPage:
    """Typing the post address (Telex keyboard) or the SMS number (number pad), opened from the review."""

    state: ClassVar[str] = "contact"
    item: str = "address"  # address | phone
    label: str = ""
    hint: str = ""
    keyboard: str = "telex"
    value: str = ""


@dataclass(frozen=True)
class SendingPage:
    state: ClassVar[str] = "sending"


@dataclass(frozen=True)
class DonePage:
    state: ClassVar[str] = "done"
    title: str = ""
    rows: tuple[ReceiptRow, ...] = ()
    qr: str = ""  # the first dossier's code, shown as a QR the citizen can photograph
    offline: bool = False
    offline_note: str = ""


Page = (CataloguePage | UnavailablePage | ResultsPage | SearchPage | DetailPage | StepPage | ReviewPage | ContactPage
        | SendingPage | DonePage)


@dataclass(frozen=True)
class FilingView:
    """The whole filing screen: one page and the message over it; for the intent that returned it, whether Back left
    the flow and which ticket request a "take a number" made."""

    page: Page
    message: str = ""
    leave: bool = False  # Back with nothing left to go back to inside filing: the app leaves the screen
    number_request: int | None = None  # the ticket request made (its answer is a ``ticket`` event)

    @property
    def state(self) -> str:
        return self.page.state

    @property
    def takes_scans(self) -> bool:
        """On the form and its review a scanned CCCD fills the applicant; elsewhere the app routes scans."""
        return isinstance(self.page, StepPage | ReviewPage)


def _name(procedure: dict[str, Any], lang: str) -> str:
    return procedure["name_en" if lang == "en" else "name_vi"]


def catalogue_page(catalogue: Catalogue, lang: str) -> CataloguePage:
    events = tuple(EventTile(event.key, event.name(lang), " · ".join(_name(p, lang)
                                                                     for p in catalogue.for_event(event.key)))
                   for event in catalogue.life_events)
    return CataloguePage(events, tuple(catalogue.fields()))


def fee_text(procedure: dict[str, Any], lang: str) -> str:
    return tr("filing.fee", lang, amount=money(procedure["fee"])) if procedure["fee"] else tr("filing.free", lang)


def procedure_row(procedure: dict[str, Any], lang: str) -> ProcedureRow:
    where = tr("filing.kiosk_yes" if procedure["kiosk"] else "filing.kiosk_no", lang)
    return ProcedureRow(procedure["id"], _name(procedure, lang), f"{where}  ·  {fee_text(procedure, lang)}",
                        bool(procedure["kiosk"]))


def results_page(heading: str, procedures: list[dict[str, Any]], lang: str, *, life_event: bool) -> ResultsPage:
    """A life event's or a field's procedures; a life event whose procedures all file here offers them as one."""
    bundle = tuple(p["id"] for p in procedures) if life_event and all(p["kiosk"] for p in procedures) else ()
    return ResultsPage(heading, tuple(procedure_row(p, lang) for p in procedures), bundle,
                       tr("filing.bundle", lang, count=len(bundle)) if bundle else "",
                       tr("filing.bundle_hint", lang, count=len(bundle)) if bundle else "")


def search_page(typed: str, procedures: list[dict[str, Any]], lang: str) -> SearchPage:
    nothing = tr("filing.no_results", lang) if typed.strip() and not procedures else ""
    return SearchPage(typed, tuple(procedure_row(p, lang) for p in procedures), nothing)


def detail_page(procedure: dict[str, Any], lang: str) -> DetailPage:
    kiosk = bool(procedure["kiosk"])
    return DetailPage(
        proc_id=procedure["id"], name=_name(procedure, lang), field=procedure.get("field", ""),
        fee=fee_text(procedure, lang), days=tr("filing.days", lang, days=procedure["days"]),
        result_at=tr("filing.result_at", lang, place=procedure.get("result_en" if lang == "en" else "result_vi", "")),
        documents="\n".join("•  " + doc for doc in procedure.get("documents", [])),
        counter_only="" if kiosk else tr("filing.counter_only", lang), can_file=kiosk,
        action=tr("filing.start" if kiosk else "filing.take_number", lang))


def step_label(flow: FilingFlow, step: Step, lang: str) -> str:
    """The question: "Họ và tên — người thứ 2" inside a group; the group question lists who was added."""
    label = step.field["label_en" if lang == "en" else "label_vi"]
    parts = step.path.split(".")
    if len(parts) == 3:
        return f"{label} — {tr('filing.member', lang, n=int(parts[1]) + 1)}"
    if not step.group_ask:
        return label
    members = flow.value(step.path) or []
    first = step.field["fields"][0]["name"]  # a member's first question names them (their full name)
    names = "".join(f"\n{n}. {member.get(first) or '…'}" for n, member in enumerate(members, 1))
    return tr("filing.group_ask", lang, label=label, count=len(members)) + names


def _choices(field: dict[str, Any], current: Any, lang: str) -> tuple[Choice, ...]:
    if field["type"] == "checkbox":
        options = [(tr("filing.yes", lang), True), (tr("filing.no", lang), False)]
    else:
        options = [(option, option) for option in field.get("options", [])]
    return tuple(Choice(text, value, current == value) for text, value in options)


def step_page(flow: FilingFlow, steps: list[Step], index: int, lang: str) -> StepPage:
    step = steps[index]
    kind = step.field["type"]
    required = bool(step.field.get("required")) and not step.group_ask
    input_kind = "group" if step.group_ask else ("choices" if kind in ("select", "checkbox") else "keys")
    value = flow.value(step.path)
    return StepPage(
        path=step.path, label=step_label(flow, step, lang),
        optional="" if required or step.group_ask else tr("filing.optional", lang),
        step_no=index + 1, step_total=len(steps), required=required, kind=input_kind,
        keyboard=KEYBOARD_FOR.get(kind, "telex"),
        value="" if value in (None, "") or input_kind != "keys" else display_value(step.field, value, lang),
        choices=_choices(step.field, value, lang) if input_kind == "choices" else (),
        next_text=tr("filing.no_more" if step.group_ask else "filing.next", lang),
        can_scan=step.path.startswith("applicant_"),
        remove_member=tr("filing.remove_member", lang) if step.path.count(".") == 2 else "")


def review_page(flow: FilingFlow, bad: set[str], consent: bool, lang: str) -> ReviewPage:
    """``bad`` holds the form paths and the delivery items (``delivery_address``, ``sms_phone``) to fix."""
    delivery = flow.delivery_now()
    return ReviewPage(
        rows=tuple(ReviewRow(path, label, value, path in bad) for path, label, value in flow.review(lang)),
        consent=consent,
        delivery=tuple(Choice(tr(f"delivery.{method}", lang), method, delivery.method == method) for method in METHODS),
        by_post=delivery.method == "post",
        address=delivery.address or tr("filing.address_missing", lang), address_bad="delivery_address" in bad,
        sms=delivery.sms, sms_phone=flow.delivery.typed_phone(flow.values) or tr("filing.sms_phone_missing", lang),
        sms_phone_bad="sms_phone" in bad)


def contact_page(item: str, delivery: Delivery, typed_phone: str, lang: str) -> ContactPage:
    """The address page starts from the address shown on the review, the number page from the number shown."""
    if item == "address":
        return ContactPage("address", tr("filing.address_label", lang), tr("filing.address_hint", lang), "telex",
                           delivery.address)
    return ContactPage("phone", tr("filing.sms_phone_label", lang), tr("filing.sms_phone_hint", lang), "numeric",
                       typed_phone)


def done_page(receipt: FilingReceipt, lang: str) -> DonePage:
    rows = tuple(ReceiptRow(_name(item.procedure, lang), item.reference,
                            tr("receipt.code" if item.delivered else "receipt.local_ref", lang, code=item.reference))
                 for item in receipt.items)
    return DonePage(tr("filing.done_offline" if receipt.offline else "filing.done", lang), rows,
                    rows[0].code if rows else "", receipt.offline,
                    tr("filing.offline_note", lang) if receipt.offline else "")
