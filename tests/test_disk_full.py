"""A full disk while the kiosk issues numbers and files dossiers: clear refusals, no damage, nothing committed lost.

The kiosk runs in a child process whose storage runs out, in two ways that need no root:
- ``RLIMIT_FSIZE`` with SIGXFSZ ignored: every file stops growing at a size, writes fail with EFBIG, which SQLite
  reports as "disk I/O error" (SQLITE_IOERR_WRITE);
- a real 4 MiB tmpfs in a private mount namespace (``unshare -Urm``), filled with a ballast file: writes fail with
  ENOSPC, which SQLite reports as "database or disk is full" (SQLITE_FULL). Skipped where user namespaces are off.
The child prints each committed ticket and outbox item as one JSON line the moment it is acknowledged; then the
space comes back (limit raised, ballast deleted) and the same kiosk must issue and file again. The parent checks
the files afterwards: integrity_check passes and every acknowledged row is there, and no refused one is.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

CHILD = r'''
import json, os, resource, shutil, signal, sys
from pathlib import Path

sys.path.insert(0, sys.argv[4])
from config.loader import load_config
from kiosk.cli.embedded import open_backend
from kiosk.core import KioskCore
from kiosk.queue_flow import QueueRefused
from contracts.storage import StorageFull

data, mode, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
config = load_config(None, [f"data_dir={data}", "scanner.connection=sim:127.0.0.1:0", "printer.kind=file",
                            "printer.connection=file:/dev/null"])
core = KioskCore(config, backend=open_backend)
FORM = {"procedure_id": "HT01", "form": {"applicant_name": "Nguyễn Văn An", "phone": "0912345678"}}


def emit(**fields):
    print(json.dumps(fields), flush=True)


if mode == "rlimit":
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    _soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    limit = max(path.stat().st_size for path in data.glob("*.db*")) + 256 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    free_space = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
else:
    ballast = data / "ballast"
    with open(ballast, "wb", buffering=0) as file:
        try:
            while True:
                file.write(b"\0" * 4096)
        except OSError:
            pass
    os.truncate(ballast, max(0, ballast.stat().st_size - 512 * 1024))
    free_space = lambda: ballast.unlink()

queue_full = outbox_full = False
for n in range(2000):
    if not queue_full:
        try:
            ticket = core.queue.take("HT")
            emit(ticket=ticket.id, number=ticket.number)
        except QueueRefused as refusal:
            emit(refused=refusal.message_key)
            queue_full = True
    if not outbox_full:
        try:
            emit(ref=core.outbox.add(f"key-{n}", FORM))
        except StorageFull as exc:
            emit(outbox_refused=str(exc))
            outbox_full = True
    if queue_full and outbox_full:
        break

free_space()
ticket = core.queue.take("HT")
emit(ticket=ticket.id, number=ticket.number, after=True)
emit(ref=core.outbox.add("key-after", FORM), after=True)
core.close()
core.queue._queue.close()
out.mkdir(exist_ok=True)
for path in data.glob("*.db*"):
    shutil.copyfile(path, out / path.name)
'''


def run_child(tmp_path: Path, mode: str, wrapper: list[str]) -> tuple[list[dict], str, Path]:
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    data, out = tmp_path / "data", tmp_path / "out"
    data.mkdir()
    proc = subprocess.run([*wrapper, sys.executable, str(script), str(data), mode, str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=240, cwd=ROOT)  # a hang guard: each ticket waits for its fsync, slow on a busy disk
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in proc.stdout.splitlines()], proc.stderr, out


def check_outcome(lines: list[dict], stderr: str, out: Path, expected_code: str) -> None:
    tickets = [line for line in lines if "ticket" in line]
    refs = [line["ref"] for line in lines if "ref" in line]
    refusal = next(line["refused"] for line in lines if "refused" in line)
    assert refusal == "queue.storage_full"
    assert next(line for line in lines if "outbox_refused" in line)["outbox_refused"].endswith(f"({expected_code})")
    assert len(tickets) > 2 and len(refs) > 2  # some work was acknowledged before the disk filled up
    # the refused number was not used up: the ticket after the disk was freed takes it
    assert [t["number"] for t in tickets] == [f"A{n:03d}" for n in range(1, len(tickets) + 1)]
    assert tickets[-1].get("after") and lines[-1].get("after")

    for name in ("queue.db", "outbox.db"):
        with sqlite3.connect(out / name) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok", name
        conn.close()
    with sqlite3.connect(out / "queue.db") as conn:
        stored = [row[0] for row in conn.execute("SELECT id FROM tickets ORDER BY rowid")]
    conn.close()
    assert stored == [t["ticket"] for t in tickets]
    with sqlite3.connect(out / "outbox.db") as conn:
        stored_refs = [row[0] for row in conn.execute("SELECT local_ref FROM outbox ORDER BY seq")]
    conn.close()
    assert stored_refs == refs

    reports = [line for line in stderr.splitlines() if "storage full" in line]
    assert any(f"queue write refused ({expected_code})" in line for line in reports)
    assert any(f"outbox write refused ({expected_code})" in line for line in reports)
    assert "Nguyễn" not in stderr and "0912345678" not in stderr


def test_file_size_limit_refuses_cleanly_and_keeps_every_committed_row(tmp_path):
    lines, stderr, out = run_child(tmp_path, "rlimit", [])
    check_outcome(lines, stderr, out, "SQLITE_IOERR_WRITE")


def test_a_full_tmpfs_refuses_cleanly_and_keeps_every_committed_row(tmp_path):
    mount_then_run = 'mount -t tmpfs -o size=4m tmpfs "$0" && exec "$@"'
    wrapper = ["unshare", "-Urm", "sh", "-c", mount_then_run, str(tmp_path / "data")]
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "-Urm", "sh", "-c", "mount -t tmpfs tmpfs /mnt"], capture_output=True).returncode:
        pytest.skip("no unprivileged mount namespace here to mount a small tmpfs in")
    lines, stderr, out = run_child(tmp_path, "ballast", wrapper)
    check_outcome(lines, stderr, out, "SQLITE_FULL")
