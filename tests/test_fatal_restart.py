"""A fatal error inside the running kiosk's UI loop: restart message on screen, scrubbed log, non-zero exit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time

from PIL import Image

from screens.theme import STANDARD
from tests.support import ARTIFACTS, ROOT, assert_not_blank

CRASHING_KIOSK = textwrap.dedent("""
    import sys
    import screens.runner as runner
    from config.loader import load_config

    real_prepare = runner.prepare_kivy

    def prepare_then_crash(*args, **kwargs):
        real_prepare(*args, **kwargs)
        from kivy.clock import Clock
        from kivy.core.window import Window

        def crash(_dt):
            raise RuntimeError("lookup of 001190012345 blew up")  # personal data must not reach the log

        Clock.schedule_once(crash, 2.0)
        Clock.schedule_once(lambda _dt: Window.screenshot(name=sys.argv[2]), 3.0)

    runner.prepare_kivy = prepare_then_crash
    config = load_config(None, [f"data_dir={sys.argv[1]}", "scanner.connection=sim:127.0.0.1:0",
                                "backend.heartbeat_s=0"])
    from kiosk.cli.embedded import open_backend
    sys.exit(runner.run_kiosk(config, backend=open_backend, windowed=True))
""")


def test_a_crash_in_the_ui_shows_the_restart_screen_and_exits_for_systemd(tmp_path):
    shot = tmp_path / "fatal-.png"  # Kivy numbers it: fatal-0001.png
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen")
    env.pop("DISPLAY", None)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", CRASHING_KIOSK, str(tmp_path / "data"), str(shot)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=90)
    assert done.returncode == 70, done.stderr[-2000:]
    assert time.monotonic() - started < 60  # a hang guard: the crash comes 2 s in and the exit 3 s later
    log = (tmp_path / "data" / "logs" / "kiosk.log").read_text(encoding="utf-8")
    assert "fatal error in the UI, restarting" in log and "RuntimeError" in log
    assert "001190012345" not in log and "001190012345" not in done.stderr
    [image] = sorted(tmp_path.glob("fatal-*.png"))
    final = ARTIFACTS / "screens" / "fatal-restarting.png"
    final.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(image, final)
    assert_not_blank(final)
    corner = Image.open(final).convert("RGB").getpixel((10, 10))
    expected = tuple(round(c * 255) for c in STANDARD.primary_dark[:3])
    assert all(abs(a - b) <= 2 for a, b in zip(corner, expected)), "the restart message covers the whole screen"
