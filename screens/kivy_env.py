"""Prepare Kivy's process-wide settings before Kivy is imported.

Kivy reads environment variables and its Config at import time and parses ``sys.argv`` unless told not to, so
this must run first. Without a display (a headless machine, CI) SDL's offscreen driver renders with software
OpenGL — screenshots included — so no Xvfb is needed.
"""

from __future__ import annotations

import os
from pathlib import Path


def prepare_kivy(kivy_home: Path, *, width: int, height: int, fullscreen: bool) -> None:
    """Set the environment and Kivy Config for a kiosk window of ``width``×``height``."""
    kivy_home.mkdir(parents=True, exist_ok=True)
    os.environ["KIVY_HOME"] = str(kivy_home)
    os.environ["KIVY_NO_ARGS"] = "1"
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")

    from kivy.config import Config

    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "borderless", "1" if fullscreen else "0")
    Config.set("graphics", "show_cursor", "0" if fullscreen else "1")
    Config.set("graphics", "resizable", "0" if fullscreen else "1")
    # Kivy asks for 2× multisampling by default; without a GPU, Mesa's llvmpipe then shades every pixel of the
    # window several times: a forced redraw of the home screen cost 202 ms of CPU with it, 71 ms without
    # (docs/BENCHMARKS.md, touch to frame).
    Config.set("graphics", "multisamples", "0")
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "log_level", "warning")
    Config.set("input", "mouse", "mouse,disable_multitouch")
