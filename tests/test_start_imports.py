"""A kiosk shows its first frame without the libraries it does not need yet, so it starts light and fast.

Each test runs a real ``python main.py --windowed`` (default config: embedded backend, simulated devices). A
``sitecustomize`` module on ``PYTHONPATH`` wraps the app's first-frame handler when ``screens.app`` is imported and
writes ``sys.modules`` to a file at that frame, and again at exit, so the test sees what the first frame cost and
that the modules it was spared did load later (the check is real, not a hook that saw nothing).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT, eventually

SITECUSTOMIZE = '''
import atexit, functools, importlib.abc, importlib.machinery, os, sys

def _write(name):
    with open(os.path.join(os.environ["MODULES_DIR"], name), "w") as fh:
        fh.write("\\n".join(sorted(sys.modules)))

class _WrapFirstFrame(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != "screens.app":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            first_flip = module.KioskApp._first_flip

            @functools.wraps(first_flip)  # Kivy binds methods by name
            def wrapped(self, *args):
                _write("first-frame.txt")
                first_flip(self, *args)

            module.KioskApp._first_flip = wrapped

        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, _WrapFirstFrame())
atexit.register(_write, "exit.txt")
'''
NOT_AT_FIRST_FRAME = {
    "numpy", "pandas", "cv2", "zxingcpp",  # camera scanners only, and sqlite_utils' optional numpy types
    "rich", "pygments",  # httpx's command-line client
    "uvicorn", "starlette", "jinja2", "backend",  # the embedded backend starts once the first frame is shown
    "screens.queue", "screens.lookup", "screens.filing", "screens.survey", "screens.maintenance",  # built on use
}


def run_kiosk_until(tmp_path: Path, ready: str, *settings: str) -> tuple[set[str], set[str]]:
    """Start the kiosk, wait for ``ready`` (a path under its data dir) to exist, stop it: its modules then."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": str(hook), "MODULES_DIR": str(tmp_path), "SDL_VIDEODRIVER": "offscreen",
           "KIVY_NO_ARGS": "1"}
    env.pop("DISPLAY", None)
    command = [sys.executable, "main.py", "--windowed", "--set", f"data_dir={data}",
               "--set", "scanner.connection=sim:127.0.0.1:0", *(word for item in settings for word in ("--set", item))]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        def up() -> bool:
            assert proc.poll() is None, f"the kiosk exited: {proc.stderr.read()}"
            return (tmp_path / "first-frame.txt").exists() and (data / ready).exists()

        eventually(up, message=f"first frame and {ready}")
        proc.terminate()
        assert proc.wait(timeout=30) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return (set((tmp_path / "first-frame.txt").read_text().split()),
            set((tmp_path / "exit.txt").read_text().split()))


def loaded(names: set[str], modules: set[str]) -> set[str]:
    return {name for name in names if any(m == name or m.startswith(name + ".") for m in modules)}


def test_the_first_frame_of_a_default_kiosk_waits_for_no_camera_library_server_or_other_screen(tmp_path):
    at_first_frame, at_exit = run_kiosk_until(tmp_path, "backend/backend.db")
    assert "screens.home" in at_first_frame  # the hook wrote at the frame, with the home screen built
    assert loaded(NOT_AT_FIRST_FRAME, at_first_frame) == set()
    assert {"uvicorn", "backend"} <= loaded(NOT_AT_FIRST_FRAME, at_exit)  # the embedded backend ran afterwards
    assert loaded({"numpy", "cv2", "zxingcpp", "rich"}, at_exit) == set()  # and it needed none of these either


def test_a_kiosk_with_a_remote_backend_never_loads_the_backend_server(tmp_path):
    _at_first_frame, at_exit = run_kiosk_until(tmp_path, "queue.db", "backend.url=http://127.0.0.1:9")
    assert "screens.home" in at_exit
    assert loaded({"uvicorn", "starlette", "jinja2", "backend", "numpy"}, at_exit) == set()
