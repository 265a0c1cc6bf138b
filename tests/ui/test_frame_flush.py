"""Frames drawn offscreen are handed to Mesa's software renderer one by one, so it holds no backlog of them.

Each case is a fresh process (Kivy's window is one per process): a label redrawn frame after frame, glibc's heap
in use read before and after. Without :func:`screens.frame_flush.flush_each_frame` the same run shows the backlog
(the check is real, not a hook that saw nothing).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from screens.native_heap import heap_figures
from tests.support import ROOT

pytestmark = pytest.mark.skipif(not heap_figures(), reason="glibc only: the figure is glibc's heap in use")

REDRAWN = '''
import json, sys, tempfile
from screens.kivy_env import prepare_kivy
prepare_kivy(__import__("pathlib").Path(tempfile.mkdtemp()), width=540, height=960, fullscreen=False)
from kivy.base import EventLoop
from kivy.core.window import Window
from kivy.uix.label import Label
from screens.frame_flush import flush_each_frame
from screens.native_heap import heap_figures

if sys.argv[1] == "flush":
    flush_each_frame()
    flush_each_frame()  # idempotent
label = Label(text="Xin chào", font_size=40)
Window.add_widget(label)
EventLoop.ensure_window()
for _ in range(20):
    EventLoop.idle()
before = heap_figures()["heap_used_mib"]
for _ in range(300):
    label.canvas.ask_update()
    EventLoop.idle()
print(json.dumps({"growth_mib": heap_figures()["heap_used_mib"] - before}))
'''


def heap_growth(mode: str) -> float:
    result = subprocess.run([sys.executable, "-c", REDRAWN, mode], cwd=ROOT, capture_output=True, text=True,
                            timeout=600, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])["growth_mib"]


def test_three_hundred_redrawn_frames_leave_no_backlog_in_the_renderer():
    assert heap_growth("flush") < 3
    assert heap_growth("none") > 10  # what the flush saves: some 65 KiB a frame, held ~1,000 frames
