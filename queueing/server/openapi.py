"""The OpenAPI 3 description of the branch queue server, served at ``/openapi.json``.

Operations are built with the shared helper in :mod:`contracts.openapi` so both servers describe themselves the
same way; request schemas come from the pydantic bodies in ``schemas`` and responses from the engine's
dataclasses, so the document cannot drift from what the handlers accept and return.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from contracts.openapi import operation
from queueing.models import NumberBlock, QueueStatus, ServiceOverview, Ticket
from queueing.server.schemas import (
    BlockRequest,
    CallNextRequest,
    LoginRequest,
    OfflineTicketRequest,
    TicketRequest,
    TransferRequest,
)

_COUNTER = [{"counterToken": []}]
_BODIES = (TicketRequest, BlockRequest, OfflineTicketRequest, LoginRequest, CallNextRequest, TransferRequest)
_RESULTS = {"Ticket": Ticket, "NumberBlock": NumberBlock, "ServiceOverview": ServiceOverview,
            "QueueStatus": QueueStatus}


def _open(summary: str, ok: str = "OK", **kwargs: Any) -> dict[str, Any]:
    return operation(summary, ok, secured=False, **kwargs)


def _counter(summary: str, ok: str = "OK", **kwargs: Any) -> dict[str, Any]:
    return {**operation(summary, ok, secured=False, params=("counter",), **kwargs), "security": _COUNTER}


def _query(op: dict[str, Any], name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {**op, "parameters": [*op.get("parameters", []), {"name": name, "in": "query", "required": False,
                                                             "schema": schema, "description": description}]}


def _schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "Error": {"type": "object", "required": ["error"], "properties": {
            "error": {"type": "string", "description": "one-line message for people"},
            "code": {"type": "string", "description": "machine code, e.g. unknown_service, service_closed"}}},
    }
    for model in _BODIES:
        schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, cls in _RESULTS.items():
        schema = TypeAdapter(cls).json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    return schemas


_DAY = {"type": "string", "format": "date"}
_ACTIONS = {"recall": "Call the current ticket again", "start": "The citizen arrived: start serving",
            "finish": "Finish the current ticket", "no-show": "The called citizen did not come",
            "skip": "Same as no-show"}

OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Branch queue server", "version": "0.1.0",
             "description": "One queue for a centre's kiosks, counters and display boards. Refusals are 4xx "
                            "JSON {error, code}."},
    "paths": {
        "/health": {"get": _open("Liveness", errors=())},
        "/api/services": {"get": _open("Services with waiting counts, estimates and definitions", errors=())},
        "/api/services/{code}/waiting": {"get": _open("Waiting tickets of a service in call order",
                                                      params=("code",), errors=("404",))},
        "/api/services/{code}/estimate": {"get": _query(
            _open("Estimated wait for a given number of people ahead", params=("code",), errors=("400", "404")),
            "ahead", {"type": "integer", "minimum": 0}, "people ahead")},
        "/api/tickets": {"post": _open("Take a ticket (idempotent per request_id)", "the Ticket",
                                       body="TicketRequest", errors=("400", "404", "409", "422"))},
        "/api/tickets/{ticket_id}": {"get": _open("A ticket by id (or by the request id of an offline ticket)",
                                                  "the Ticket", params=("ticket_id",), errors=("404",))},
        "/api/track/{ticket_id}": {"get": _open("Public tracking view (no personal data), follows transfers",
                                                params=("ticket_id",), errors=("404",))},
        "/api/blocks": {"post": _open("Lease a block of numbers to a kiosk for offline use", "the NumberBlock",
                                      body="BlockRequest", errors=("400", "404", "409", "422"))},
        "/api/offline-tickets": {"post": _open("Report a ticket issued offline from a leased block", "the Ticket",
                                               body="OfflineTicketRequest", errors=("400", "404", "409", "422"))},
        "/api/counters/{counter}/login": {"post": {**_open(
            "Log a counter in with its password; returns a bearer token", params=("counter",), body="LoginRequest",
            errors=("400", "401", "404", "422", "429"))}},
        "/api/counters/{counter}": {"get": _counter("Current ticket, waiting list and today's figures",
                                                    errors=("401", "403"))},
        "/api/counters/{counter}/call-next": {"post": _counter(
            "Call the next ticket under the priority policy ({ticket: null} when nobody waits)",
            body="CallNextRequest", errors=("401", "403", "404", "409"))},
        **{f"/api/counters/{{counter}}/{action}": {"post": _counter(summary, errors=("401", "403", "409"))}
           for action, summary in _ACTIONS.items()},
        "/api/counters/{counter}/transfer": {"post": _counter(
            "Transfer the current ticket to another service (same number, original place)", body="TransferRequest",
            errors=("401", "403", "404", "409", "422"))},
        "/api/status": {"get": _open("Board snapshot: services, counters, last calls", errors=())},
        "/api/events": {"get": _open("Server-Sent Events: status snapshots and calls", "text/event-stream",
                                     errors=())},
        "/api/announce.wav": {"get": _query(_query(_open("A call spoken in Vietnamese (espeak-ng on the server)",
                                                         "audio/wav", errors=("404", "422")),
                                                   "number", {"type": "string", "pattern": "^[A-Z]{1,2}[0-9]{3,4}$"},
                                                   "ticket number, e.g. A012"),
                                            "counter", {"type": "integer", "minimum": 1, "maximum": 999},
                                            "counter number")},
        "/api/report": {"get": _query(_open("Daily report per service and counter", errors=("400",)), "day", _DAY,
                                      "local day, default today")},
        "/api/report.csv": {"get": _query(_open("Daily report as CSV", errors=("400",)), "day", _DAY,
                                          "local day, default today")},
    },
    "components": {
        "securitySchemes": {"counterToken": {"type": "http", "scheme": "bearer"}},
        "schemas": _schemas(),
    },
}
