"""One way to describe an operation in OpenAPI 3, for both servers: security, path parameters, body, errors.

Refusals share one shape (``{"error": CODE, "detail": TEXT}``, the ``Error`` schema) on every server, so an
operation lists only which status codes it can refuse with.
"""

from __future__ import annotations

ERROR = {"description": "refused", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
KIOSK = [{"kioskToken": []}]


def operation(summary: str, ok: str = "OK", *, secured: bool = True, body: str | None = None,
              params: tuple[str, ...] = (), errors: tuple[str, ...] = ("401", "404")) -> dict:
    op: dict = {"summary": summary, "responses": {"200": {"description": ok}, **{e: ERROR for e in errors}}}
    if secured:
        op["security"] = KIOSK
    if params:
        op["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params]
    if body:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}}
    return op
