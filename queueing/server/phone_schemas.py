"""Request bodies of the phone queue API (``phone_api``). A phone number is normalised here
(``contracts.sms.normalise_phone``), so a handler only ever sees ``0912345678``; anything that is not a Vietnamese
mobile number is a 422 naming the field, in the sentence ``normalise_phone`` gives."""

from __future__ import annotations

from pydantic import Field, field_validator

from contracts.sms import normalise_phone
from queueing.server.schemas import _CODE, _Body
from queueing.virtual import CODE_LENGTH, CROCKFORD

CHECKIN_CODE = rf"^[{CROCKFORD}{CROCKFORD.lower()}]{{{CODE_LENGTH}}}$"


class _PhoneBody(_Body):
    phone: str = Field(min_length=1, max_length=32, description="a Vietnamese mobile number, any common spelling")
    service: str = Field(pattern=_CODE, description="service code, e.g. HT")

    @field_validator("phone")
    @classmethod
    def _normalised(cls, value: str) -> str:
        return normalise_phone(value)


class CodeRequest(_PhoneBody):
    """Ask for a one-time code by SMS."""


class PhoneTicketRequest(_PhoneBody):
    otp: str = Field(pattern=r"^[0-9]{6}$", description="the six digits of the SMS")


class CheckInRequest(_Body):
    code: str = Field(pattern=CHECKIN_CODE, description="the 10 characters at the end of the page's QR link")

    @field_validator("code")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class CounterCheckInRequest(_Body):
    number: str = Field(pattern=r"^[A-Za-z]{0,3}[0-9]{1,6}$", description="the number the citizen shows, e.g. A012")

    @field_validator("number")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()
