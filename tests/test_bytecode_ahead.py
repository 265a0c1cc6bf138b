"""The kiosk starts from compiled bytecode even where Python may not write it (``PYTHONDONTWRITEBYTECODE``, a
service user without write access): the bootstrap compiles the project's modules ahead. Compiling them from source
at every start cost ~0.3 s of the kiosk's start here (docs/BENCHMARKS.md, "Start-up")."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

IMPORTS = "import config.loader, kiosk.core, kiosk.cli"  # what the kiosk imports before its window opens


def bootstrap_compile_command() -> list[str]:
    line = next(line for line in (ROOT / "scripts" / "bootstrap.sh").read_text().splitlines()
                if "compileall" in line and not line.lstrip().startswith("#"))
    words = shlex.split(re.sub(r"\s*>\s*/dev/null\s*$", "", line))
    assert words[0] == ".venv/bin/python", line
    return [sys.executable, *words[1:]]


def loaded_from_source(project: Path) -> list[str]:
    """The project's modules that ``IMPORTS`` compiled from source (``python -v``: "code object from X.py")."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, "-v", "-c", IMPORTS], cwd=project, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return re.findall(rf"^# code object from '?({re.escape(str(project))}/[^'\n]+\.py)'?$", result.stderr, re.MULTILINE)


def test_the_bootstrap_compiles_every_module_the_kiosk_imports_before_its_first_frame(tmp_path):
    project = tmp_path / "checkout"
    command = bootstrap_compile_command()
    for name in command[command.index("-j0") + 1:]:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            project.mkdir(exist_ok=True)
            shutil.copy2(source, project / name)

    before = loaded_from_source(project)
    assert len(before) > 30 and any(path.endswith("kiosk/core.py") for path in before)  # the check sees them

    subprocess.run(command, cwd=project, check=True, capture_output=True, timeout=300)
    assert loaded_from_source(project) == []
