"""How a filing's result comes back, and whether the citizen wants its status by SMS (the review page asks both).

The result comes back at the counter (the default), by post to an address, or as an electronic copy only. The
address starts as the form's own (``applicant_address``, usually read from the CCCD's permanent address) and the
SMS number as the form's phone, so most citizens confirm rather than type; SMS is off until the citizen ticks it
(consent, Decree 13/2023). Both are personal data: they live in the :class:`DeliveryChoice` of the filing session,
go into the outbox with the dossier (the backend's ``result_delivery`` and ``contact`` fields) and are wiped with
the rest of the session.

A form that asks its own "by post?" question (``by_post``) and the review's choice never disagree: answering one
sets the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts.forms import check_value, parse_input
from contracts.sms import mask_phone, normalise_phone

METHODS = ("counter", "post", "electronic")
FORM_ADDRESS = "applicant_address"  # the form field the post address starts from
FORM_PHONE = "phone"  # the form field the SMS number starts from
FORM_BY_POST = "by_post"  # a procedure's own "result by post?" checkbox
# the address is checked like a required text answer of the form (length, no control characters)
ADDRESS_FIELD: dict[str, Any] = {"type": "text", "required": True}


@dataclass(frozen=True)
class Delivery:
    """What was chosen, as the dossier carries it; ``phone`` is canonical (``0912345678``) when it is valid."""

    method: str = "counter"
    address: str = ""
    sms: bool = False
    phone: str = ""

    @property
    def masked_phone(self) -> str:
        """The SMS number as a receipt or a screen may show it (``091****678``)."""
        return mask_phone(self.phone) if self.phone else ""

    def body_fields(self) -> dict[str, Any]:
        """The submission's ``result_delivery`` (always: the counter is a choice too) and, with consent only,
        its ``contact``."""
        fields: dict[str, Any] = {"result_delivery": {"method": self.method}}
        if self.method == "post":
            fields["result_delivery"]["address"] = self.address
        if self.sms:
            fields["contact"] = {"phone": self.phone, "sms_consent": True}
        return fields


def check_address(raw: str) -> tuple[str, str | None]:
    """The address as it will be stored, and the form error code for it (None when it will do)."""
    address = parse_input(ADDRESS_FIELD, raw)
    return address, check_value(ADDRESS_FIELD, address)


def check_phone(raw: str) -> tuple[str, str | None]:
    """The canonical mobile number and None, or what was typed and ``bad_phone`` (SMS reach mobiles only)."""
    try:
        return normalise_phone(raw), None
    except ValueError:
        return raw.strip(), "bad_phone"


class DeliveryChoice:
    """The citizen's answers on the review page; what was not touched follows the form's answers."""

    def __init__(self) -> None:
        self._method: str | None = None  # None: not chosen, so the form's by_post (or the counter) decides
        self._address: str | None = None  # None: not typed, so the form's address shows
        self._sms = False
        self._phone: str | None = None  # None: not typed, so the form's phone shows

    def resolve(self, values: dict[str, Any]) -> Delivery:
        """What the dossier will carry, given the form's answers ``values``."""
        method = self._method or ("post" if values.get(FORM_BY_POST) is True else "counter")
        address = self._address if self._address is not None else str(values.get(FORM_ADDRESS) or "")
        phone = check_phone(self.typed_phone(values))[0] if self._sms else ""  # canonical once valid
        return Delivery(method, address if method == "post" else "", self._sms, phone)

    def problems(self, values: dict[str, Any]) -> dict[str, str]:
        """Error codes by review item (``delivery_address``, ``sms_phone``): what stops the filing."""
        found: dict[str, str] = {}
        delivery = self.resolve(values)
        if delivery.method == "post":
            error = check_address(delivery.address)[1]
            if error:
                found["delivery_address"] = error
        if delivery.sms and check_phone(self.typed_phone(values))[1]:
            found["sms_phone"] = "bad_phone"
        return found

    def choose(self, method: str, values: dict[str, Any], has_by_post: bool) -> None:
        """A method touched; a form asking "by post?" gets the same answer.

        :raises ValueError: not one of :data:`METHODS`.
        """
        if method not in METHODS:
            raise ValueError(f"unknown result delivery {method!r}")
        self._method = method
        if has_by_post:
            values[FORM_BY_POST] = method == "post"

    def follow_form(self) -> None:
        """The form's "by post?" was answered again: the method follows it."""
        self._method = None

    def set_address(self, raw: str) -> str | None:
        """Keep the typed address if it will do; returns its error code otherwise (nothing is kept)."""
        address, error = check_address(raw)
        if error is None:
            self._address = address
        return error

    def set_sms(self, on: bool) -> None:
        self._sms = on

    def set_phone(self, raw: str) -> str | None:
        """Keep the typed number (canonical) if it is a Vietnamese mobile; returns ``bad_phone`` otherwise."""
        phone, error = check_phone(raw)
        if error is None:
            self._phone = phone
        return error

    def typed_phone(self, values: dict[str, Any]) -> str:
        """The number the phone page starts from: the one typed before, else the form's."""
        return self._phone if self._phone is not None else str(values.get(FORM_PHONE) or "")
