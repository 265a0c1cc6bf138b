"""The contracts of ``python main.py``: help, config check, bad config exit 2, start headless, stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests.support import ROOT, LineTail


def run_main(*args: str, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, **kwargs
    )


def test_help_lists_commands():
    result = run_main("--help")
    assert result.returncode == 0
    assert "config" in result.stdout and "--set" in result.stdout and "--windowed" in result.stdout


def test_config_check_ok_and_bad(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[kiosk]\nid = "HN-CN-02"\n')
    assert run_main("config", "check", str(good)).stdout.strip() == "OK"
    bad = tmp_path / "bad.toml"
    bad.write_text('[printer]\nprofil = "generic-58"\n')
    result = run_main("config", "check", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip() == f"{bad}: printer.profil: unknown key (misspelt?)"


def test_kiosk_with_misspelt_key_exits_2_with_one_line_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[scaner]\nkind = "sim"\n')
    result = run_main("--config", str(bad), "--windowed")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"{bad}: scaner: unknown key (misspelt?)"]
    assert "Traceback" not in result.stderr


def test_set_after_the_command_works_too(tmp_path):
    result = run_main("config", "show", "--set", "printer.paper_width_mm=58")
    assert result.returncode == 0 and '"paper_width_mm": 58' in result.stdout


def test_kiosk_starts_headless_logs_first_frame_and_stops_on_sigterm(tmp_path):
    env = dict(os.environ, SDL_VIDEODRIVER="offscreen")
    env.pop("DISPLAY", None)
    proc = subprocess.Popen(
        [sys.executable, "main.py", "--windowed", "--set", f"data_dir={tmp_path}", "--set",
         "scanner.connection=sim:127.0.0.1:0"],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True,
    )
    try:
        LineTail(proc.stderr).wait_for("first frame after", timeout=60)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0  # a bound only a hang reaches: it stops in about a second
    finally:
        proc.kill()
