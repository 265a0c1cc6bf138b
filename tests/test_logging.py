"""The kiosk log: scrubbed of personal data on every handler, rotated at its size cap."""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest

from kiosk.heartbeat import Heartbeat, read_log_tail
from kiosk.logfile import BACKUPS, MAX_BYTES, ScrubPersonalData, configure_logging, scrub
from tests.support import ADMIN_TOKEN, ROOT, kiosk_token

CORPUS = json.loads((ROOT / "tests" / "data" / "scrub_corpus.json").read_text(encoding="utf-8"))
CCCD = "001099012345"
QR = f"{CCCD}|123456789|Nguyễn Văn An|01011990|Nam|Số 1 Hàng Trống, Hoàn Kiếm, Hà Nội|01012021"


@pytest.fixture
def root_logger():
    """configure_logging changes the root logger: put it back as it was after each test."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    yield root
    for handler in root.handlers:
        if handler not in saved_handlers:
            handler.close()
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


@pytest.mark.parametrize(("line", "expected"), [
    (f"scanned {CCCD} at the kiosk", "scanned [cccd] at the kiosk"),
    (f"payload {QR}", "payload [cccd-qr]"),
    ("call 0912345678 back", "call [phone] back"),
    ("call 0912 345 678 back", "call [phone] back"),
    ("call 0912.345.678 back", "call [phone] back"),
    ("call +84 912 345 678 back", "call [phone] back"),
    ("call 84912345678 back", "call [phone] back"),
    ("office 024 3825 1234", "office [phone]"),
    ("form name=Nguyễn Văn An dob=01/01/1990", "form name=[name]"),
    ('body {"applicant_name": "Nguyễn Văn An", "fee": 0}', 'body {"applicant_name":[name]'),
])
def test_personal_data_is_replaced_by_markers(line, expected):
    assert scrub(line) == expected


@pytest.mark.parametrize("line", [
    "dossier 000.00.13.H26-251120-0001 delivered",
    "ticket A001 printed at 2026-11-24T09:00:00.123456+07:00",
    "scanner listening on 127.0.0.1:8765, took 0.25 s",
    "outbox item 12 rejected: 422 invalid_form",
])
def test_what_technicians_need_is_kept(line):
    assert scrub(line) == line


@pytest.mark.parametrize(("line", "expected"), CORPUS["scrub"])
def test_corpus_personal_data_is_scrubbed(line, expected):
    assert scrub(line) == expected


@pytest.mark.parametrize("line", CORPUS["keep"])
def test_corpus_references_times_and_counts_are_kept(line):
    assert scrub(line) == line


def test_the_corpus_covers_both_sides():
    assert len(CORPUS["scrub"]) >= 40 and len(CORPUS["keep"]) >= 20


def test_scrubbing_twice_changes_nothing_more():
    """The backend scrubs again what the kiosk already scrubbed: markers must survive a second pass."""
    for line, expected in CORPUS["scrub"]:
        assert scrub(expected) == expected, line


def test_a_kiosk_log_tail_reaches_the_admin_page_scrubbed(tmp_path, root_logger, capsys, admin_backend):
    """End to end: lines the kiosk logs, the tail its heartbeat sends, the log page an administrator reads."""
    configure_logging(tmp_path / "logs", level=logging.INFO)
    log = logging.getLogger("kiosk.filing_flow")
    log.warning("lookup of 001 099 012 345 failed for 0912-345-678")
    log.warning("form rejected: họ tên: Nguyễn Văn An, sinh ngày 5 tháng 3 năm 1990 (dob 05/03/1990)")
    log.info("dossier 000.00.13.H26-251120-0001 delivered after 3 attempts")
    capsys.readouterr()
    body = {"branch": "Hoàn Kiếm", "app_version": "0.1.0", "printer": "ok", "scanner": "listening",
            "outbox_depth": 0, "uptime_s": 60, "log_tail": read_log_tail(tmp_path / "logs" / "kiosk.log")}
    token = kiosk_token(admin_backend, "K01")
    assert Heartbeat(admin_backend.url, token, "K01", 30, lambda: body).beat()
    with httpx.Client(base_url=admin_backend.url, timeout=10) as browser:
        form = browser.get("/admin/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        browser.post("/admin/login", data={"csrf": csrf, "token": ADMIN_TOKEN, "next": "/admin/fleet"})
        page = browser.get("/admin/kiosks/K01/log")
    assert page.status_code == 200
    assert "lookup of [cccd] failed for [phone]" in page.text
    assert "họ tên: [name], sinh [date] (dob [date])" in page.text
    assert "dossier 000.00.13.H26-251120-0001 delivered after 3 attempts" in page.text
    for secret in ("099 012", "345-678", "Nguyễn Văn An", "1990"):
        assert secret not in page.text


def test_log_file_and_stderr_are_scrubbed_tracebacks_included(tmp_path, root_logger, capsys):
    handler = configure_logging(tmp_path / "logs")
    log = logging.getLogger("kiosk.test")
    log.warning("scan %s from %s", CCCD, "0912 345 678")
    try:
        raise ValueError(f"bad form name=Nguyễn Văn An id {CCCD}")
    except ValueError:
        log.exception("filing failed")
    handler.flush()
    written = (tmp_path / "logs" / "kiosk.log").read_text(encoding="utf-8")
    for text in (written, capsys.readouterr().err):
        assert "scan [cccd] from [phone]" in text and "name=[name]" in text and "Traceback" in text
        assert CCCD not in text and "345 678" not in text and "Nguyễn" not in text


def test_the_file_rotates_at_one_mebibyte_and_keeps_five(tmp_path, root_logger, capsys):
    configure_logging(tmp_path / "logs")
    log = logging.getLogger("kiosk.test")
    line = "x" * 200
    for _ in range(int(3.5 * MAX_BYTES / 250)):
        log.warning("%s", line)
    capsys.readouterr()
    files = sorted(path.name for path in (tmp_path / "logs").iterdir())
    assert files == ["kiosk.log", "kiosk.log.1", "kiosk.log.2", "kiosk.log.3"]
    assert all((tmp_path / "logs" / name).stat().st_size <= MAX_BYTES for name in files)
    assert (MAX_BYTES, BACKUPS) == (1024 * 1024, 5)


def test_old_files_beyond_the_backups_are_dropped(tmp_path, root_logger, capsys):
    configure_logging(tmp_path / "logs", max_bytes=10_000, backups=2)
    log = logging.getLogger("kiosk.test")
    for n in range(1000):
        log.warning("line %04d %s", n, "y" * 80)
    capsys.readouterr()
    files = sorted(path.name for path in (tmp_path / "logs").iterdir())
    assert files == ["kiosk.log", "kiosk.log.1", "kiosk.log.2"]
    assert sum((tmp_path / "logs" / name).stat().st_size for name in files) <= 3 * 10_000
    assert "line 0999" in (tmp_path / "logs" / "kiosk.log").read_text(encoding="utf-8")


def test_configuring_again_replaces_the_handlers(tmp_path, root_logger, capsys):
    configure_logging(tmp_path / "a")
    configure_logging(tmp_path / "b")
    logging.getLogger("kiosk.test").warning("once")
    capsys.readouterr()
    assert "once" not in (tmp_path / "a" / "kiosk.log").read_text()
    assert (tmp_path / "b" / "kiosk.log").read_text().count("once") == 1


def test_a_malformed_log_call_is_kept_scrubbed_instead_of_raising():
    """The filter runs before formatting: a wrong argument count must not crash the caller (nor leak the args)."""
    record = logging.LogRecord("kiosk.test", logging.WARNING, __file__, 1, "two values %s %s", (CCCD,), None)
    assert ScrubPersonalData().filter(record)
    assert record.getMessage() == "two values %s %s ('[cccd]',)"
