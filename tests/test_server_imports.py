"""A running ``queue serve`` or ``backend serve`` loads no kiosk code, no screen and no Kivy.

Each server runs as a real ``python main.py … serve`` process. A ``sitecustomize`` module on ``PYTHONPATH`` (Python
imports it at start-up) handles SIGTERM: uvicorn shuts down gracefully, puts the previous handler back and raises
the signal again, and then the hook writes the process's ``sys.modules`` to a file before it dies as it would have.
So the test sees every module the server loaded, at start and while answering requests, however it was imported.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from backend.server import free_port
from tests.support import ROOT, eventually

SITECUSTOMIZE = '''
import os, signal, sys

def _write_modules_then_die(signum, frame):
    with open(os.environ["LOADED_MODULES_FILE"], "w") as fh:
        fh.write("\\n".join(sorted(sys.modules)))
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)

signal.signal(signal.SIGTERM, _write_modules_then_die)
'''
OURS = ("kiosk", "screens", "devices", "queueing", "backend", "contracts", "config")
TOKENS = {name: f"{name.lower()}-for-tests" for name in (
    "QUEUE_KIOSK_TOKEN", "QUEUE_REPORT_TOKEN", "BACKEND_ADMIN_TOKEN", "BACKEND_KIOSK_TOKEN",
    "BACKEND_PAYMENT_SECRET", "BACKEND_REPORT_TOKEN")}
TOKENS["QUEUE_KIOSK_TOKEN"] = "K1:queue-kiosk-token-for-tests"  # <kiosk id>:<secret>


def loaded_modules(tmp_path: Path, *command: str) -> set[str]:
    """Start ``python main.py <command> --port P``, wait until it answers, ask it twice, stop it: its modules."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    out = tmp_path / "modules.txt"
    port = free_port()
    env = {**os.environ, **TOKENS, "PYTHONPATH": str(hook), "LOADED_MODULES_FILE": str(out)}
    proc = subprocess.Popen([sys.executable, "main.py", *command, "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        def answers() -> bool:
            assert proc.poll() is None, f"{' '.join(command)} exited: {proc.stderr.read()}"
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        eventually(answers, message=f"{' '.join(command)} answering /health")
        assert httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=10).status_code == 200
        proc.terminate()
        assert proc.wait(timeout=30) == -signal.SIGTERM, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return set(out.read_text().split())


def packages(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules if name.split(".")[0] in OURS + ("kivy",)}


def kiosk_beyond_the_cli(modules: set[str]) -> set[str]:
    return {name for name in modules if name.startswith("kiosk.") and name.split(".")[:2] != ["kiosk", "cli"]}


@pytest.mark.parametrize(
    ("command", "server_module", "allowed"),
    [
        (("queue", "serve", "--db", "{tmp}/queue.db", "--set", "data_dir={tmp}/data"), "queueing.server",
         {"kiosk", "queueing", "contracts", "config"}),
        (("backend", "serve", "--db", "{tmp}/backend.db"), "backend.app",
         {"kiosk", "backend", "contracts", "config"}),
    ],
    ids=["queue serve", "backend serve"],
)
def test_a_running_server_loads_only_its_server_the_contracts_and_the_config(tmp_path, command, server_module,
                                                                           allowed):
    modules = loaded_modules(tmp_path, *(word.format(tmp=tmp_path) for word in command))
    assert server_module in modules and "uvicorn" in modules  # the hook saw the server itself
    assert kiosk_beyond_the_cli(modules) == set()
    assert packages(modules) <= allowed, f"unexpected: {sorted(packages(modules) - allowed)}"
    assert not any(name.startswith(("kivy", "screens")) for name in modules)
