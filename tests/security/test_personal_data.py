"""Personal data attacks of issue 16, each refused: what the scrubber missed, forms and copies kept forever, a data
dir others could read, and one poison outbox item blocking every later filing."""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import sys
import time

import pytest

from backend.app import create_app
from backend.server import open_store, serve_in_thread
from config.loader import load_config
from contracts.scrub import scrub
from contracts.storage import DAY_S, check_and_repair
from kiosk.backend_client import BackendClient
from kiosk.outbox import Outbox
from kiosk.retention import Retention
from tests.support import ROOT, WallClock, deliver_to_a_real_backend, dossier_body
from tests.test_outbox import FailsOn


@pytest.mark.parametrize(("line", "secret"), [
    ("lookup of 001-099-012-345 failed", "099-012"),
    ("lookup of 001 099 012 345 failed", "099 012"),
    ("form rejected: họ tên: Nguyễn Văn An", "Nguyễn Văn An"),
    ("applicant Trần Thị Bình filed HT01", "Trần Thị Bình"),
    ("dob 05/03/1990 does not match the card", "05/03/1990"),
    ("sinh ngày 5 tháng 3 năm 1990", "1990"),
    ("call (024) 3825-1234", "3825"),
])
def test_the_scrubber_catches_what_it_used_to_miss(line, secret):
    assert secret not in scrub(line)


def test_a_dead_outbox_item_does_not_keep_its_form_forever(tmp_path):
    config = load_config(None, [f"data_dir={tmp_path / 'data'}"])
    clock = WallClock(dt.datetime.now(dt.UTC))
    outbox = Outbox(config.data_dir / "outbox.db", "K01", clock)
    ref = outbox.add("dead-forever", {"procedure_id": "NOPE", "form": {"applicant_id": "001099012345"}})
    deliver_to_a_real_backend(outbox, tmp_path / "backend.db")
    assert outbox.find(ref)["state"] == "dead"
    clock.advance(days=config.retention.outbox_dead_days + 1)
    Retention(config, outbox, clock).run_once()
    assert b"001099012345" not in b"".join(p.read_bytes() for p in config.data_dir.glob("outbox.db*"))


def test_corrupt_copies_are_not_kept_forever(tmp_path):
    copy = tmp_path / "corrupt" / "outbox.db.20240101T000000Z"
    copy.parent.mkdir()
    copy.write_text("applicant_id 001099012345")
    long_ago = time.time() - 31 * DAY_S
    os.utime(copy, (long_ago, long_ago))
    check_and_repair(tmp_path / "outbox.db")  # what every opener does at start
    assert not copy.exists()


def test_the_data_dir_is_not_readable_by_other_users(tmp_path):
    data = tmp_path / "data"
    subprocess.run([sys.executable, "main.py", "--set", f"data_dir={data}", "outbox", "list"], cwd=ROOT, check=True,
                   capture_output=True, timeout=60, preexec_fn=lambda: os.umask(0o022))
    for path in (data, data / "outbox.db"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path.name


def test_one_poison_item_does_not_block_later_filings(tmp_path):
    store = open_store(tmp_path / "backend.db")
    backend = serve_in_thread(FailsOn(create_app(store), b"Poison Row"))
    outbox = Outbox(tmp_path / "outbox.db", "K01")
    outbox.add("outbox-poison", dossier_body("HT01", applicant_name="Poison Row"))
    later = [outbox.add(f"outbox-later-{n}", dossier_body("HT01", child_name=f"Bé {n}")) for n in range(3)]
    client = BackendClient(backend.url, store.add_token("kiosk", "k01"), timeout_s=2)
    try:
        outbox.deliver_once(client)
        outbox.deliver_once(client)
    finally:
        client.close()
        backend.stop()
    assert [outbox.find(ref)["state"] for ref in later] == ["delivered"] * 3
