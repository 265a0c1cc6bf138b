"""The QR code on the chip citizen identity card (CCCD, and the 2024 "Căn cước" card).

Format: ``ID(12 digits)|old CMND(9 digits or empty)|full name|date of birth ddmmyyyy|gender|address|issue date
ddmmyyyy`` — newer cards may append more fields, which are ignored. The ID itself carries checkable facts
(Circular 59/2021/TT-BCA): digits 1–3 the province of birth registration, digit 4 gender and century, digits 5–6
the last two digits of the birth year. A payload with the shape of a CCCD but failing checks is still reported as
``cccd`` with ``valid: false`` and a list of ``problems`` so the kiosk can say exactly what to do.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from contracts.provinces import PROVINCES

_ID_FIELD = re.compile(r"(?<![0-9])([0-9]{12})\s*\|")
_FEMALE = {"nữ", "nu", "female", "f"}
_MALE = {"nam", "male", "m"}


def looks_like_cccd(text: str) -> bool:
    match = _ID_FIELD.search(text)
    return bool(match) and text[match.start():].count("|") >= 4


def _date(text: str) -> dt.date | None:
    digits = re.sub(r"[^0-9]", "", text)
    if len(digits) != 8:
        return None
    try:
        return dt.date(int(digits[4:]), int(digits[2:4]), int(digits[:2]))
    except ValueError:
        return None


def _gender(text: str) -> str | None:
    word = text.strip().casefold()
    if word in _FEMALE:
        return "Nữ"
    if word in _MALE:
        return "Nam"
    return None


def parse_cccd(text: str, today: dt.date | None = None) -> dict[str, Any]:
    today = today or dt.date.today()
    start = _ID_FIELD.search(text).start()  # looks_like_cccd was checked by the caller
    fields = [f.strip() for f in text[start:].split("\n")[0].split("|")]
    fields += [""] * (7 - len(fields))
    id_, old_id, name, dob_text, gender_text, address, issued_text = fields[:7]
    problems: list[str] = []
    dob, issued, gender = _date(dob_text), _date(issued_text), _gender(gender_text)
    if id_[:3] not in PROVINCES:
        problems.append(f"unknown province code {id_[:3]}")
    if old_id and not re.fullmatch(r"[0-9]{9}", old_id):
        problems.append("old ID must be 9 digits")
        old_id = ""
    if not name or any(ch.isdigit() for ch in name):
        problems.append("missing or invalid name")
        name = name if name and not any(ch.isdigit() for ch in name) else ""
    if dob is None:
        problems.append("invalid date of birth")
    elif dob > today:
        problems.append("date of birth in the future")
    if gender is None:
        problems.append("gender must be Nam or Nữ")
    if not address:
        problems.append("missing address")
    if issued is None:
        problems.append("invalid issue date")
    elif dob is not None and issued < dob:
        problems.append("issue date before date of birth")
    elif issued > today:
        problems.append("issue date in the future")
    if dob is not None and gender is not None:
        century_digit = int(id_[3])
        century = 1900 + (century_digit // 2) * 100
        expected_female = century_digit % 2 == 1
        if dob.year // 100 * 100 != century or (gender == "Nữ") != expected_female:
            problems.append("ID gender/century digit does not match date of birth and gender")
        if id_[4:6] != f"{dob.year % 100:02d}":
            problems.append("ID birth-year digits do not match date of birth")
    return {
        "kind": "cccd", "id": id_, "old_id": old_id or None, "name": name or None,
        "dob": dob.isoformat() if dob else None, "gender": gender, "address": address or None,
        "issued": issued.isoformat() if issued else None, "province": PROVINCES.get(id_[:3]),
        "valid": not problems, "problems": problems,
    }
