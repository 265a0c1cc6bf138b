"""The OpenAPI document of a server, generated from its route declarations so the two cannot drift apart.

Each :class:`~contracts.http.Endpoint` gives its operation: security from its role, path parameters from its path
(``{counter:int}`` is an integer), query parameters, the Idempotency-Key header, the request body (a pydantic
model's JSON Schema, or raw bytes of a media type), the success responses and every refusal — the route's own,
its role's, its key's and its body's (413, and the statuses the server answers a bad body with). Refusals share
the server's one error schema. OpenAPI 3.1, because pydantic writes JSON Schema 2020-12 (``anyOf [..., null]``
rather than 3.0's ``nullable``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from contracts.http import IDEMPOTENCY_KEY, PUBLIC, Endpoint, HttpStyle, RawBody

REF = "#/components/schemas/{model}"
REFUSED = {"$ref": "#/components/responses/Refused"}
_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")
_PARAM_TYPES = {"int": {"type": "integer"}, "float": {"type": "number"}}


def _named(ref: str) -> dict[str, Any]:
    return {"$ref": REF.format(model=ref)}


class _Schemas:
    """Component schemas collected while the operations are written, each type once."""

    def __init__(self, error: dict[str, Any]) -> None:
        self.found: dict[str, Any] = {"Error": error}
        self._names: dict[type, str] = {}

    def ref(self, cls: type) -> dict[str, Any]:
        """A reference to ``cls``'s schema (its title: the class name unless the model sets one)."""
        if cls not in self._names:
            schema = TypeAdapter(cls).json_schema(ref_template=REF)
            self.found.update(schema.pop("$defs", {}))
            self._names[cls] = schema.get("title", cls.__name__)
            self.found[self._names[cls]] = schema
        return _named(self._names[cls])


def _refusals(endpoint: Endpoint, style: HttpStyle) -> list[int]:
    statuses = set(endpoint.errors)
    if endpoint.auth != PUBLIC:
        statuses.update(style.roles[endpoint.auth].refuses)
    if endpoint.idempotent:
        statuses.add(400)
    if endpoint.body is not None:
        statuses.add(413)
        if not isinstance(endpoint.body, RawBody):
            statuses.update(style.body_errors)
    return sorted(statuses)


def _operation(endpoint: Endpoint, style: HttpStyle, schemas: _Schemas) -> dict[str, Any]:
    ok: dict[str, Any] = {}
    for status, description in endpoint.ok.items():
        answer: dict[str, Any] = {"description": description}
        if status == 200 and endpoint.returns is not None:
            answer["content"] = {endpoint.produces: {"schema": schemas.ref(endpoint.returns)}}
        elif status != 304 and endpoint.produces != "application/json":
            answer["content"] = {endpoint.produces: {}}
        ok[str(status)] = answer
    operation: dict[str, Any] = {"summary": endpoint.summary,
                                 "responses": {**ok, **{str(s): REFUSED for s in _refusals(endpoint, style)}}}
    if endpoint.auth != PUBLIC:
        operation["security"] = [{style.roles[endpoint.auth].scheme: []}]
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": _PARAM_TYPES.get(kind or "", {"type": "string"})}
                  for name, kind in _PARAM.findall(endpoint.path)]
    parameters += [{"name": p.name, "in": p.where, "required": p.required, "schema": p.schema,
                    **({"description": p.description} if p.description else {})} for p in endpoint.params]
    if endpoint.idempotent:
        parameters.append({"name": "Idempotency-Key", "in": "header", "required": True,
                           "schema": {"type": "string", "minLength": IDEMPOTENCY_KEY["min_length"],
                                      "maxLength": IDEMPOTENCY_KEY["max_length"]}})
    if parameters:
        operation["parameters"] = parameters
    if endpoint.body is not None:
        operation["requestBody"] = {"required": not endpoint.optional_body,
                                    "content": _request_body(endpoint.body, schemas)}
    return operation


def _request_body(body: type | RawBody, schemas: _Schemas) -> dict[str, Any]:
    if isinstance(body, RawBody):
        return {body.media_type: {"schema": {"type": "string", "format": "binary"}}}
    return {"application/json": {"schema": schemas.ref(body)}}


def document(info: dict[str, Any], endpoints: Iterable[Endpoint], style: HttpStyle,
             also: Iterable[type] = ()) -> dict[str, Any]:
    """The OpenAPI document of ``endpoints`` (those ``documented``); ``also``: more types for the components."""
    schemas = _Schemas(style.error_schema)
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        if endpoint.documented:
            path = _PARAM.sub(r"{\1}", endpoint.path)
            paths.setdefault(path, {})[endpoint.method.lower()] = _operation(endpoint, style, schemas)
    for cls in also:
        schemas.ref(cls)
    schemes = {role.scheme: {"type": "http", "scheme": "bearer"} for role in style.roles.values()}
    return {"openapi": "3.1.0", "info": info, "paths": paths,
            "components": {"securitySchemes": schemes, "schemas": schemas.found, "responses": {"Refused": {
                "description": "refused", "content": {"application/json": {"schema": _named("Error")}}}}}}


def published(spec: dict[str, Any]) -> Route:
    """``GET /openapi.json`` answering ``spec``."""

    async def openapi(_request: Request) -> Response:
        return JSONResponse(spec)

    return Route("/openapi.json", openapi, methods=["GET"])
