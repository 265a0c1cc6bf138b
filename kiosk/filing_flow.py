"""Nộp hồ sơ: one procedure (or a life-event bundle) from form to printed receipt.

The form is walked one field per step, so each page holds one question and a large keyboard. Values live in this
object only (the citizen's session) and are wiped with it. Submitting commits every dossier to the outbox first
(that is the promise the receipt makes), then tries to deliver at once: online, the receipt carries the
national dossier codes, their lookup QR and a VietQR for any fee; offline, the local references, which lookups
accept, and a note that the dossier will be sent when the network is back. A bundle (e.g. a birth: birth
registration, permanent residence, child health insurance) is filled once and filed as linked dossiers with one
receipt listing all codes. How the result comes back and whether the citizen wants status SMS
(:mod:`kiosk.filing_delivery`) go with every dossier of the filing and onto the receipt.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from config.localtime import LOCAL_TZ
from contracts.forms import check_form, check_value, display_value, merge_schemas, parse_input
from contracts.storage import StorageFull
from contracts.text import mask_name
from contracts.workdays import add_working_days
from kiosk.backend_client import BackendClient, BackendError
from kiosk.catalogue import Catalogue
from kiosk.filing_delivery import FORM_BY_POST, Delivery, DeliveryChoice
from kiosk.outbox import Outbox

log = logging.getLogger(__name__)

# CCCD QR field → the applicant fields it fills (the forms use these names for the person filing).
CCCD_FIELDS = {"name": "applicant_name", "id": "applicant_id", "dob": "applicant_dob",
               "address": "applicant_address", "gender": "applicant_gender"}


@dataclass(frozen=True)
class Step:
    """One page of the wizard: a field (``path`` is ``members.0.member_name`` inside groups) or a group question."""

    field: dict[str, Any]
    path: str
    group_ask: bool = False


@dataclass(frozen=True)
class ReceiptItem:
    procedure: dict[str, Any]
    reference: str  # national dossier code once delivered, else the kiosk's local reference
    delivered: bool
    received_at: dt.datetime
    due: dt.date
    fee: int
    vietqr: str | None = None


@dataclass(frozen=True)
class FilingReceipt:
    applicant: str
    items: list[ReceiptItem] = field(default_factory=list)
    delivery: Delivery = Delivery()  # how the result comes back; the SMS number is printed masked

    @property
    def offline(self) -> bool:
        return not all(item.delivered for item in self.items)


class FilingFlow:
    def __init__(self, outbox: Outbox, client: Callable[[], BackendClient | None],
                 print_receipt: Callable[[FilingReceipt], None], publish: Callable[..., None],
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        self._outbox = outbox
        self._client = client
        self._print = print_receipt
        self._publish = publish
        self._clock = clock or (lambda: dt.datetime.now(LOCAL_TZ))
        self.procedures: list[dict[str, Any]] = []
        self.schema: list[dict[str, Any]] = []
        self.values: dict[str, Any] = {}
        self.delivery = DeliveryChoice()
        self._keys: list[str] = []
        self._submitting = threading.Lock()

    # -- starting ------------------------------------------------------------------------------------------------
    def begin(self, catalogue: Catalogue, proc_ids: list[str]) -> None:
        """Start filing one procedure, or several linked ones sharing one form; refuses non-kiosk procedures."""
        procedures = [catalogue.get(pid) for pid in proc_ids]
        refused = [p["id"] for p in procedures if not p["kiosk"]]
        if refused or not procedures:
            raise ValueError(f"not filed at kiosks: {', '.join(refused) or 'nothing chosen'}")
        self.procedures = procedures
        self.schema = merge_schemas([p["form"] for p in procedures])
        self.values = {}
        self.delivery = DeliveryChoice()
        self._keys = [uuid.uuid4().hex for _ in procedures]  # stable per filing: a double tap files once

    def forget(self) -> None:
        """Session end: the form and the delivery answers (personal data) are dropped from memory."""
        self.procedures, self.schema, self.values, self._keys = [], [], {}, []
        self.delivery = DeliveryChoice()

    # -- the wizard ------------------------------------------------------------------------------------------
    def steps(self) -> list[Step]:
        """Pages in order; a group contributes its members' fields and then "add another?"."""
        pages: list[Step] = []
        for item in self.schema:
            if item["type"] != "group":
                pages.append(Step(item, item["name"]))
                continue
            for index, _member in enumerate(self.values.get(item["name"], [])):
                pages += [Step(sub, f"{item['name']}.{index}.{sub['name']}") for sub in item["fields"]]
            pages.append(Step(item, item["name"], group_ask=True))
        return pages

    def value(self, path: str) -> Any:
        parts = path.split(".")
        if len(parts) == 3:
            members = self.values.get(parts[0], [])
            index = int(parts[1])
            return members[index].get(parts[2]) if index < len(members) else None
        return self.values.get(path)

    def set_input(self, step: Step, raw: Any) -> str | None:
        """Store what was typed or chosen (as its canonical value); returns the error code for that field."""
        value = parse_input(step.field, raw) if isinstance(raw, str) else raw
        parts = step.path.split(".")
        if len(parts) == 3:
            self.values[parts[0]][int(parts[1])][parts[2]] = value
        else:
            self.values[step.path] = value
        if step.path == FORM_BY_POST:
            self.delivery.follow_form()  # the form's "by post?" answered again: the review's choice follows it
        return check_value(step.field, value, lambda: self._clock().date())

    def add_member(self, group: str) -> None:
        self.values.setdefault(group, []).append({})

    def remove_member(self, group: str, index: int) -> None:
        members = self.values.get(group, [])
        if 0 <= index < len(members):
            del members[index]

    def apply_cccd(self, payload: dict[str, Any]) -> list[str]:
        """Fill the applicant fields this form has from a CCCD read; returns the filled field names.

        A card that fails its checks fills nothing: the screen says what was wrong (``payload["problems"]``).
        """
        if payload.get("kind") != "cccd" or not payload.get("valid"):
            return []
        names = {item["name"]: item for item in self.schema}
        filled = []
        for key, name in CCCD_FIELDS.items():
            if name in names and payload.get(key):
                self.set_input(Step(names[name], name), payload[key])
                filled.append(name)
        return filled

    def errors(self) -> dict[str, str]:
        """Every problem across the linked procedures' forms, by field path, and the delivery answers'."""
        found: dict[str, str] = {}
        today = lambda: self._clock().date()  # noqa: E731
        for procedure in self.procedures:
            found.update(check_form(procedure["form"], self._form_for(procedure), today))
        found.update(self.delivery.problems(self.values))
        return found

    # -- how the result comes back (the review page) ---------------------------------------------------------------
    def delivery_now(self) -> Delivery:
        """The delivery answers as the dossier would carry them now."""
        return self.delivery.resolve(self.values)

    def choose_delivery(self, method: str) -> None:
        """:raises ValueError: not one of :data:`kiosk.filing_delivery.METHODS`."""
        self.delivery.choose(method, self.values, any(item["name"] == FORM_BY_POST for item in self.schema))

    def review(self, lang: str) -> list[tuple[str, str, str]]:
        """(path, label, shown value) for the review page, group members included."""
        label = "label_en" if lang == "en" else "label_vi"
        rows = []
        for step in self.steps():
            if step.group_ask:
                continue
            rows.append((step.path, step.field[label], display_value(step.field, self.value(step.path), lang)))
        return rows

    def _form_for(self, procedure: dict[str, Any]) -> dict[str, Any]:
        names = {item["name"] for item in procedure["form"]}
        return {name: value for name, value in self.values.items() if name in names and value not in (None, "")}

    # -- submitting ----------------------------------------------------------------------------------------------
    def submit(self, consent: bool) -> dict[str, str]:
        """Validate, then commit, deliver and print on a worker; returns errors (empty when taken).

        Only the checks run on the caller's (the UI) thread: the outbox commit writes to disk and delivery to the
        network. The outcome arrives as a ``filing`` event with ``receipt`` (a :class:`FilingReceipt`), or as a
        ``filing_refused`` event when the commit failed — ``reason`` ``"storage_full"`` for a full disk,
        ``"save_failed"`` for any other fault — nothing was filed, so no receipt may be printed.
        """
        problems = self.errors()
        if not consent:
            problems["consent"] = "required"
        if problems or not self._submitting.acquire(blocking=False):
            return problems or {"submit": "busy"}
        delivery = self.delivery_now()
        bodies = [{"procedure_id": p["id"], "form": self._form_for(p), **delivery.body_fields()}
                  for p in self.procedures]
        for body in bodies[1:]:
            body["linked_to"] = self._keys[0]  # one bundle id, known before anything is committed
        applicant = mask_name(self.values.get("applicant_name")) or ""
        threading.Thread(target=self._file, args=(list(self.procedures), list(self._keys), bodies, applicant, delivery),
                         name="filing-submit", daemon=True).start()
        return {}

    def _file(self, procedures: list[dict[str, Any]], keys: list[str], bodies: list[dict[str, Any]],
              applicant: str, delivery: Delivery) -> None:
        """Worker: the whole bundle into the outbox (or nothing), then deliver and print; one outcome event."""
        receipt: FilingReceipt | None = None
        refused = "save_failed"
        try:
            refs = self._outbox.add_all(list(zip(keys, bodies)))
            receipt = self._deliver_and_print(procedures, keys, refs, applicant, delivery)
        except StorageFull:
            refused = "storage_full"  # logged by the outbox; the citizen is told that nothing was filed
        except Exception as exc:  # noqa: BLE001 — a damaged outbox, a bug: the citizen must not wait forever
            log.error("filing: the dossier could not be saved: %s", type(exc).__name__)
        finally:
            self._submitting.release()  # before the outcome: whoever hears it may file again at once
        if receipt is None:
            self._publish("filing_refused", reason=refused)
        else:
            self._publish("filing", receipt=receipt)

    def _deliver_and_print(self, procedures: list[dict[str, Any]], keys: list[str], refs: list[str],
                           applicant: str, delivery: Delivery) -> FilingReceipt:
        client = self._client()
        if client is not None:
            try:
                self._outbox.deliver_once(client)
            except BackendError:
                pass  # stays in the outbox; the sender thread retries
        now = self._clock()
        receipt = FilingReceipt(applicant, [self._receipt_item(client, procedure, key, ref, now)
                                            for procedure, key, ref in zip(procedures, keys, refs)], delivery)
        self._print(receipt)
        return receipt

    def _receipt_item(self, client: BackendClient | None, procedure: dict[str, Any], key: str, ref: str,
                      now: dt.datetime) -> ReceiptItem:
        item = self._outbox.find(key) or {}
        code = item.get("code")
        due = add_working_days(now.date(), int(procedure["days"]))
        vietqr = None
        if code and client is not None and procedure["fee"]:
            try:
                vietqr = client.payment(code).get("vietqr")
            except BackendError:
                vietqr = None  # the fee can still be paid at the counter; the receipt says how much
        return ReceiptItem(procedure, code or ref, bool(code), now, due, int(procedure["fee"]), vietqr)
