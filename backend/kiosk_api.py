"""What kiosks ask the backend — the catalogue, dossiers, fees, booking check-in — and how a kiosk gets its token.

::

    GET  /api/procedures                 public; the catalogue and its life events
    GET  /api/procedures/{proc_id}       public; one procedure · 404
    POST /api/dossiers                   kiosk token, Idempotency-Key; body: :class:`Submission`
         201 the new dossier · 200 the same submission again · 404 unknown procedure · 409 the key with another body
         · 422 a bad phone (the sentence of ``contracts.sms.normalise_phone``), consent without a phone, post
         without an address; this answer (the receipt's) adds the chosen ``result_delivery`` and the ``contact``
         phone masked
         · 503 numbering_full + Retry-After: the agency's 9,999 codes of the day are used up
    GET  /api/dossiers/{code}            kiosk token; status and timeline, the applicant's name masked (never
                                         the phone, the address or how the result comes back) · 404
    POST /api/dossiers/{code}/status     admin token (the dossier system's callback); body: :class:`StatusChange`
                                         · 404 · 409 bad_transition; with consent, the status SMS is queued
    GET  /api/dossiers/{code}/payment    kiosk token; the fee and its VietQR payload (null once paid) · 404
                                         · 409 payments_not_configured: the backend has no bank account
    POST /api/payments/callback          the bank, signing the raw body (HMAC-SHA256 hex in X-Signature)
    POST /api/bookings/{code}/checkin    kiosk token · 404 · 409 {"error": "used" | "too_early" | "too_late"}
                                         (these three: 429 + Retry-After past the look-up limits)
    POST /api/admin/kiosks               admin token; body: :class:`NewKiosk`; 201 {"kiosk_id", "token"}

Every code (path, callback body, ``linked_to``) is made canonical on the way in (``contracts.codes``), so
``bk-…`` and ``BK-…`` are the same booking to the look-up and to the update alike.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, model_validator
from pydantic_core import PydanticCustomError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from backend.store import STATUSES, BackendStore, BadTransition, Invalid, NotFound, NumberingFull
from contracts.codes import Code, canonical_code
from contracts.http import Call, Endpoint, Param, Refused
from contracts.ratelimit import LookupLimit
from contracts.sms import normalise_phone
from contracts.vietqr import build_vietqr, fee_message


def _phone(text: str) -> str:
    try:
        return normalise_phone(text)
    except ValueError as exc:  # the sentence itself, not pydantic's "Value error, …"
        raise PydanticCustomError("phone", str(exc)) from None


class Contact(BaseModel):
    """The citizen's mobile number and whether they agreed to status SMS on the review page."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phone: Annotated[str, StringConstraints(max_length=40), AfterValidator(_phone)] | None = None
    sms_consent: bool = False

    @model_validator(mode="after")
    def _consent_needs_a_number(self) -> Contact:
        if self.sms_consent and not self.phone:
            raise PydanticCustomError("consent", "SMS consent needs a phone number.")
        return self


class ResultDelivery(BaseModel):
    """How the result comes back; a postal address only for post (one given with another method is not kept)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["counter", "post", "electronic"]
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300,
                                              pattern=r"^[^\x00-\x1f\x7f]*$")] | None = None

    @model_validator(mode="after")
    def _post_needs_an_address(self) -> ResultDelivery:
        if self.method == "post" and not self.address:
            raise PydanticCustomError("address", "A result sent by post needs the postal address.")
        return self


class Submission(BaseModel):
    """A dossier as a kiosk files it; the form is checked against the procedure's own schema by the store."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    procedure_id: str
    form: dict[str, Any]
    linked_to: Code | None = None  # the first dossier of a household filing, when this one belongs to it
    contact: Contact | None = None  # for status SMS (issue 20): with consent, SMS at filing, documents, result
    result_delivery: ResultDelivery | None = None  # printed on the receipt; never shown to a look-up by code


class StatusChange(BaseModel):
    """A status the dossier system reports for a dossier (its callback; the reference backend's stand-in)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Literal[STATUSES]  # type: ignore[valid-type]
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class PaymentCallback(BaseModel):
    code: Code


class NewKiosk(BaseModel):
    kiosk_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]


def bank_signature(secret: str | None) -> Any:
    """Refuse (401) a callback body whose HMAC-SHA256 under ``secret`` is not the X-Signature header, and every
    callback when no secret is configured."""

    def check(request: Request, raw: bytes) -> None:
        if not secret:
            raise Refused(401, "payments_not_configured", "this backend has no bank callback secret "
                                                          "(set BACKEND_PAYMENT_SECRET)")
        expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest().encode()
        # headers arrive as latin-1 text: compare bytes, as compare_digest refuses non-ASCII text
        if not hmac.compare_digest(expected, request.headers.get("x-signature", "").encode("latin-1")):
            raise Refused(401, "bad_signature", "the bank callback signature does not match")

    return check


def kiosk_endpoints(store: BackendStore, *, bank_bin: str | None, bank_account: str | None,
                    payment_secret: str | None, lookups: LookupLimit | None = None) -> list[Endpoint]:
    """The kiosk routes; ``lookups`` throttles the routes that answer about a code (dossier, fee, booking)."""

    async def procedures(_call: Call) -> Response:
        return JSONResponse({"procedures": store.procedures(), "life_events": store.life_events()})

    async def procedure(call: Call) -> Response:
        return JSONResponse(store.procedure(call.path["proc_id"]))

    async def submit(call: Call) -> Response:
        dossier, created = store.submit(call.key, call.body.model_dump(exclude_unset=True), call.caller[1])
        return JSONResponse(dossier, status_code=201 if created else 200)

    async def dossier(call: Call) -> Response:
        return JSONResponse(store.status(canonical_code(call.path["code"])))

    async def change_status(call: Call) -> Response:
        return JSONResponse(store.set_status(canonical_code(call.path["code"]), call.body.status, call.body.note))

    async def payment(call: Call) -> Response:
        if not (bank_bin and bank_account):
            raise Refused(409, "payments_not_configured", "this backend has no bank account for fee QR codes "
                                                          "(set BACKEND_BANK_BIN and BACKEND_BANK_ACCOUNT)")
        status = store.status(canonical_code(call.path["code"]))
        qr = build_vietqr(bank_bin, bank_account, status["fee"] or None,
                          fee_message(status["code"])) if status["fee"] and not status["paid"] else None
        return JSONResponse({"code": status["code"], "fee": status["fee"], "paid": status["paid"], "vietqr": qr})

    async def payment_callback(call: Call) -> Response:
        return JSONResponse(store.mark_paid(call.body.code))

    async def check_in(call: Call) -> Response:
        return JSONResponse(store.check_in(canonical_code(call.path["code"])))

    async def create_kiosk(call: Call) -> Response:
        kiosk_id = call.body.kiosk_id
        return JSONResponse({"kiosk_id": kiosk_id, "token": store.add_token("kiosk", kiosk_id)}, status_code=201)

    def numbering_full(exc: NumberingFull) -> Refused:
        # 503, not 4xx: "not today", so the kiosk keeps the filing in its outbox instead of dead-lettering it
        return Refused(503, "numbering_full", str(exc), headers={"Retry-After": str(exc.retry_after_s)})

    def refused_check_in(exc: Exception) -> Refused:
        return Refused(409, str(exc), f"booking cannot be checked in: {exc}")

    return [
        Endpoint("GET", "/api/procedures", procedures, "Procedure catalogue and life events"),
        Endpoint("GET", "/api/procedures/{proc_id}", procedure, "One procedure", errors=(404,)),
        Endpoint("POST", "/api/dossiers", submit, "Submit a dossier (idempotent per Idempotency-Key)", auth="kiosk",
                 idempotent=True, body=Submission, errors=(404, 409, 503),
                 refusals={NotFound: lambda exc: Refused(404, "unknown_procedure", str(exc)),
                           NumberingFull: numbering_full},
                 ok={201: "the new dossier", 200: "repeat of an earlier submission"}),
        Endpoint("GET", "/api/dossiers/{code}", dossier, "Dossier status with timeline (applicant masked)",
                 auth="kiosk", throttle=lookups, errors=(404, 429)),
        Endpoint("POST", "/api/dossiers/{code}/status", change_status,
                 "Record a status the dossier system reports (timeline; status SMS with the citizen's consent)",
                 auth="admin", body=StatusChange, errors=(404, 409),
                 refusals={BadTransition: lambda exc: Refused(409, "bad_transition", str(exc))},
                 ok={200: "the dossier's status"}),
        Endpoint("GET", "/api/dossiers/{code}/payment", payment, "Fee and VietQR payload", auth="kiosk",
                 throttle=lookups, errors=(404, 409, 429)),
        Endpoint("POST", "/api/payments/callback", payment_callback,
                 "Simulated bank callback, signed over its raw body", body=PaymentCallback,
                 signature=bank_signature(payment_secret), errors=(401, 404),
                 params=(Param("X-Signature", {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                               "HMAC-SHA256 of the body under the payment secret, hex", required=True,
                               where="header"),)),
        Endpoint("POST", "/api/bookings/{code}/checkin", check_in, "Check in a booking", auth="kiosk",
                 throttle=lookups, errors=(404, 409, 429), refusals={Invalid: refused_check_in}),
        Endpoint("POST", "/api/admin/kiosks", create_kiosk, "Create a kiosk token", auth="admin", body=NewKiosk,
                 ok={201: "the kiosk's token"}),
    ]
