"""Dossier e-form schemas: one set of rules for the kiosk (messages at the field) and the backend (4xx on bad input).

A procedure's ``form`` is a list of fields ``{name, label_vi, label_en, type, required, ...}`` with ``type`` one
of :data:`FIELD_TYPES`. Values are canonical JSON: dates ISO ``YYYY-MM-DD``, numbers ``int``, phones ``0xxxxxxxxx``,
checkboxes ``bool``, groups a list of objects. :func:`parse_input` turns what a citizen typed on the kiosk
("05/03/2019", "+84 912 345 678") into that form; :func:`check_form` returns error codes, never messages, so each
side words them in its own language.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from contracts.provinces import PROVINCES

FIELD_TYPES = ("text", "number", "date", "select", "phone", "cccd", "checkbox", "group")
TEXT_MAX = 200
GROUP_MAX = 20
PHONE = re.compile(r"^0(3|5|7|8|9)[0-9]{8}$|^02[0-9]{9}$")  # mobile, or landline with its area code
_SPACES = re.compile(r"\s+")
_DATE_INPUT = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$|^(\d{2})(\d{2})(\d{4})$")


def _today() -> dt.date:
    return dt.date.today()


def parse_input(field: dict[str, Any], raw: str) -> Any:
    """The canonical value for what was typed; unparseable input is returned as typed for :func:`check_value`."""
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", raw)).strip()
    kind = field["type"]
    if kind == "date":
        match = _DATE_INPUT.match(text)
        if match:
            day, month, year = [int(g) for g in match.groups() if g is not None]
            try:
                return dt.date(year, month, day).isoformat()
            except ValueError:
                return text
        return text
    if kind == "number":
        digits = text.replace(".", "").replace(" ", "")
        return int(digits) if digits.isdigit() else text
    if kind == "phone":
        compact = re.sub(r"[\s.\-()]", "", text)
        return "0" + compact[3:] if compact.startswith("+84") else compact
    if kind == "cccd":
        return text.replace(" ", "")
    return text


def check_value(field: dict[str, Any], value: Any, today: Callable[[], dt.date] = _today) -> str | None:
    """An error code for one field's value, or None when it is acceptable."""
    empty = value is None or value == "" or value == [] or (field["type"] == "checkbox" and value is False)
    if empty:
        return "required" if field.get("required") else None
    check = _CHECKS.get(field["type"])
    if check is None:
        return "unknown_type"
    return check(field, value, today)


def _text(field: dict[str, Any], value: Any, _today: Callable[[], dt.date]) -> str | None:
    if not isinstance(value, str):
        return "not_text"
    if len(value) > min(int(field.get("max", TEXT_MAX)), TEXT_MAX):
        return "too_long"
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") for ch in value):
        return "bad_characters"
    return None


def _number(field: dict[str, Any], value: Any, _today: Callable[[], dt.date]) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "not_number"
    if "min" in field and value < field["min"]:
        return "too_small"
    if "max" in field and value > field["max"]:
        return "too_large"
    return None


def _date(field: dict[str, Any], value: Any, today: Callable[[], dt.date]) -> str | None:
    try:
        day = dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        day = None
    if day is None or day.year < 1900:
        return "bad_date"
    if field.get("past") and day > today():
        return "in_future"
    if field.get("future") and day < today():
        return "in_past"
    return None


def _select(field: dict[str, Any], value: Any, _today: Callable[[], dt.date]) -> str | None:
    return None if value in field.get("options", []) else "bad_option"


def _phone(_field: dict[str, Any], value: Any, _today: Callable[[], dt.date]) -> str | None:
    return None if isinstance(value, str) and PHONE.match(value) else "bad_phone"


def _cccd(_field: dict[str, Any], value: Any, _today: Callable[[], dt.date]) -> str | None:
    valid = isinstance(value, str) and len(value) == 12 and value.isdigit() and value[:3] in PROVINCES
    return None if valid else "bad_cccd"


def _checkbox(_field: dict[str, Any], value: Any, _today: Callable[[], dt.date]) -> str | None:
    return None if isinstance(value, bool) else "not_checkbox"


def _group(field: dict[str, Any], value: Any, today: Callable[[], dt.date]) -> str | None:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        return "not_group"
    if len(value) > min(int(field.get("max_items", GROUP_MAX)), GROUP_MAX):
        return "too_many"
    return None


_CHECKS = {"text": _text, "number": _number, "date": _date, "select": _select, "phone": _phone, "cccd": _cccd,
           "checkbox": _checkbox, "group": _group}


def check_form(schema: list[dict[str, Any]], form: dict[str, Any],
               today: Callable[[], dt.date] = _today) -> dict[str, str]:
    """Error codes by field path (``members.1.member_id`` inside groups); unknown fields are errors too."""
    errors: dict[str, str] = {}
    known = {field["name"] for field in schema}
    for name in form:
        if name not in known:
            errors[name] = "unknown_field"
    for field in schema:
        value = form.get(field["name"])
        error = check_value(field, value, today)
        if error:
            errors[field["name"]] = error
        elif field["type"] == "group" and value:
            for index, item in enumerate(value):
                for path, code in check_form(field["fields"], item, today).items():
                    errors[f"{field['name']}.{index}.{path}"] = code
    return errors


def display_value(field: dict[str, Any], value: Any, lang: str) -> str:
    """How a canonical value is shown back to the citizen on the review page."""
    if value is None or value == "":
        return "—"
    if field["type"] == "date" and isinstance(value, str) and len(value) == 10 and value[4] == "-":
        return f"{value[8:10]}/{value[5:7]}/{value[:4]}"
    if field["type"] == "checkbox":
        return ("Yes" if value else "No") if lang == "en" else ("Có" if value else "Không")
    if field["type"] == "number" and isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    if field["type"] == "group" and isinstance(value, list):
        return str(len(value))
    return str(value)


def merge_schemas(schemas: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """One form for linked procedures: each field once (by name), in first-seen order, required if any needs it."""
    merged: dict[str, dict[str, Any]] = {}
    for schema in schemas:
        for field in schema:
            if field["name"] in merged:
                merged[field["name"]] = {**merged[field["name"]],
                                         "required": merged[field["name"]].get("required") or field.get("required")}
            else:
                merged[field["name"]] = dict(field)
    return list(merged.values())
