"""One way to declare an HTTP route, for both servers: who may call it, what body it takes, how it refuses.

A route is an :class:`Endpoint`: method, path, the role that may call it, whether it needs an Idempotency-Key,
its body (a pydantic model, or raw bytes of a media type) with a size cap, and what ``/openapi.json`` says about
it. :func:`bind` turns it into a Starlette route that, before the handler runs:

1. authenticates the caller for the role (the server's ``authenticate``: 401, or 403 for a token without the role),
   then applies the route's throttle, if any (429 with Retry-After: ``contracts.ratelimit``);
2. checks the ``Idempotency-Key`` header (400) when the route is idempotent;
3. reads the body in chunks and refuses with 413 as soon as it passes the cap, so a huge upload is never buffered
   (nor verified, nor parsed);
4. checks a signature over the raw body when the route has one (bank callbacks sign the bytes they send);
5. refuses JSON nested deeper than :data:`MAX_JSON_DEPTH`, then validates it against the body model; the server
   words the 400/422 (bad JSON, deep nesting, bad fields).

Handlers raise :class:`Refused` for a deliberate 4xx, or a domain exception the server (or the route) maps to one;
either way the client gets the server's one error shape. What differs between the servers (the error body, the
roles, the wording of a bad body) is their :class:`HttpStyle`; everything else is here, once.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PUBLIC = "public"
IDEMPOTENCY_KEY = {"min_length": 8, "max_length": 128}
# No body of either server nests deeper than a few levels (a form's household list is 3); 32 leaves room and keeps
# any code walking a body far from Python's recursion limit (pydantic's own parser stops near 200).
MAX_JSON_DEPTH = 32
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]")
_ASCII_DIGITS = re.compile(r"[0-9]{1,20}")


class Refused(Exception):
    """A deliberate 4xx: status, a machine code, one line for people; ``extra`` adds fields to the error body,
    ``headers`` to the response."""

    def __init__(self, status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra
        self.headers = dict(headers or {})  # response headers, e.g. a 429's Retry-After


Translate = Callable[[Exception], Refused]


def unstorable(code: str) -> Translate:
    """Map a store's ``data_errors`` (a value its engine cannot hold: PostgreSQL refuses a NUL in a text) to a 422:
    it is the caller's input, never a 500. The driver's text stays out of the answer (it may quote the value)."""
    return lambda _exc: Refused(422, code, "a value the database cannot keep (a NUL character, or a number out of "
                                           "range)")


def refusal(status: int, code: str) -> Translate:
    """Map a domain exception to a refusal whose message is the exception's own text."""
    return lambda exc: Refused(status, code, str(exc))


@dataclass(frozen=True)
class Role:
    """A caller role as OpenAPI shows it: its bearer security scheme and the statuses authentication answers."""

    scheme: str
    refuses: tuple[int, ...] = (401,)


@dataclass(frozen=True)
class HttpStyle:
    """How one server speaks HTTP: its error body, its roles, its wording of a bad body, its domain errors.

    :param error_body: the JSON body of a refusal (each server has one shape, documented as ``error_schema``).
    :param authenticate: ``(request, role) → caller`` for a role of ``roles``; raises :class:`Refused`.
    :param invalid_body: the refusal for a body that is not JSON, not an object, or fails its model.
    :param too_large: the code of a 413.
    :param errors: domain exception → refusal, for every route (a route's own ``refusals`` come first).
    """

    error_body: Callable[[Refused], dict[str, Any]]
    error_schema: dict[str, Any]
    authenticate: Callable[[Request, str], Any]
    roles: Mapping[str, Role]
    invalid_body: Callable[[ValidationError], Refused]
    body_errors: tuple[int, ...]  # the statuses invalid_body answers with, for OpenAPI
    too_large: str
    max_body: int
    errors: Mapping[type[Exception], Translate] = field(default_factory=dict)

    def respond(self, refused: Refused) -> JSONResponse:
        return JSONResponse(self.error_body(refused), status_code=refused.status, headers=refused.headers)


@dataclass(frozen=True)
class RawBody:
    """A body passed to the handler as bytes (capped, not parsed), e.g. ``application/zip``."""

    media_type: str


@dataclass(frozen=True)
class Param:
    """A query (or header) parameter, for OpenAPI; handlers read and check it themselves."""

    name: str
    schema: dict[str, Any]
    description: str = ""
    required: bool = False
    where: str = "query"  # or "header"


@dataclass(frozen=True)
class Call:
    """One request as a handler sees it, after the checks: who called, with which key and which body."""

    request: Request
    caller: Any = None  # what the server's authenticate returned for the route's role (None when public)
    key: str | None = None  # the Idempotency-Key of an idempotent route
    body: Any = None  # the validated model, the raw bytes of a RawBody route, or None

    @property
    def path(self) -> dict[str, Any]:
        return self.request.path_params

    @property
    def query(self) -> QueryParams:
        return self.request.query_params


Handler = Callable[[Call], Awaitable[Response]]


@dataclass(frozen=True)
class Endpoint:
    """A route declared once: what it accepts, who may call it and what OpenAPI says about it.

    ``path`` may use Starlette converters (``{counter:int}``). ``ok`` maps success statuses to their description;
    ``returns`` is the type of a 200 body (a dataclass or model) when it is exactly one. ``errors`` lists the
    route's own refusals: the helper adds those of its role, its Idempotency-Key and its body.
    """

    method: str
    path: str
    handler: Handler
    summary: str
    auth: str = PUBLIC
    idempotent: bool = False
    body: type[BaseModel] | RawBody | None = None
    optional_body: bool = False  # an empty body means {}
    max_body: int | None = None  # default: the style's
    signature: Callable[[Request, bytes], None] | None = None  # raises Refused when the raw body is not signed
    throttle: Callable[[Request, Any], None] | None = None  # (request, caller); raises Refused (429) past a limit
    refusals: Mapping[type[Exception], Translate] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    ok: Mapping[int, str] = field(default_factory=lambda: {200: "OK"})
    produces: str = "application/json"
    returns: type | None = None
    params: tuple[Param, ...] = ()
    documented: bool = True


async def read_capped(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it is known to pass ``limit`` bytes (read no further: a huge upload
    costs nothing, whatever its Content-Length says)."""
    declared = request.headers.get("content-length", "")
    if _ASCII_DIGITS.fullmatch(declared) and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def too_deep(raw: bytes) -> bool:
    """Whether arrays and objects nest deeper than :data:`MAX_JSON_DEPTH` in ``raw`` (brackets inside strings do
    not count), found without parsing it."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_DEPTH:  # the common case, at C speed
        return False
    brackets = _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", raw))
    return max(accumulate(1 if byte in b"[{" else -1 for byte in brackets), default=0) > MAX_JSON_DEPTH


def _depth_error() -> ValidationError:
    """The error pydantic gives bad JSON, so each server words it as it words any other bad JSON."""
    return ValidationError.from_exception_data("body", [{
        "type": "json_invalid", "loc": (), "input": "",
        "ctx": {"error": f"nested deeper than {MAX_JSON_DEPTH} levels"}}])


def size_text(limit: int) -> str:
    """``64 KiB``, ``64 MB``: a cap as people read it."""
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KiB"


def idempotency_key(request: Request) -> str:
    """The request's Idempotency-Key; raises :class:`Refused` (400) when it is missing or out of bounds."""
    key = request.headers.get("idempotency-key", "").strip()
    if not IDEMPOTENCY_KEY["min_length"] <= len(key) <= IDEMPOTENCY_KEY["max_length"]:
        raise Refused(400, "idempotency_key_required", "send an Idempotency-Key header (8-128 characters)")
    return key


def bearer(request: Request) -> str:
    """The token of an ``Authorization: Bearer …`` header, or ""."""
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


def _translator(exc: Exception, *tables: Mapping[type[Exception], Translate]) -> Translate | None:
    for cls in type(exc).__mro__:
        for table in tables:
            if cls in table:
                return table[cls]
    return None


async def _body(endpoint: Endpoint, style: HttpStyle, request: Request) -> Any:
    limit = endpoint.max_body or style.max_body
    raw = await read_capped(request, limit)
    if raw is None:
        raise Refused(413, style.too_large, f"the request body is limited to {size_text(limit)}")
    if endpoint.signature is not None:
        endpoint.signature(request, raw)
    if isinstance(endpoint.body, RawBody):
        return raw
    if endpoint.optional_body and not raw.strip():
        raw = b"{}"
    try:
        if too_deep(raw):
            raise _depth_error()
        return endpoint.body.model_validate_json(raw)  # type: ignore[union-attr]
    except ValidationError as exc:
        raise style.invalid_body(exc) from None


def bind(endpoint: Endpoint, style: HttpStyle) -> Route:
    """The Starlette route of ``endpoint``: the checks of the module docstring, then its handler.

    :raises ValueError: the endpoint names a role the style does not know (a typo would leave it open).
    """
    if endpoint.auth != PUBLIC and endpoint.auth not in style.roles:
        raise ValueError(f"{endpoint.method} {endpoint.path}: unknown role {endpoint.auth!r}")
    caught = (Refused, *endpoint.refusals, *style.errors)

    async def handle(request: Request) -> Response:
        try:
            caller = None if endpoint.auth == PUBLIC else style.authenticate(request, endpoint.auth)
            if endpoint.throttle is not None:
                endpoint.throttle(request, caller)
            key = idempotency_key(request) if endpoint.idempotent else None
            body = await _body(endpoint, style, request) if endpoint.body is not None else None
            return await endpoint.handler(Call(request, caller, key, body))
        except caught as exc:
            refused = exc if isinstance(exc, Refused) else _translator(exc, endpoint.refusals, style.errors)(exc)
            return style.respond(refused)

    return Route(endpoint.path, handle, methods=[endpoint.method])


def bind_all(endpoints: list[Endpoint], style: HttpStyle) -> list[Route]:
    return [bind(endpoint, style) for endpoint in endpoints]


def no_such_endpoint(style: HttpStyle) -> Callable[[Request, Exception], Awaitable[Response]]:
    """The app's handler of Starlette's own refusals (no route 404, wrong method 405): the server's error shape."""

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = f"no such endpoint: {request.method} {request.url.path}" if exc.status_code in (404, 405) \
            else str(exc.detail)
        return style.respond(Refused(exc.status_code, "not_found" if exc.status_code == 404 else "http_error",
                                     message))

    return handler
