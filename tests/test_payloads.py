"""Scanned payloads: CCCD, dossier codes and lookup URLs, bookings, VietQR, ticket links, and garbage.

The verdicts come from tests/data/scan_corpus.json: valid and invalid payloads of every family, each with the rule
(and its published source) that decides it — see docs/formats.md. The tests below it cover what a corpus row
cannot: scanner damage that is repaired, dates relative to today, round trips and the CLI.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.vietqr import ascii_message
from devices.payloads import build_vietqr, crc16_ccitt, parse_payload
from devices.payloads.cccd import parse_cccd
from kiosk.i18n import LANGUAGES, catalogue
from tests.support import ROOT

CORPUS = json.loads((ROOT / "tests" / "data" / "scan_corpus.json").read_text(encoding="utf-8"))
TODAY = dt.date.fromisoformat(CORPUS["today"])


def _accepted(result: dict) -> bool:
    return result["kind"] != "unknown" and result.get("valid", True)


@pytest.mark.parametrize("row", CORPUS["rows"], ids=lambda row: f"{row['kind']}-{row['problem'] or 'ok'}")
def test_corpus_verdicts(row):
    """GIVEN a payload from the corpus WHEN it is parsed THEN kind, verdict and reason are the corpus's."""
    result = parse_payload(row["payload"], today=TODAY)
    assert result["kind"] == row["kind"]
    assert _accepted(result) is row["valid"], result.get("problems")
    if row["problem"]:
        assert row["problem"] in result["problems"]
        assert "reason" not in result or result["reason"] == result["problems"][0]


def test_the_examples_in_docs_formats_print_what_the_document_shows():
    lines = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8").splitlines()
    examples = [(line.split("scan-parse ", 1)[1], json.loads(lines[i + 1]))
                for i, line in enumerate(lines) if line.startswith("$ python main.py scan-parse ")]
    assert len(examples) >= 2
    for payload, shown in examples:
        result = subprocess.run([sys.executable, "main.py", "scan-parse", payload], cwd=ROOT, capture_output=True,
                                text=True, timeout=30)
        assert json.loads(result.stdout) == shown


def test_corpus_covers_every_family_both_ways():
    seen = {(row["kind"], row["valid"]) for row in CORPUS["rows"]}
    assert seen >= {(kind, verdict) for kind in ("cccd", "vietqr") for verdict in (True, False)}
    assert seen >= {("dossier", True), ("booking", True), ("ticket", True), ("unknown", False)}
    assert all(row["source"] for row in CORPUS["rows"])


def test_every_refusal_reason_is_worded_for_the_citizen():
    """GIVEN every problem the corpus produces WHEN the screen words it THEN both catalogues have a sentence."""
    problems = {problem for row in CORPUS["rows"]
                for problem in parse_payload(row["payload"], today=TODAY).get("problems", [])}
    assert len(problems) > 30
    for lang in LANGUAGES:
        missing = sorted(p for p in problems if f"scan.problem.{p}" not in catalogue(lang))
        assert missing == [], lang

AN = "001090012345|123456789|Nguyễn Văn An|01011990|Nam|Số 1 Hàng Bạc, Hoàn Kiếm, Hà Nội|15082021"
NGOC = "079303001234||Trần Thị Bích Ngọc|15072003|Nữ|12 Lê Lợi, Quận 1, TP Hồ Chí Minh|20042021"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (AN, {"id": "001090012345", "old_id": "123456789", "name": "Nguyễn Văn An", "dob": "1990-01-01",
              "gender": "Nam", "issued": "2021-08-15", "valid": True}),
        (NGOC, {"old_id": None, "gender": "Nữ", "dob": "2003-07-15", "valid": True}),
        (NGOC + "|", {"valid": True, "issued": "2021-04-20"}),
        (NGOC + "|extra field|another", {"valid": True}),
        ("\ufeff" + AN + "\r\n", {"valid": True, "name": "Nguyễn Văn An"}),
        ("]Q1" + AN, {"valid": True}),  # AIM symbology prefix some scanners add
        (unicodedata.normalize("NFD", AN), {"name": "Nguyễn Văn An", "valid": True}),
        (AN + "\r\n\x00", {"valid": True, "issued": "2021-08-15"}),  # a trailing NUL and CR/LF
    ],
)
def test_cccd_variants(payload, expected):
    result = parse_payload(payload)
    assert result["kind"] == "cccd"
    for key, value in expected.items():
        assert result[key] == value, key


def test_cccd_mojibake_from_a_keyboard_wedge_is_repaired():
    mangled = AN.encode("utf-8").decode("cp1252", errors="ignore")
    assert "Nguyá»" in mangled
    assert parse_payload(mangled)["name"] == "Nguyễn Văn An"
    as_latin1_bytes = AN.encode("utf-8").decode("latin-1").encode("utf-8")
    assert parse_payload(as_latin1_bytes)["name"] == "Nguyễn Văn An"


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (AN.replace("01011990", "01012099"), "cccd_dob_future"),
        (AN.replace("Nguyễn Văn An", "Nguyễn Văn\u00a0An"), "cccd_name_invalid"),  # no-break space
        (AN.replace("Nguyễn Văn An", "Nguyễn Văn An'"), "cccd_name_invalid"),  # an apostrophe only inside a word
    ],
)
def test_invalid_cccd_says_what_is_wrong(payload, problem):
    result = parse_payload(payload)
    assert result["kind"] == "cccd" and result["valid"] is False
    assert problem in result["problems"]


def test_cccd_from_the_future_is_invalid():
    result = parse_cccd(AN, today=dt.date(2021, 1, 1))
    assert "cccd_issued_future" in result["problems"]
    assert result["valid"] is False


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ("000.00.13.H26-251124-0001", "000.00.13.H26-251124-0001"),
        ("  000.00.13.h26-251124-0001\r\n", "000.00.13.H26-251124-0001"),
        ("https://dichvucong.gov.vn/p/home/dvc-tra-cuu-ho-so.html?ma_ho_so=000.20.35.H26-240301-0123",
         "000.20.35.H26-240301-0123"),
        ("https://dichvucong.hanoi.gov.vn/tra-cuu?code=000.00.13.H26-251124-0001&lang=vi",
         "000.00.13.H26-251124-0001"),
        ("https://dichvucong.hanoi.gov.vn/tra-cuu?maHoSo=000.00.13.H26-251124-0001", "000.00.13.H26-251124-0001"),
        ("http://127.0.0.1:8600/d/000.00.13.H26-251124-0002", "000.00.13.H26-251124-0002"),
    ],
)
def test_dossier_codes_and_lookup_urls(payload, code):
    assert parse_payload(payload) == {"kind": "dossier", "code": code}


def test_offline_local_reference_is_a_dossier_marked_local():
    assert parse_payload("KS.HNHK01-251124-0007") == {"kind": "dossier", "code": "KS.HNHK01-251124-0007",
                                                      "local": True}


def test_a_dossier_code_from_tomorrow_is_taken_but_not_from_the_day_after():
    """A kiosk's clock a little behind the agency's must not refuse a code issued a moment ago."""
    assert parse_payload("000.00.13.H26-261202-0001", today=TODAY)["kind"] == "dossier"
    assert parse_payload("000.00.13.H26-261203-0001", today=TODAY)["problems"] == ["dossier_date_future"]


def test_a_refused_code_is_never_echoed():
    result = parse_payload("000.00.13.H26-251399-0001 Nguyễn Văn An 0912345678")
    assert set(result) == {"kind", "reason", "problems", "length"}
    assert "Nguyễn" not in json.dumps(result, ensure_ascii=False)


@pytest.mark.parametrize(
    "payload",
    ["BK-251124-7QK3PZ", "bk-251124-7qk3pz", "https://ihanoi.example/booking/BK-251124-7QK3PZ",
     "http://127.0.0.1:8600/checkin?booking=BK-251124-7QK3PZ"],
)
def test_booking_codes(payload):
    assert parse_payload(payload) == {"kind": "booking", "code": "BK-251124-7QK3PZ"}


def test_ticket_tracking_link():
    assert parse_payload("http://192.168.1.10:8700/t/Ab3_x-9QzK1m") == {
        "kind": "ticket", "ticket_id": "Ab3_x-9QzK1m", "url": "http://192.168.1.10:8700/t/Ab3_x-9QzK1m"}


def test_crc_check_value():
    assert crc16_ccitt(b"123456789") == 0x29B1


def test_vietqr_round_trip_with_vietnamese_message():
    text = build_vietqr("970415", "113366668888", 1_250_000, "Lệ phí hồ sơ 000.00.13.H26-251124-0001")
    result = parse_payload(text)
    assert result["kind"] == "vietqr" and result["crc_ok"] is True
    assert (result["bank_bin"], result["account"], result["amount"]) == ("970415", "113366668888", 1_250_000)
    assert result["message"] == ascii_message("Lệ phí hồ sơ 000.00.13.H26-251124-0001")
    assert result["message"].isascii() and len(result["message"]) <= 25
    assert result["bank_name"] == "VietinBank"


@pytest.mark.parametrize("amount_field", ["540550000", "540850000.00", "540750000.0"])
def test_vietqr_amount_forms(amount_field):
    body = ("00020101021238570010A00000072701270006970436011300110012345670208QRIBFTTA5303704"
            + amount_field + "5802VN6304")
    text = body + f"{crc16_ccitt(body.encode()):04x}"  # lower-case CRC is accepted too
    result = parse_payload(text)
    assert result["amount"] == 50000 and result["crc_ok"] is True


def test_vietqr_without_amount_and_a_tampered_one():
    text = build_vietqr("970436", "0011001234567", None, None)
    assert parse_payload(text)["amount"] is None and parse_payload(text)["crc_ok"]
    tampered = text.replace("0011001234567", "0011001234568")
    result = parse_payload(tampered)
    assert result["kind"] == "vietqr" and result["crc_ok"] is False
    assert result["valid"] is False and result["problems"] == ["vietqr_crc"]


@settings(max_examples=60, deadline=None)
@given(bank=st.from_regex(r"\A9704[0-9][0-9]\Z"), account=st.from_regex(r"\A[0-9]{6,19}\Z"),
       amount=st.one_of(st.none(), st.integers(1, 10**12)),
       message=st.one_of(st.none(), st.text(alphabet="abcdeđươăâ ABC0123456789.-", max_size=40)))
def test_vietqr_build_parse_property(bank, account, amount, message):
    text = build_vietqr(bank, account, amount, message)
    result = parse_payload(text)
    assert result["valid"], result["problems"]
    assert result["crc_ok"] and result["bank_bin"] == bank and result["account"] == account
    assert result["amount"] == amount
    flipped = text[:-5] + ("0" if text[-5] != "0" else "1") + text[-4:]
    assert parse_payload(flipped)["crc_ok"] is False


@pytest.mark.parametrize("payload", [b"", b"\x00\x00\x00", b"\xff\xfe\xfa", b"hello", b"A" * 1_000_000,
                                     "Xin chào".encode("utf-16")])
def test_garbage_is_unknown_and_never_echoed(payload):
    result = parse_payload(payload)
    assert result["kind"] == "unknown"
    assert set(result) <= {"kind", "reason", "problems", "length", "truncated"}


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_classify_without_raising(raw):
    result = parse_payload(raw)
    assert result["kind"] in {"cccd", "dossier", "booking", "vietqr", "ticket", "unknown"}
    json.dumps(result)


@pytest.mark.parametrize(("stdin", "kind"), [(AN.encode() + b"\r\n\x00", "cccd"), (b"\x00\xff" * 5000, "unknown")])
def test_cli_reads_raw_bytes_from_stdin(stdin, kind):
    result = subprocess.run([sys.executable, "main.py", "scan-parse", "-"], cwd=ROOT, input=stdin,
                            capture_output=True, timeout=30)
    assert result.returncode == 0
    assert json.loads(result.stdout)["kind"] == kind


@pytest.mark.parametrize("arg", ["-x", "--help", "BK-251124-7QK3PZ"])
def test_cli_takes_any_argument_as_data(arg):
    result = subprocess.run([sys.executable, "main.py", "scan-parse", arg], cwd=ROOT, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0 and json.loads(result.stdout)["kind"] in {"unknown", "booking"}
