"""A stand-in eSMS.vn server (Starlette) for tests of :class:`contracts.sms.EsmsGateway` over real HTTP.

It speaks the provider's JSON protocol on the provider's path: checks the ApiKey/SecretKey, the phone and the
content, records each accepted message and answers ``{"CodeResult": "100", "SMSID": …}``; a repeated RequestId
gets the first answer again without a second message, as the provider promises. Like a printer simulator with
fault commands, a test can tell it to refuse with any CodeResult, to answer an HTTP status, or to hang before
answering, and then to behave again.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from contracts.sms import ESMS_OK, ESMS_PATH, ESMS_REFUSALS


@dataclass
class EsmsSimulator:
    """The simulated provider's state and app; the fault fields apply to every request until changed."""

    api_key: str = "sim-api-key"
    secret_key: str = "sim-secret-key"
    fail_code: str | None = None  # answer this CodeResult instead of sending
    http_status: int | None = None  # answer this HTTP status (e.g. 503) with no eSMS body
    hang_s: float = 0.0  # wait this long before answering (a slow or stuck provider)
    messages: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0  # every POST seen, refused or not
    _answered: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def behave(self) -> None:
        """Stop every fault: send again, answer at once."""
        self.fail_code, self.http_status, self.hang_s = None, None, 0.0

    @cached_property
    def app(self) -> Starlette:
        return Starlette(routes=[Route(ESMS_PATH, self._send, methods=["POST"]),
                                 Route(ESMS_PATH.rstrip("/"), self._send, methods=["POST"])])

    async def _send(self, request: Request) -> JSONResponse:
        with self._lock:
            self.requests += 1
        if self.hang_s:
            await asyncio.sleep(self.hang_s)
        if self.http_status:
            return JSONResponse({"Message": "simulated server error"}, status_code=self.http_status)
        try:
            body = await request.json()
        except ValueError:
            return _refuse("118", "Request body is not JSON")
        if not isinstance(body, dict):
            return _refuse("118", "Request body is not an object")
        if body.get("ApiKey") != self.api_key or body.get("SecretKey") != self.secret_key:
            return _refuse("101", "Authorize Failed")
        if self.fail_code:
            return _refuse(self.fail_code, ESMS_REFUSALS.get(self.fail_code, "Simulated failure"))
        phone, content = body.get("Phone"), body.get("Content")
        if not (isinstance(phone, str) and phone.isdigit() and len(phone) == 10):
            return _refuse("118", "Phone is not valid")
        if not (isinstance(content, str) and content):
            return _refuse("118", "Content is empty")
        return JSONResponse({"CodeResult": ESMS_OK, "CountRegenerate": 0, "SMSID": self._record(body)})

    def _record(self, body: dict[str, Any]) -> str:
        """The SMSID for ``body``: a new message, or the first answer to a RequestId seen before."""
        request_id = str(body.get("RequestId") or "")
        with self._lock:
            if request_id and request_id in self._answered:
                return self._answered[request_id]
            sms_id = uuid.uuid4().hex
            self.messages.append({"phone": body["Phone"], "text": body["Content"], "request_id": request_id,
                                  "brandname": body.get("Brandname"), "sms_type": body.get("SmsType"),
                                  "is_unicode": body.get("IsUnicode"), "sms_id": sms_id})
            if request_id:
                self._answered[request_id] = sms_id
            return sms_id


def _refuse(code: str, message: str) -> JSONResponse:
    return JSONResponse({"CodeResult": code, "ErrorMessage": message})
