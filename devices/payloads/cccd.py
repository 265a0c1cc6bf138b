"""The QR code on the chip citizen identity card (CCCD, Circular 06/2021/TT-BCA) and the 2024 căn cước card.

Layout (docs/formats.md has what is published and what is assumed): ``ID|old ID|full name|date of birth
ddmmyyyy|gender|address|issue date ddmmyyyy``, the ID first in the payload; fields after the seventh (newer cards)
are not read. A payload of that shape is reported as ``cccd``, with ``valid: false`` and its ``problems`` when a
field breaks a rule, so the kiosk can say exactly what is wrong; a failing field is reported as None.

The ID carries checkable facts (Circular 59/2021/TT-BCA): digits 1–3 the province of birth registration, digit 4
gender and century (0/1 a man/woman born in the 1900s, 2/3 in the 2000s, …), digits 5–6 the birth year. Gender is
exactly as printed ("Nam" or "Nữ"); names are Vietnamese letters in words separated by single spaces.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from config.localtime import LOCAL_TZ
from contracts.provinces import PROVINCES

_START = re.compile(r"[0-9]{12}\|")
_GENDERS = ("Nam", "Nữ")
_VOWELS = "aăâeêioôơuưy"
_TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")  # none, huyền, sắc, hỏi, ngã, nặng
# the Vietnamese alphabet (+ f, j, w, z of minority-language and foreign-origin names), each vowel with its tones
LETTERS = frozenset(
    {unicodedata.normalize("NFC", vowel + tone) for vowel in _VOWELS for tone in _TONES}
    | set("bcdđghklmnpqrstvxfjwz")
)
LETTERS |= frozenset(ch.upper() for ch in LETTERS)
_APOSTROPHES = "'’"  # inside a word of a minority-language name: H'Hen Niê
CHIP_CARDS_FROM = dt.date(2021, 1, 1)  # the QR came with the chip card (Circular 06/2021/TT-BCA)
UNDER_14_FROM = dt.date(2024, 7, 1)  # the Law on Identification 2023 gave cards to children under 14
MAX_NAME = 100


def looks_like_cccd(text: str) -> bool:
    return bool(_START.match(text)) and text.count("|") >= 4


def _date(text: str) -> dt.date | None:
    if not re.fullmatch(r"[0-9]{8}", text):
        return None
    try:
        return dt.date(int(text[4:]), int(text[2:4]), int(text[:2]))
    except ValueError:
        return None


def _name_ok(name: str) -> bool:
    if not 0 < len(name) <= MAX_NAME or name != name.strip(" ") or "  " in name:
        return False
    return all(
        word[0] in LETTERS and word[-1] in LETTERS and all(ch in LETTERS or ch in _APOSTROPHES for ch in word)
        for word in name.split(" ")
    )


def _birthday(dob: dt.date, years: int) -> dt.date:
    try:
        return dob.replace(year=dob.year + years)
    except ValueError:  # born on 29 February
        return dt.date(dob.year + years, 3, 1)


def _id_problems(id_: str, dob: dt.date | None, gender: str | None) -> list[str]:
    problems = [] if id_[:3] in PROVINCES else ["cccd_province_unknown"]
    if dob is not None and gender is not None:
        century_digit = int(id_[3])
        if 1900 + century_digit // 2 * 100 != dob.year // 100 * 100 or (gender == "Nữ") != (century_digit % 2 == 1):
            problems.append("cccd_century_gender_mismatch")
        if id_[4:6] != f"{dob.year % 100:02d}":
            problems.append("cccd_birth_year_mismatch")
    return problems


def _issue_problems(issued: dt.date | None, dob: dt.date | None, today: dt.date) -> list[str]:
    if issued is None:
        return ["cccd_issued_invalid"]
    if issued > today:
        return ["cccd_issued_future"]
    if dob is not None and issued < dob:
        return ["cccd_issued_before_birth"]
    if issued < CHIP_CARDS_FROM:
        return ["cccd_issued_before_chip_cards"]
    if dob is not None and issued < UNDER_14_FROM and issued < _birthday(dob, 14):
        return ["cccd_issued_under_14"]
    return []


def parse_cccd(text: str, today: dt.date | None = None) -> dict[str, Any]:
    """The card's fields and whether they keep the rules; ``looks_like_cccd(text)`` was checked by the caller."""
    today = today or dt.datetime.now(LOCAL_TZ).date()
    fields = [field.strip(" ") for field in text.split("|")]
    fields += [""] * (7 - len(fields))
    id_, old_id, name, dob_text, gender, address, issued_text = fields[:7]
    dob, issued = _date(dob_text), _date(issued_text)
    problems: list[str] = []
    if old_id and not re.fullmatch(r"[0-9]{9}|[0-9]{12}", old_id):
        problems.append("cccd_old_id_format")
    if not _name_ok(name):
        problems.append("cccd_name_invalid")
    if dob is None:
        problems.append("cccd_dob_invalid")
    elif dob > today:
        problems.append("cccd_dob_future")
    if gender not in _GENDERS:
        problems.append("cccd_gender_invalid")
    if not address:
        problems.append("cccd_address_missing")
    problems += _issue_problems(issued, dob, today)
    problems += _id_problems(id_, dob, gender if gender in _GENDERS else None)
    bad = set(problems)
    return {
        "kind": "cccd", "id": id_,
        "old_id": old_id if old_id and "cccd_old_id_format" not in bad else None,
        "name": None if "cccd_name_invalid" in bad else name,
        "dob": dob.isoformat() if dob else None,
        "gender": gender if gender in _GENDERS else None,
        "address": address or None,
        "issued": issued.isoformat() if issued else None,
        "province": PROVINCES.get(id_[:3]),
        "valid": not problems, "problems": problems,
    }
