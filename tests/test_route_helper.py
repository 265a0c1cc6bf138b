"""The one route helper both servers declare their routes with (``contracts.http``), alone and in the servers.

The helper is driven in-process through httpx's ASGI transport, which hands the app the request body one chunk
per ``receive()`` as the app asks for it, so a test can count how much of a streamed body the server pulled.
Over a real socket uvicorn drains an unread body after the answer, which would hide a server that buffers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from backend.app import BackendSettings
from backend.app import create_app as create_backend
from backend.store import BackendStore
from contracts.http import Call, Endpoint, HttpStyle, RawBody, Refused, Role, bind, bind_all, refusal
from contracts.openapi import document
from queueing.server import create_app as create_queue_server
from tests.support import ADMIN_TOKEN, WallClock, dossier_body, open_engine, queue_token

CAP = 1024
CHUNK = b"x" * 65536
TOKEN = "secret-token-for-the-toy"
QUEUE_KIOSK = {"Authorization": f"Bearer {queue_token()}"}


class Order(BaseModel):
    item: str
    count: int = 1


class OutOfStock(Exception):
    pass


def authenticate(request: Request, role: str) -> str:
    if request.headers.get("authorization") != f"Bearer {TOKEN}":
        raise Refused(401, "unauthorized", "a valid bearer token is required")
    if role == "boss":
        raise Refused(403, "forbidden", "boss only")
    return "clerk"


def invalid(exc: ValidationError) -> Refused:
    return Refused(422, "invalid", exc.errors()[0]["msg"])


TOY_STYLE = HttpStyle(error_body=lambda r: {"error": r.code, "message": r.message}, error_schema={"type": "object"},
                      authenticate=authenticate, roles={"clerk": Role("clerkToken"),
                                                        "boss": Role("bossToken", (401, 403))},
                      invalid_body=invalid, body_errors=(422,), too_large="too_large", max_body=CAP,
                      errors={OutOfStock: refusal(409, "out_of_stock")})


def toy_app(effects: list[Any]) -> Starlette:
    """A small server in the toy style: an idempotent order, a raw upload, a boss-only page, a domain error."""

    async def order(call: Call) -> Response:
        if call.body.item == "unicorn":
            raise OutOfStock("no unicorns left")
        if call.key not in {key for key, _ in effects}:
            effects.append((call.key, call.body.item))
        return JSONResponse({"caller": call.caller, "orders": len(effects)})

    async def upload(call: Call) -> Response:
        return JSONResponse({"size": len(call.body)})

    async def audit(_call: Call) -> Response:
        return JSONResponse({})

    return Starlette(routes=bind_all([
        Endpoint("POST", "/orders", order, "Order", auth="clerk", idempotent=True, body=Order),
        Endpoint("POST", "/uploads", upload, "Upload", body=RawBody("application/octet-stream")),
        Endpoint("GET", "/audit", audit, "Audit", auth="boss"),
    ], TOY_STYLE))


def send(app: Any, method: str, path: str, *, content: Any = None, headers: dict[str, str] | None = None) \
        -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as client:
            return await client.request(method, path, content=content, headers=headers)
    return asyncio.run(go())


def clerk(key: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}", **({"Idempotency-Key": key} if key else {})}


def test_a_streamed_body_over_the_cap_is_refused_after_the_first_chunk_past_it():
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:  # 64 GiB if the server read it all; no Content-Length
        nonlocal pulled
        for _ in range(1_000_000):
            pulled += 1
            yield CHUNK

    response = send(toy_app([]), "POST", "/uploads", content=endless())
    assert response.status_code == 413
    assert response.json() == {"error": "too_large", "message": "the request body is limited to 1 KiB"}
    assert pulled <= 2, f"the server pulled {pulled} chunks of 64 KiB for a 1 KiB cap"


def test_a_declared_content_length_over_the_cap_is_refused_before_reading_anything():
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        pulled += 1
        yield CHUNK

    response = send(toy_app([]), "POST", "/uploads", content=body(),
                    headers={"Content-Length": str(len(CHUNK))})
    assert response.status_code == 413 and pulled == 0


def test_a_body_at_the_cap_reaches_the_handler():
    assert send(toy_app([]), "POST", "/uploads", content=b"y" * CAP).json() == {"size": CAP}


@pytest.mark.parametrize(("headers", "status", "code"), [
    ({}, 401, "unauthorized"),
    ({"Authorization": "Bearer wrong"}, 401, "unauthorized"),
    ({"Authorization": TOKEN}, 401, "unauthorized"),  # no Bearer scheme
    (clerk(), 400, "idempotency_key_required"),
    (clerk("short"), 400, "idempotency_key_required"),
])
def test_missing_or_wrong_token_or_key_is_refused_before_the_body_is_read(headers, status, code):
    effects: list[Any] = []
    response = send(toy_app(effects), "POST", "/orders", content=b'{"item": "tea"}', headers=headers)
    assert (response.status_code, response.json()["error"]) == (status, code)
    assert response.json()["message"] and effects == []


def test_a_token_without_the_role_is_forbidden():
    assert send(toy_app([]), "GET", "/audit", headers=clerk()).status_code == 403


@pytest.mark.parametrize("body", [b"not json", b'{"item": ', b"[1, 2]", b'{"count": 2}', b'{"item": "tea", '
                                  b'"count": "many"}', b"", b"\xff\xfe"])
def test_a_bad_body_gets_the_styles_4xx_and_never_reaches_the_handler(body):
    effects: list[Any] = []
    response = send(toy_app(effects), "POST", "/orders", content=body, headers=clerk("key-00000001"))
    assert response.status_code == 422 and response.json()["error"] == "invalid" and effects == []


def test_domain_errors_become_the_styles_refusal():
    response = send(toy_app([]), "POST", "/orders", content=b'{"item": "unicorn"}', headers=clerk("key-00000002"))
    assert (response.status_code, response.json()) == (409, {"error": "out_of_stock", "message": "no unicorns left"})


def test_the_same_idempotency_key_twice_reaches_the_handler_with_the_same_key():
    effects: list[Any] = []
    app = toy_app(effects)
    answers = [send(app, "POST", "/orders", content=b'{"item": "tea"}', headers=clerk("key-00000003"))
               for _ in range(2)]
    assert [a.json()["orders"] for a in answers] == [1, 1] and effects == [("key-00000003", "tea")]


async def nothing(_call: Call) -> Response:
    return Response()


def test_an_unknown_role_is_refused_when_the_app_is_built():
    with pytest.raises(ValueError, match="unknown role 'admn'"):
        bind(Endpoint("GET", "/x", nothing, "X", auth="admn"), TOY_STYLE)


def test_openapi_is_generated_from_the_declarations():
    endpoint = Endpoint("POST", "/orders/{shop:int}", nothing, "Order", auth="clerk", idempotent=True, body=Order,
                        errors=(409,), ok={201: "created"})
    spec = document({"title": "toy", "version": "1"}, [endpoint], TOY_STYLE)
    operation = spec["paths"]["/orders/{shop}"]["post"]
    assert sorted(operation["responses"]) == ["201", "400", "401", "409", "413", "422"]
    assert operation["security"] == [{"clerkToken": []}]
    assert [(p["name"], p["in"], p["schema"]["type"]) for p in operation["parameters"]] == [
        ("shop", "path", "integer"), ("Idempotency-Key", "header", "string")]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Order"}
    assert spec["components"]["schemas"]["Order"]["required"] == ["item"]


# -- the two servers -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def backend_app():
    store = BackendStore(":memory:")
    store.seed()
    store.add_token("admin", None, ADMIN_TOKEN)
    return store, create_backend(store, BackendSettings(payment_secret="bank-shared-secret")), store.add_token(
        "kiosk", "K01")


@pytest.fixture(scope="module")
def queue_app(tmp_path_factory):
    engine = open_engine(tmp_path_factory.mktemp("queue") / "queue.db", WallClock())
    yield create_queue_server(engine, counter_passwords={}, kiosk_tokens=[queue_token()])
    engine.close()


UNDOCUMENTED = {("POST", "/api/counters/{counter}/{action}")}  # the 404 naming the counter actions there are


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(("depth", "status", "code"), [(100_000, 413, "body_too_large"),
                                                       (1_000, 400, "invalid_json")])
def test_deeply_nested_json_is_a_4xx_on_the_queue_server(queue_app, depth, status, code):
    for path in ("/api/tickets", "/api/blocks", "/api/counters/1/login"):
        response = send(queue_app, "POST", path, content=nested(depth), headers=QUEUE_KIOSK)
        assert (response.status_code, response.json()["code"]) == (status, code), path
        assert response.json()["error"]


@pytest.mark.parametrize(("path", "over_cap"), [("/api/dossiers", False), ("/api/fleet/heartbeat", True),
                                              ("/api/surveys", True)])
def test_deeply_nested_json_is_a_4xx_on_the_backend(backend_app, path, over_cap):
    """100,000 nested lists are 200 KB: under the dossiers' cap (parsed and refused), over the others' (413)."""
    _store, app, kiosk = backend_app
    headers = {"Authorization": f"Bearer {kiosk}", "Idempotency-Key": "nested-0001"}
    deep = send(app, "POST", path, content=nested(100_000), headers=headers)
    assert (deep.status_code, deep.json()["error"]) == ((413, "too_large") if over_cap else (422, "invalid"))
    shallow = send(app, "POST", path, content=nested(1_000), headers=headers)
    assert (shallow.status_code, shallow.json()["error"]) == (422, "invalid") and shallow.json()["message"]


def test_deep_nesting_inside_a_dossier_form_is_a_422(backend_app):
    _store, app, kiosk = backend_app
    headers = {"Authorization": f"Bearer {kiosk}", "Idempotency-Key": "nested-0002"}
    form = json.dumps({"procedure_id": "HT05", "form": {"deep": "X"}}).encode().replace(b'"X"', nested(20_000))
    assert send(app, "POST", "/api/dossiers", content=form, headers=headers).status_code == 422


@pytest.mark.parametrize(("body", "status", "code"), [(b"not json", 400, "invalid_json"),
                                                      (b'{"service": "HT"', 400, "invalid_json"),
                                                      (b'"a string"', 400, "invalid_json"),
                                                      (b'{"service": 7}', 422, "invalid_field")])
def test_bad_json_on_the_queue_server_is_its_error_shape(queue_app, body, status, code):
    response = send(queue_app, "POST", "/api/tickets", content=body, headers=QUEUE_KIOSK)
    assert response.status_code == status and set(response.json()) == {"error", "code"}
    assert response.json()["code"] == code


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"procedure_id": 5}'])
def test_bad_json_on_the_backend_is_its_error_shape(backend_app, body):
    _store, app, kiosk = backend_app
    response = send(app, "POST", "/api/dossiers", content=body,
                    headers={"Authorization": f"Bearer {kiosk}", "Idempotency-Key": "bad-json-0001"})
    assert response.status_code == 422 and set(response.json()) == {"error", "message"}


@pytest.mark.parametrize("token", [None, "wrong"])
def test_servers_refuse_a_missing_or_wrong_token_with_401(backend_app, queue_app, token):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    _store, app, _kiosk = backend_app
    for path in ("/api/dossiers/000.00.13.H26-251120-0001", "/api/fleet"):
        assert send(app, "GET", path, headers=headers).status_code == 401, path
    refused = send(queue_app, "POST", "/api/counters/1/call-next", headers=headers)
    assert refused.status_code == 401 and refused.json()["code"] == "login_refused"


def test_the_same_idempotency_key_twice_files_one_dossier(backend_app):
    store, app, kiosk = backend_app
    before = store.count_dossiers()
    headers = {"Authorization": f"Bearer {kiosk}", "Idempotency-Key": "twice-0001"}
    body = json.dumps(dossier_body("HT05")).encode()
    first, again = (send(app, "POST", "/api/dossiers", content=body, headers=headers) for _ in range(2))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["code"] == again.json()["code"] and store.count_dossiers() == before + 1


def test_a_bank_callback_is_checked_for_its_signature_before_its_body(backend_app):
    _store, app, _kiosk = backend_app
    unsigned = send(app, "POST", "/api/payments/callback", content=b"not json", headers={"X-Signature": "é".encode("latin-1") * 64})
    assert unsigned.status_code == 401 and unsigned.json()["error"] == "bad_signature"


def test_every_bound_route_of_both_servers_is_in_its_openapi(backend_app, queue_app):
    for app in (backend_app[1], queue_app):
        spec = send(app, "GET", "/openapi.json").json()
        assert spec["openapi"] == "3.1.0"
        documented = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
        bound = {(method, route.path.replace(":int", "")) for route in app.routes
                 if route.path.startswith("/api/") or route.path == "/health" for method in route.methods - {"HEAD"}}
        assert documented <= bound and bound - documented <= UNDOCUMENTED
        for operation in (op for ops in spec["paths"].values() for op in ops.values()):
            if "requestBody" in operation:
                assert "413" in operation["responses"], operation["summary"]
