"""Every route of both servers gets a fixed corpus of hostile input, and none may answer 5xx.

Attack (issue 16): deeply nested JSON gave RecursionError 500s, ``linked_to`` as a dict or 10**30 gave a 500,
``/api/announce.wav?counter=²`` gave a 500. The routes come from each running app's own route list (API, admin
pages, static mounts) and the bodies from its ``/openapi.json``, so a route added later is fuzzed without anyone
touching this file. The corpus is fixed (no random draws), a few hundred requests per server over real sockets,
with the strongest credentials the route accepts so that validation runs past authentication: an admin token, a
kiosk token, a counter's login, an admin page session with its CSRF token, the bank's signature.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from backend.app import BackendSettings
from backend.app import create_app as create_backend
from backend.server import open_store, serve_in_thread
from contracts.http import MAX_JSON_DEPTH
from contracts.pin import hash_pin
from contracts.sms import SimulatedGateway
from queueing.server import create_app as create_queue_server
from tests.security.browser import admin_session
from tests.stores import store_target
from tests.support import ADMIN_TOKEN, WallClock, dossier_body, open_engine

pytestmark = pytest.mark.stores  # the servers run on store_target: SQLite, then PostgreSQL

PAYMENT_SECRET = secrets.token_hex(16)
COUNTER_PASSWORD = "fuzz-counter-9731"
QUEUE_KIOSK_TOKEN = f"FUZZ-K1:{secrets.token_hex(16)}"
QUEUE_REPORT_TOKEN = secrets.token_hex(16)
SECONDS_PER_SERVER = 30  # the bound only a hang reaches; a run takes a few seconds

TRICKS = [
    "", " ", "\x00", "a\x00b", "\u202eevil\u202c", "\u200b", "\ufeff", "²", "١٢", "ＢＫ-２５", "𝟗𝟗", "😀" * 3,
    "e\u0301" * 5, "%00", "%", "..", "../../etc/passwd", "\\", "'; DROP TABLE dossiers; --", "<script>", "{{7*7}}",
    "-1", "0", "1e400", "9" * 40, "A" * 3000, "true", "null", "[]", "{}", "\n\r", "\ud7ff",
]
PATH_TRICKS = ["\x00", "\u202eevil\u202c", "\u200b", "²", "ＢＫ-２５", "😀", "%", "..", "\\", "'; --", "-1", "9" * 40,
               "A" * 3000, "\ud7ff"]
NUMBERS = [10**30, -10**30, 1e308, -0.0, 2**63, -2**63 - 1]


def nested(depth: int, leaf: Any = 1) -> Any:
    for _ in range(depth):
        leaf = [leaf]
    return leaf


def raw_bodies() -> list[bytes]:
    """Bodies no schema would accept, each a different way of being wrong."""
    return [
        b"", b"   ", b"null", b"[]", b"1", b'"x"', b"{", b"{}" * 3, b"\xff\xfe\x00", b'{"a": "\xed\xa0\x80"}',
        b"[" * 100_000 + b"]" * 100_000, b"{\"a\":" * 50_000 + b"1" + b"}" * 50_000,
        json.dumps(nested(MAX_JSON_DEPTH + 1)).encode(), b'{"x": 1e99999}', b'{"x": ' + b"9" * 5000 + b"}",
        b'{"x": NaN}', b'{"x": Infinity}', b'{"__proto__": {"admin": true}}', b'{"a": 1, "a": 2}',
        ("{" + ",".join(f'"k{i}": {i}' for i in range(5000)) + "}").encode(),
    ]


def wrong_values() -> list[Any]:
    return [None, True, {}, [], {"a": {"b": [1, {"c": None}]}}, nested(MAX_JSON_DEPTH - 4), "", *TRICKS[2:12],
            *NUMBERS]


def json_bodies(schema_fields: list[str], valid: dict[str, Any]) -> list[bytes]:
    """A plausible body with one field wrong: every wrong value once (fields taken in turn), every field as an
    object and as a huge number; then the raw oddities. Bounded: about 25 + 2 per field."""
    names = schema_fields or ["x"]
    changes = [(names[i % len(names)], value) for i, value in enumerate(wrong_values())]
    changes += [(name, value) for name in names for value in ({"nested": [1]}, 10**30)]
    return [json.dumps({**valid, name: value}, ensure_ascii=False).encode() for name, value in changes] + raw_bodies()


@dataclass
class Target:
    """One server under fuzz: its app, where it listens, and the credentials its routes accept."""

    app: Starlette
    url: str
    headers: dict[str, str]
    error_keys: set[str]
    bearers: dict[str, str] = field(default_factory=dict)  # OpenAPI security scheme → a token of that role
    form_csrf: str = ""
    cookies: dict[str, str] = field(default_factory=dict)
    seen: set[tuple[str, str]] = field(default_factory=set)


def routes(app: Starlette) -> Iterator[tuple[str, str]]:
    """(method, path template) of every route the app serves, static mounts as ``<mount>/{path}``."""
    for route in app.routes:
        if isinstance(route, Route):
            for method in sorted(route.methods or {"GET"}):
                if method != "HEAD":
                    yield method, route.path
        elif isinstance(route, Mount):
            yield "GET", route.path + "/{path}"


def fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: value if ":int" in m.group(0) and value.isdigit() else quote(value, safe=""),
                  path)


def requests_for(method: str, path: str, spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The requests one route gets: odd path values, odd query values, odd headers, odd bodies."""
    op = spec["paths"].get(re.sub(r"\{(\w+):\w+\}", r"{\1}", path), {}).get(method.lower(), {})
    plain = fill(path, "1")
    for value in PATH_TRICKS if "{" in path else ():
        yield {"path": fill(path, value)}
    names = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"] or ["q"]
    for value in ("²", "\u202e1", "\x00", "9" * 40, "-1", "A" * 3000, "2026-02-30", "9999-12-31"):
        yield {"path": plain, "params": {name: value for name in names}}
    for headers in ({"Content-Type": "application/json; charset=utf-7"}, {"Content-Type": "\u00ff/\u00fe"},
                    {"Authorization": "Bearer \u00e9\u00ff"}, {"Idempotency-Key": "\u00e9" * 40},
                    {"X-Signature": "ÿ" * 64}, {"If-None-Match": '"' + "x" * 4000 + '"'},
                    {"X-Filler": "x" * 20_000}):
        yield {"path": plain, "headers": headers}
    if method != "POST":
        return
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if schema is not None:
        ref = schema.get("$ref", "").rsplit("/", 1)[-1]
        props = list(spec["components"]["schemas"].get(ref, {}).get("properties", {}))
        valid = dossier_body("HT05") if "procedure_id" in props else {name: "1" for name in props}
        for body in json_bodies(props, valid):
            yield {"path": plain, "content": body}
    elif op.get("requestBody"):  # a raw upload
        for body in (b"", b"PK\x03\x04" + b"\x00" * 100, secrets.token_bytes(2000)):
            yield {"path": plain, "content": body}
    else:  # an admin form, or a route that takes no body
        for form in ({"target": "\u202e"}, {"target": "kiosk:" + "A" * 500}, {"text": "x", "start": "2026-13-45"},
                     {"services": "[" * 5000}, {"services": json.dumps(nested(200))}, {"next": "//evil"},
                     {"token": "\x00"}, {"text": ["a", "b"], "start": "x"}):
            yield {"path": plain, "form": form}
        yield {"path": plain, "content": b"a=%ff%fe&b", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}
        yield {"path": plain, "content": b"&" * 60_000, "headers": {"Content-Type": "application/x-www-form-urlencoded"}}


def fuzz(target: Target) -> int:
    """Send every route its corpus; return how many requests were sent. Fails on the first 5xx."""
    spec = httpx.get(f"{target.url}/openapi.json", timeout=10).json()
    skip = {path for path, ops in spec["paths"].items() if "event-stream" in json.dumps(ops)}
    sent, deadline = 0, time.monotonic() + SECONDS_PER_SERVER
    with httpx.Client(base_url=target.url, timeout=10, cookies=target.cookies) as http:
        for method, path in routes(target.app):
            # a stream never ends (an API one is documented as one; the admin pages' is /admin/…/events);
            # logging out ends the session
            if path in skip or path == "/admin/logout" or (path.startswith("/admin/") and path.endswith("/events")):
                continue
            target.seen.add((method, path))
            op = spec["paths"].get(re.sub(r"\{(\w+):\w+\}", r"{\1}", path), {}).get(method.lower(), {})
            schemes = [scheme for need in op.get("security", []) for scheme in need]
            role = {"Authorization": f"Bearer {target.bearers[schemes[0]]}"} \
                if schemes and schemes[0] in target.bearers else {}
            for request in requests_for(method, path, spec):
                headers = {**target.headers, **role, **request.get("headers", {})}
                content = request.get("content")
                if "form" in request:
                    content = urlencode({"csrf": target.form_csrf, **request["form"]}, doseq=True).encode()
                    headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
                if path == "/api/payments/callback" and content is not None:
                    headers["X-Signature"] = hmac.new(PAYMENT_SECRET.encode(), content, hashlib.sha256).hexdigest()
                answer = http.request(method, request["path"], params=request.get("params"),
                                      headers={k: v.encode("latin-1", "replace") if isinstance(v, str) else v
                                               for k, v in headers.items()},
                                      content=content)
                sent += 1
                shown = (method, request["path"][:80], (content or b"")[:80], headers.get("Content-Type"))
                assert answer.status_code < 500, (*shown, answer.status_code, answer.text[:300])
                if request["path"].startswith("/api/") and answer.status_code >= 400 \
                        and "X-Filler" not in headers:
                    assert target.error_keys <= set(answer.json()), (*shown, answer.text[:300])
                assert time.monotonic() < deadline, f"fuzzing took over {SECONDS_PER_SERVER} s"
    return sent


@pytest.fixture(scope="module")
def backend(tmp_path_factory) -> Iterator[Target]:
    store = open_store(store_target(tmp_path_factory.mktemp("fuzz-backend") / "backend.db"))
    store.add_token("admin", None, ADMIN_TOKEN)
    app = create_backend(store, BackendSettings(payment_secret=PAYMENT_SECRET, bank_bin="970415",
                                                bank_account="0011223344"))
    running = serve_in_thread(app)
    cookies, csrf = admin_session(running.url)
    yield Target(app, running.url, {"Authorization": f"Bearer {ADMIN_TOKEN}", "Idempotency-Key": "fuzz-key-0001"},
                 {"error", "message"}, form_csrf=csrf, cookies=cookies)
    running.stop()


@pytest.fixture(scope="module")
def queue(tmp_path_factory) -> Iterator[Target]:
    folder = tmp_path_factory.mktemp("fuzz-queue")
    engine = open_engine(store_target(folder / "queue.db"), WallClock())
    app = create_queue_server(engine, counter_passwords={1: hash_pin(COUNTER_PASSWORD)},
                              kiosk_tokens=[QUEUE_KIOSK_TOKEN], report_tokens=[QUEUE_REPORT_TOKEN],
                              sms=SimulatedGateway(folder / "sms"))  # with the phone queue's routes
    running = serve_in_thread(app)
    token = httpx.post(f"{running.url}/api/counters/1/login", json={"password": COUNTER_PASSWORD}).json()["token"]
    yield Target(app, running.url, {"Authorization": f"Bearer {token}"}, {"error", "code"},
                 bearers={"kioskToken": QUEUE_KIOSK_TOKEN, "counterToken": token, "reportToken": QUEUE_REPORT_TOKEN})
    running.stop()
    engine.close()


@pytest.mark.parametrize("server", ["backend", "queue"])
def test_no_route_answers_a_hostile_request_with_a_server_error(server, request):
    target: Target = request.getfixturevalue(server)
    sent = fuzz(target)
    spec = httpx.get(f"{target.url}/openapi.json").json()
    documented = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    fuzzed = {(method, re.sub(r"\{(\w+):\w+\}", r"{\1}", path)) for method, path in target.seen}
    assert documented - fuzzed <= {("GET", "/api/events")}, "every documented operation is fuzzed"
    assert sent > 20 * len(target.seen) // 2


def test_json_nested_past_the_limit_is_refused_before_validation(backend):
    """The depth limit is the helper's, the same on every JSON route: a clear 4xx naming it."""
    deep = json.dumps({"procedure_id": "HT05", "form": {"x": nested(MAX_JSON_DEPTH + 1)}})
    answer = httpx.post(f"{backend.url}/api/dossiers", content=deep, headers=backend.headers)
    assert answer.status_code == 422 and f"nested deeper than {MAX_JSON_DEPTH}" in answer.json()["message"]


@pytest.mark.parametrize(("server", "path"), [("backend", "/api/procedures/%00"), ("queue", "/api/services/%00/waiting")])
def test_a_nul_character_is_the_callers_error_on_every_engine(server, path, request):
    """PostgreSQL cannot keep a NUL in a text (the driver raises before the query leaves): still a 4xx."""
    target: Target = request.getfixturevalue(server)
    answer = httpx.get(f"{target.url}{path}", headers=target.headers)
    assert 400 <= answer.status_code < 500 and target.error_keys <= set(answer.json()), answer.text
