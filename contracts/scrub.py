"""Personal data out of text that leaves its place: log lines, heartbeat log tails, error messages.

Replaced by a marker: whole CCCD QR payloads, CCCD (12 digits) and old CMND (9 digits) numbers and Vietnamese phone
numbers (``0…``, ``84…``, ``+84…``) written with or without spaces, dots, dashes or brackets, dates of a day
(``5/3/1990``, ``05-03-1990``, ``1990-03-05``, ``ngày 5 tháng 3 năm 1990``), e-mail addresses, everything after
``name=`` (or a ``"...name":`` JSON key), and a name after a field word (``họ tên``, ``tên``, ``name``,
``applicant``, ``người nộp``, ``chủ hộ``, ``ông``/``bà`` …): after ``:`` or ``=`` the value up to the next
delimiter, otherwise the capitalised words that follow.

Kept as they are, because a technician needs them and none is personal: dossier codes (``000.00.13.H26-251120-0001``)
and receipts' local references, UUIDs, timestamps (a date followed by a time), times, addresses and ports,
versions, byte counts and durations. The kiosk scrubs its log and what it sends; the backend scrubs again what it
stores, so a kiosk with an older scrubber cannot leak through it. The patterns err on the side of hiding too much:
a log line is worth less than a citizen's privacy.
"""

from __future__ import annotations

import re

# Tokens that look like numbers but are references: cut out before the patterns run, put back unchanged after.
_KEEP = re.compile(
    r"\b\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}-\d{6}-\d{4}\b"  # national dossier code
    r"|\bKS\.[A-Z0-9]+-\d{6}-\d{4}\b"  # the outbox's local reference
    r"|\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")  # UUID
_START = r"(?<![\w+])(?<!\d\.)"  # a number's first digit: not inside a word, a decimal or after a '+'
_END = r"(?!\w)(?!\.\d)"  # its last: not followed by more of a word or a decimal
_SEP = r"[ .\-]?"  # between the digits of a number written in groups
_DAY, _MONTH, _YEAR = r"(?:0?[1-9]|[12]\d|3[01])", r"(?:0?[1-9]|1[0-2])", r"(?:19|20)\d\d"
_TIME_AFTER = r"(?![T ]\d{1,2}:\d{2})"  # a date with a time is a timestamp (log lines begin with one)
_FIELD = (r"họ\s+và\s+tên|họ\s+tên|họ_tên|ho_ten|tên|full[ _]?name|applicant(?:_name)?|name|người\s+nộp(?:\s+hồ\s+sơ)?"
          r"|người\s+khai|người\s+yêu\s+cầu|người\s+đại\s+diện|chủ\s+hộ|công\s+dân|citizen|ông|bà|mr|mrs|ms")
_WORD = r"[^\W\d_]+"

PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<!\d)\d{12}\|[^\n]*"), "[cccd-qr]"),  # id|old id|name|birth date|sex|address|issue date
    (re.compile(r"(?i)(name(?:=|[\"']\s*:))[^\n]*"), r"\1[name]"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    # dates of a day, in numbers or in words; not a timestamp, not a day without its year ("2/9")
    (re.compile(rf"(?<![\w/.-]){_DAY}([/.-]){_MONTH}\1{_YEAR}(?![\w/.-])"), "[date]"),
    (re.compile(rf"(?<![\w/.-]){_YEAR}([/-]){_MONTH}\1{_DAY}(?![\w/.-]){_TIME_AFTER}"), "[date]"),
    (re.compile(rf"(?i)(?<!\w)(?:ngày\s+{_DAY}\s+)?tháng\s+{_MONTH}\s+năm\s+{_YEAR}(?!\d)"), "[date]"),
    # phone numbers: +84 first (a +84 landline has as many digits as a CCCD), then CCCD, then 0… and 84…
    (re.compile(rf"\(?\+84\)?(?:[ .\-()]{{0,2}}\d){{9,10}}{_END}"), "[phone]"),
    (re.compile(rf"{_START}\d(?:{_SEP}\d){{11}}{_END}"), "[cccd]"),
    (re.compile(rf"{_START}\(?(?:84|0(?![.,]))(?:[ .\-()]{{0,2}}\d){{9,10}}{_END}"), "[phone]"),
    (re.compile(rf"{_START}\d{{3}}{_SEP}\d{{3}}{_SEP}\d{{3}}{_END}(?!\s*(?:bytes?|[KMG]i?B|B|ms|s)\b)"), "[number]"),
    (re.compile(rf"{_START}\d{{10,}}{_END}(?!\s*(?:bytes?|[KMG]i?B|B|ms|s)\b)"), "[number]"),  # cards, accounts
)
# a field word, then either ": value" / "= value" (up to a delimiter) or the capitalised words after it
_VALUE_END = r",;|\"'\n)}\]"  # a value after ':' or '=' stops at these (or at the end of the line)
_NAMED = re.compile(rf"(?i)(?<!\w)({_FIELD})(?:(?P<sep>[\"']?\s*[:=]\s*[\"']?)"
                    rf"(?P<value>[^\s\[{_VALUE_END}][^{_VALUE_END}]*)"
                    rf"|(?P<space>\s+)(?P<words>{_WORD}(?:[ \t]+{_WORD}){{0,5}}))")


def _name(match: re.Match[str]) -> str:
    if match["sep"] is not None:
        return f"{match[1]}{match['sep']}[name]" + (" " if match["value"].endswith(" ") else "")
    words = match["words"].split()
    capitalised = 0
    while capitalised < len(words) and words[capitalised][0].isupper():
        capitalised += 1
    if not capitalised:
        return match[0]
    rest = " ".join(words[capitalised:])
    return f"{match[1]}{match['space']}[name]" + (f" {rest}" if rest else "")


def _scrub_part(text: str) -> str:
    for pattern, marker in PATTERNS:
        text = pattern.sub(marker, text)
    return _NAMED.sub(_name, text)


def scrub(text: str) -> str:
    """``text`` with personal data replaced by markers (references, timestamps and counts left as they were)."""
    parts = _KEEP.split(text)
    kept = _KEEP.findall(text)
    out = [_scrub_part(parts[0])]
    for reference, part in zip(kept, parts[1:]):
        out += [reference, _scrub_part(part)]
    return "".join(out)
