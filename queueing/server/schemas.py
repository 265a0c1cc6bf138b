"""Request bodies of the branch queue API, validated with pydantic; their JSON schemas feed ``/openapi.json``.

``invalid_body`` turns every way a body can be wrong into one :class:`BadRequest` with a one-line message naming
the field, so a kiosk log or a curl user sees what to fix rather than a traceback.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from contracts.http import Refused
from queueing.server.wire import OFFLINE_PREFIX

MAX_BODY = 64 * 1024
MAX_BLOCK = 100  # numbers per lease: a kiosk leases 10 at a time; a token cannot burn the day's cap in one go
_CODE = r"^[A-Z0-9]{1,8}$"
_REQUEST_ID = r"^[\x21-\x7e]{1,128}$"      # printable ASCII without spaces: kiosks make them from random hex
_OFFLINE_REQUEST_ID = rf"^{OFFLINE_PREFIX}[\x21-\x7e]{{1,126}}$"
_KIOSK_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"


class BadRequest(Refused):
    def __init__(self, status: int, message: str, code: str = "bad_request") -> None:
        super().__init__(status, code, message)


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TicketRequest(_Body):
    service: str = Field(pattern=_CODE, description="service code, e.g. HT")
    request_id: str = Field(pattern=_REQUEST_ID, description="one per citizen tap; a repeat returns the same ticket")
    priority: str | None = Field(default=None, description="priority category code, e.g. elderly")
    booking_code: str | None = Field(default=None, max_length=64)
    kiosk_id: str | None = Field(default=None, pattern=_KIOSK_ID, description="ignored: the token names the kiosk")


class BlockRequest(_Body):
    service: str = Field(pattern=_CODE)
    size: int = Field(ge=1, le=MAX_BLOCK, description="numbers wanted; fewer are granted near the daily cap")
    holder: str | None = Field(default=None, pattern=_KIOSK_ID, description="ignored: the token names the kiosk")
    day: date | None = Field(default=None, description="local day of the numbers: today (another day is refused)")


class OfflineTicketRequest(_Body):
    block_id: str = Field(min_length=1, max_length=64)
    service: str = Field(pattern=_CODE)
    seq: int = Field(ge=0)
    request_id: str = Field(pattern=_OFFLINE_REQUEST_ID, description=f"{OFFLINE_PREFIX}<the kiosk's request id>")
    issued_at: AwareDatetime = Field(description="when the kiosk printed it, with UTC offset")
    priority: str | None = None
    booking_code: str | None = Field(default=None, max_length=64)


class LoginRequest(_Body):
    password: str = Field(min_length=1, max_length=128)


class CallNextRequest(_Body):
    services: list[str] | None = Field(default=None, description="default: the services configured for the counter")


class TransferRequest(_Body):
    to_service: str = Field(pattern=_CODE)


def _field_problem(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "string_pattern_mismatch":
        message = f"has an invalid format (expected {error['ctx']['pattern']})"
    return f"{where}: {message}" if where else message


def invalid_body(exc: ValidationError) -> BadRequest:
    """400 for a body that is not JSON (or nested too deep) or not a JSON object, 422 naming the first bad fields."""
    errors = exc.errors()
    first = errors[0]
    if first["type"] == "json_invalid":
        reason = first.get("ctx", {}).get("error", first["msg"])
        return BadRequest(400, f"request body is not valid JSON ({reason})", "invalid_json")
    if first["type"] == "model_type" and not first["loc"]:
        return BadRequest(400, "request body must be a JSON object", "invalid_json")
    return BadRequest(422, "; ".join(_field_problem(error) for error in errors[:3]), "invalid_field")
