"""Cold start to first frame and RSS after start: the kiosk vs a bare one-label Kivy app, in the same run.

Each run is a fresh process started from here; the clock runs from ``Popen`` until the process reports its first
frame on stderr, so interpreter start-up and imports count. RSS is read from /proc one second after the first
frame and again once the kiosk has settled (``--settle`` seconds after it: the backend started, the first heartbeat
and content poll sent, the ticker scrolling). The bare app runs twice: at Kivy's defaults (2× multisampling) and
with the kiosk's GL settings (none), which alone is 66 MiB less on software GL; the kiosk is reported against both.
Runs alternate between the three so machine noise hits them alike. Usage: ``python bench/startup.py [--runs 5]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BARE_APP = """
import os, sys
os.environ["KIVY_NO_ARGS"] = "1"; os.environ["KIVY_LOG_MODE"] = "PYTHON"
from kivy.config import Config
Config.set("graphics", "width", "1080"); Config.set("graphics", "height", "1920")
if sys.argv[1:] == ["--kiosk-gl"]:
    Config.set("graphics", "multisamples", "0")  # as screens/kivy_env.py sets it for the kiosk
from kivy.app import App
from kivy.core.window import Window
from kivy.uix.label import Label

class Bare(App):
    def build(self):
        Window.bind(on_flip=self.flipped)
        return Label(text="Xin chào")
    def flipped(self, *_):
        Window.unbind(on_flip=self.flipped)
        print("first frame after", file=sys.stderr, flush=True)

Bare().run()
"""


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def measure(cmd: list[str], env: dict[str, str], settle_s: float) -> tuple[float, float, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        for line in proc.stderr:
            if "first frame after" in line:
                break
        else:
            raise RuntimeError(f"{cmd} exited without a first frame")
        elapsed = time.perf_counter() - started
        time.sleep(1.0)
        early = rss_mib(proc.pid)
        time.sleep(max(settle_s - 1.0, 0.0))
        return elapsed, early, rss_mib(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="passed to the kiosk, e.g. --set backend.url=http://127.0.0.1:9 (a remote backend)")
    parser.add_argument("--settle", type=float, default=5.0, metavar="SECONDS",
                        help="read the settled RSS this long after the first frame (default 5)")
    args = parser.parse_args()
    runs = args.runs
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen", KIVY_NO_ARGS="1")
    env.pop("DISPLAY", None)
    with tempfile.TemporaryDirectory() as tmp:
        env["KIVY_HOME"] = tmp
        kiosk_cmd = [sys.executable, "main.py", "--windowed", "--set", f"data_dir={tmp}/data",
                     "--set", "scanner.connection=sim:127.0.0.1:0"]
        kiosk_cmd += [part for item in args.overrides for part in ("--set", item)]
        bare_script = Path(tmp) / "bare_app.py"
        bare_script.write_text(BARE_APP)
        apps = {"bare": [sys.executable, str(bare_script)],
                "bare-gl": [sys.executable, str(bare_script), "--kiosk-gl"],
                "kiosk": kiosk_cmd}
        measure(apps["bare"], env, 1.0)  # warm the page cache so the first measured run is not an outlier
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in apps}
        for _ in range(runs):
            for name, cmd in apps.items():
                results[name].append(measure(cmd, env, args.settle))
                print(f"{name:7s} %.2f s  RSS %.0f MiB at +1 s, %.0f MiB settled" % results[name][-1], flush=True)
    med = {name: tuple(statistics.median(run[i] for run in rs) for i in range(3)) for name, rs in results.items()}
    print(f"runs per app: {runs} (median); bare: Kivy's defaults, bare-gl: the kiosk's GL settings")
    for name, (t, early, settled) in med.items():
        print(f"{name:7s} first frame {t:.2f} s   RSS {early:.0f} MiB at +1 s, {settled:.0f} MiB settled")
    kt, ke, ks = med["kiosk"]
    for bare in ("bare", "bare-gl"):
        bt, be, bs = med[bare]
        print(f"kiosk - {bare}: {kt - bt:+.2f} s ({kt / bt:.1f}x), {ke - be:+.0f} MiB at +1 s, {ks - bs:+.0f} MiB "
              f"settled (goal: at most +0.5 s and +60 MiB)")


if __name__ == "__main__":
    main()
