"""A shortened soak (bench/soak.py) under ``-m slow``: fds and threads flat, data files bounded, RSS contained.

The bench runs in a child process (Kivy's window is per process and the soak needs its own configuration: a real
backend it can stop and start, a simulated calendar for retention). Small window and few sessions keep it to a few
minutes on a loaded two-core machine; the full run and its figures are in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support import ROOT

SESSIONS, EVERY, PER_DAY, WARMUP = 120, 20, 3, 40  # 40 simulated days: retention's 30 days are passed
# paper out in sessions 40-43, the backend away in 60-69 (a filing, look-ups)
PAST_FIRST_FAULTS = 80


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_short_soak_keeps_fds_threads_and_data_files_flat(tmp_path):
    out = tmp_path / "soak.json"
    result = subprocess.run(
        [sys.executable, "bench/soak.py", "--sessions", str(SESSIONS), "--every", str(EVERY), "--per-day",
         str(PER_DAY), "--warmup", str(WARMUP), "--size", "540x960", "--fault-every", "100", "--max-seconds", "1500", "--out", str(out),
         "--data-dir", str(tmp_path / "kiosk")],
        cwd=ROOT, capture_output=True, text=True, timeout=1700, env={**os.environ, "KIVY_NO_ARGS": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    soak = json.loads(out.read_text())
    assert soak["sessions"] == SESSIONS, "the run ended before its sessions (time bound)"
    outcomes = soak["outcomes"]
    for kind in ("ticket printed", "ticket failed", "filed", "filed offline", "survey", "idle reset", "help ticket"):
        assert outcomes.get(kind), f"no {kind!r} among {outcomes}"
    assert any(key.startswith("look-up") for key in outcomes) and any(key.startswith("scan look-up") for key in outcomes)

    after = [s for s in soak["samples"] if s["sessions"] >= WARMUP]
    fds = [s["fds"] for s in after]
    threads = [s["threads"] for s in after]
    # the kiosk's HTTP clients open and close keep-alive connections as the backend drops out and comes back:
    # a few fds either way (70-73 here; 82-85 over 2,500 sessions of the long run), never a climb
    assert max(fds) - min(fds) <= 4 and fds[-1] - fds[0] <= 2, f"open fds move after warm-up: {fds}"
    assert max(threads) - min(threads) <= 1, f"threads move after warm-up: {threads}"
    # the first fault cycle still warms up the offline paths (the backend's outage at 60-69 added 0 to 25 MiB once
    # in runs here); past it, the goal: +1 to +3 MiB from 80 to 120 sessions, main's kiosk and this one alike
    rss = {s["sessions"]: s["rss_mib"] for s in after}
    assert rss[SESSIONS] - rss[WARMUP] <= 40, rss
    assert rss[SESSIONS] - rss[PAST_FIRST_FAULTS] <= 10, rss

    printed_per_day_bound = PER_DAY * 2  # at most a ticket and a slip or receipt a session
    spool = [s["files"]["spool files"] for s in after]
    assert spool[-1] <= 31 * printed_per_day_bound, f"the spool keeps more than 30 days: {spool}"
    half = len(after) // 2
    for name, size in after[-1]["files"].items():
        if name.endswith(".db"):
            assert size <= 2 * 1024 * 1024, f"{name} is {size} bytes after {SESSIONS} sessions"
            assert size - after[half]["files"][name] <= 256 * 1024, f"{name} keeps growing"

