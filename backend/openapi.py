"""The OpenAPI 3 description of the reference backend, kept next to the routes it documents."""

from __future__ import annotations

from contracts.openapi import operation
from contracts.survey import KINDS, REASONS, SERVICE_PATTERN

_REPORT_QUERY = [
    {"name": "day", "in": "query", "required": False, "description": "YYYY-MM-DD, the local day; default today",
     "schema": {"type": "string", "format": "date"}},
    {"name": "branch", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 100}},
]


OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "Public-service kiosk reference backend", "version": "0.1.0"},
    "paths": {
        "/health": {"get": operation("Liveness", secured=False, errors=())},
        "/api/procedures": {"get": operation("Procedure catalogue and life events", secured=False, errors=())},
        "/api/procedures/{proc_id}": {"get": operation("One procedure", secured=False, params=("proc_id",),
                                                 errors=("404",))},
        "/api/dossiers": {"post": {
            **operation("Submit a dossier (idempotent per Idempotency-Key)", "repeat of an earlier submission",
                  body="Submission", errors=("400", "401", "404", "409", "422")),
            "parameters": [{"name": "Idempotency-Key", "in": "header", "required": True,
                            "schema": {"type": "string", "minLength": 8, "maxLength": 128}}],
        }},
        "/api/dossiers/{code}": {"get": operation("Dossier status with timeline (applicant masked)", params=("code",))},
        "/api/dossiers/{code}/payment": {"get": operation("Fee and VietQR payload", params=("code",))},
        "/api/payments/callback": {"post": operation("Simulated bank callback (HMAC-SHA256 in X-Signature)",
                                               secured=False, body="PaymentCallback",
                                               errors=("401", "404", "422"))},
        "/api/bookings/{code}/checkin": {"post": operation("Check in a booking", params=("code",),
                                                     errors=("401", "404", "409"))},
        "/api/admin/kiosks": {"post": {**operation("Create a kiosk token", body="NewKiosk",
                                                   errors=("401", "403", "422")),
                                       "security": [{"adminToken": []}]}},
        "/api/fleet/heartbeat": {"post": operation("Report a kiosk's state (a kiosk token reports only for its own id)",
                                             body="Heartbeat", errors=("401", "403", "413", "422"))},
        "/api/fleet": {"get": {
            **operation("Kiosks with their last heartbeat, its age and flags (silent, paper_out, paper_low,"
                        " printer_offline, printer_error, error, doctor)", errors=("401", "403")),
            "security": [{"adminToken": []}],
            "parameters": [{"name": "branch", "in": "query", "required": False, "schema": {"type": "string"}}],
        }},
        "/api/fleet/{kiosk_id}/log": {"get": {**operation("The last log lines (≤ 50, scrubbed) a kiosk reported",
                                                    params=("kiosk_id",), errors=("401", "403", "404")),
                                              "security": [{"adminToken": []}]}},
        "/api/surveys": {"post": {
            **operation("Record a satisfaction survey answer (idempotent per Idempotency-Key)",
                        "repeat of an earlier answer",
                  body="SurveyAnswer", errors=("400", "401", "409", "413", "422")),
            "parameters": [{"name": "Idempotency-Key", "in": "header", "required": True,
                            "schema": {"type": "string", "minLength": 8, "maxLength": 128}}],
        }},
        "/api/reports/surveys": {"get": {
            **operation("A day's survey figures per branch and service: count, average, share satisfied (4-5), reasons",
                  errors=("401", "403", "422")),
            "security": [{"adminToken": []}], "parameters": _REPORT_QUERY,
        }},
        "/api/reports/surveys.csv": {"get": {
            **operation("The same figures as CSV (UTF-8 with BOM; a branch's total row has service *)",
                  errors=("401", "403", "422")),
            "security": [{"adminToken": []}], "parameters": _REPORT_QUERY,
        }},
    },
    "components": {
        "securitySchemes": {"kioskToken": {"type": "http", "scheme": "bearer"},
                            "adminToken": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {"type": "object", "properties": {"error": {"type": "string"}, "message": {"type": "string"}}},
            "Submission": {"type": "object", "required": ["procedure_id", "form"],
                           "properties": {"procedure_id": {"type": "string"}, "form": {"type": "object"},
                                          "linked_to": {"type": "string"}}},
            "PaymentCallback": {"type": "object", "required": ["code"], "properties": {"code": {"type": "string"}}},
            "NewKiosk": {"type": "object", "required": ["kiosk_id"], "properties": {"kiosk_id": {"type": "string"}}},
            "SurveyAnswer": {
                "type": "object", "additionalProperties": False,
                "required": ["rating", "kind", "branch", "answered_at"],
                "properties": {
                    "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                    "reasons": {"type": "array", "uniqueItems": True,
                                "items": {"type": "string", "enum": list(REASONS)}},
                    "service": {"type": "string", "pattern": SERVICE_PATTERN, "description": "empty: none"},
                    "counter": {"type": "integer", "minimum": 1, "maximum": 999, "nullable": True},
                    "kind": {"type": "string", "enum": list(KINDS)},
                    "branch": {"type": "string", "minLength": 1, "maxLength": 100},
                    "answered_at": {"type": "string", "format": "date-time", "description": "with a UTC offset"},
                },
            },
            "Heartbeat": {
                "type": "object", "additionalProperties": False,
                "required": ["kiosk_id", "interval_s", "branch", "app_version", "printer", "scanner", "outbox_depth",
                             "uptime_s"],
                "properties": {
                    "kiosk_id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"},
                    "interval_s": {"type": "number", "minimum": 0.1, "maximum": 3600},
                    "branch": {"type": "string", "maxLength": 100},
                    "group": {"type": "string", "nullable": True},
                    "app_version": {"type": "string", "maxLength": 32},
                    "content_version": {"type": "integer", "minimum": 0, "nullable": True},
                    "printer": {"type": "string", "enum": ["ok", "paper_low", "paper_out", "offline", "error"]},
                    "scanner": {"type": "string", "pattern": "^[a-z_]{1,20}$"},
                    "outbox_depth": {"type": "integer", "minimum": 0},
                    "queue": {"type": "object", "nullable": True, "properties": {
                        "waiting": {"type": "integer"}, "open_services": {"type": "integer"},
                        "services": {"type": "integer"}}},
                    "uptime_s": {"type": "number", "minimum": 0},
                    "last_error": {"type": "string", "maxLength": 200, "nullable": True},
                    "doctor": {"type": "array", "maxItems": 20, "items": {
                        "type": "object", "required": ["check", "ok"], "properties": {
                            "check": {"type": "string"}, "ok": {"type": "boolean"},
                            "detail": {"type": "string", "maxLength": 200}}}},
                    "log_tail": {"type": "array", "maxItems": 50, "items": {"type": "string", "maxLength": 300}},
                },
            },
        },
    },
}
