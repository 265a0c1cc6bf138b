"""bench/ui_latency.py runs end to end: one round gives a touch-to-frame figure for every citizen path and the bare
app, and a fault case ends each of its paths in one of the kiosk's own messages. No timing is asserted: the figures
are a benchmark (docs/BENCHMARKS.md), and a loaded machine must not fail the suite."""

from __future__ import annotations

import json
import subprocess
import sys

from kiosk.i18n import tr
from tests.support import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from ui_latency import FAULT_PATHS, KIOSK_PATHS  # noqa: E402


def test_one_round_and_one_fault_case_give_every_figure_and_ending(tmp_path):
    out, png = tmp_path / "figures.json", tmp_path / "frames.png"
    run = subprocess.run([sys.executable, "bench/ui_latency.py", "--rounds", "1", "--cpus", "1",
                          "--fault", "printer:drop", "--json", str(out), "--histogram", str(png)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    figures = json.loads(out.read_text(encoding="utf-8"))
    (cpu_run,) = figures["runs"]
    assert cpu_run["cpus"] == "1 CPU" and cpu_run["bare"]["n"] == 10
    assert set(cpu_run["paths"]) == set(KIOSK_PATHS)
    assert cpu_run["paths"]["key → glyph"]["n"] == 8 and cpu_run["paths"]["filing: form → next step"]["n"] == 3
    assert all(0 < path["p50"] <= path["p95"] <= path["max"] for path in cpu_run["paths"].values())
    (fault,) = figures["faults"]
    assert fault["fault"] == "printer:drop" and set(fault["ended"]) == set(FAULT_PATHS)
    assert fault["all_defined"], fault["ended"]
    # the ticket stands whatever the printer did: its screen says how the print went
    assert fault["ended"]["take a number"] == tr("ticket.printed", "vi") or \
        fault["ended"]["take a number"].startswith(tr("ticket.print_failed", "vi", reason="").split("(")[0])
    assert png.stat().st_size > 1000


def test_draw_cost_gives_every_view_against_an_empty_window(tmp_path):
    out = tmp_path / "views.json"
    run = subprocess.run([sys.executable, "bench/ui_latency.py", "--draw-cost", "--redraws", "2", "--json", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    views = json.loads(out.read_text(encoding="utf-8"))["views"]
    assert list(views) == ["empty window", "home", "queue", "queue + idle warning", "lookup", "lookup: keyboard",
                           "survey", "filing: catalogue", "filing: results", "filing: detail", "filing: form"]
    assert all(cost["wall"] > 0 and cost["cpu"] >= 0 for cost in views.values())
    assert "| queue + idle warning |" in run.stdout
