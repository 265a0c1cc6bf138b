"""What every backend route shares: the error body, a size-capped body read, idempotency keys, one-line messages.

Every refusal is ``{"error": code, "message": one line for people}`` with a 4xx status, so kiosks, the admin
pages and the API fuzz test can rely on one shape.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

# app.auth(request, role): (role, kiosk id) when the bearer token has the role, else the 401/403 answer to send
Auth = Callable[[Request, str], tuple[str, str | None] | JSONResponse]


def refuse(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


async def bounded_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None once it passes ``limit`` bytes (read no further: a huge upload costs nothing)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def idempotency_key(request: Request) -> str | JSONResponse:
    """The request's Idempotency-Key, or the 400 to answer when it is missing or out of bounds."""
    key = request.headers.get("idempotency-key", "").strip()
    if not 8 <= len(key) <= 128:
        return refuse(400, "idempotency_key_required", "send an Idempotency-Key header (8-128 characters)")
    return key


def describe_error(exc: ValidationError) -> str:
    """One line naming the first bad key: ``printer: Input should be 'ok', 'paper_low', … (and 2 more)``."""
    errors = exc.errors()
    first = errors[0]
    key = ".".join(str(part) for part in first["loc"]) or "(body)"
    message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{key}: {message}{more}"
