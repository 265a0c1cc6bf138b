"""Generated requests against every operation both servers publish in /openapi.json: never a 5xx.

Hypothesis builds path parameters, query strings, headers and bodies (valid-looking JSON, wrong types, junk bytes)
for each path and method read from the live /openapi.json, with real kiosk and admin tokens as well as none, and
sends them over real sockets. Whatever the input, the answer must be a deliberate 2xx/3xx/4xx with a body.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.app import create_app as create_backend
from backend.server import open_store, serve_in_thread
from queueing.server import create_app as create_queue_server
from tests.stores import store_target
from tests.support import WallClock, open_engine

pytestmark = pytest.mark.stores  # the servers run on store_target: SQLite, then PostgreSQL

ADMIN = "fuzz-admin-token"
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=12)
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


def body_for(operation: dict) -> st.SearchStrategy:
    """A body near the schema's fields (so validation is exercised past the first check) or anything at all."""
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    names = list(schema.get("properties", {})) or ["procedure_id", "form", "code", "kiosk_id", "service"]
    near = st.dictionaries(st.sampled_from(names), JSON_VALUES, max_size=len(names))
    return st.one_of(near.map(json.dumps), JSON_VALUES.map(json.dumps), st.binary(max_size=200))


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    store = open_store(store_target(folder / "backend.db"))
    kiosk = store.add_token("kiosk", "K01")
    store.add_token("admin", None, ADMIN)
    backend = serve_in_thread(create_backend(store))
    engine = open_engine(store_target(folder / "queue.db"), WallClock())
    queue = serve_in_thread(create_queue_server(engine, counter_passwords={}))
    yield {"backend": (backend.url, kiosk), "queue": (queue.url, kiosk)}
    backend.stop()
    queue.stop()
    engine.close()


def operations(url: str) -> list[tuple[str, str, dict]]:
    spec = httpx.get(f"{url}/openapi.json", timeout=10).json()
    return [(path, method.upper(), op) for path, ops in spec["paths"].items() for method, op in ops.items()
            if method in ("get", "post") and "event-stream" not in json.dumps(op.get("responses", {}))]


@pytest.mark.parametrize("server", ["backend", "queue"])
def test_no_generated_request_gets_a_server_error(servers, server):
    url, kiosk_token = servers[server]
    ops = operations(url)
    assert len(ops) >= 8
    http = httpx.Client(base_url=url, timeout=10)

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(data=st.data())
    def check(data):
        path, method, op = data.draw(st.sampled_from(ops))
        concrete = re.sub(r"\{[^}]+\}", lambda _m: quote(data.draw(TEXT.filter(lambda t: t not in ("", ".", ".."))),
                                                         safe=""), path)
        token = data.draw(st.sampled_from([None, kiosk_token, ADMIN, "wrong"]))
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if data.draw(st.booleans()):
            headers["Idempotency-Key"] = data.draw(st.text(alphabet="abcdef0123456789-", min_size=0, max_size=40))
        params = data.draw(st.dictionaries(st.sampled_from(["day", "branch", "kiosk", "group", "number",
                                                            "counter", "q"]), TEXT, max_size=3))
        content = data.draw(body_for(op)) if method == "POST" else None
        answer = http.request(method, concrete, params=params, headers=headers, content=content)
        assert answer.status_code < 500, (method, concrete, params, content, answer.status_code, answer.text[:300])

    try:
        check()
    finally:
        http.close()
