"""requirements.lock: matches pyproject.toml, pins every package with hashes, honours the advisory floors, and
(slow, needs the package index) installs into a fresh venv that imports the kiosk's and the tests' packages."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support import ROOT

LOCK = (ROOT / "requirements.lock").read_text(encoding="utf-8")
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
PINS = {canonicalize_name(name): Version(version) for name, version in re.findall(r"^([\w.-]+)==(\S+)", LOCK, re.M)}
DECLARED = [Requirement(line) for line in [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["test"]]]


def test_the_lock_was_made_from_these_dependencies():
    declared = subprocess.run([sys.executable, "scripts/deps_hash.py"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    assert LOCK.splitlines()[0] == f"# dependencies of pyproject.toml: {declared}", "run `make lock`"


def test_every_pin_carries_hashes():
    blocks = re.split(r"\n(?=[\w.-]+==)", LOCK)[1:]
    assert len(blocks) == len(PINS) > 40
    assert all("--hash=sha256:" in block for block in blocks)


def test_every_declared_dependency_is_pinned_within_its_range():
    for requirement in DECLARED:
        if requirement.marker and not requirement.marker.evaluate({"sys_platform": "linux"}):
            continue
        pinned = PINS.get(canonicalize_name(requirement.name))
        assert pinned is not None, f"{requirement.name} is not in requirements.lock"
        assert requirement.specifier.contains(pinned, prereleases=True), f"{requirement.name} {pinned}"


@pytest.mark.parametrize(("name", "floor"), [("starlette", "0.40"), ("h11", "0.16"), ("pillow", "10.3"),
                                             ("jinja2", "3.1.5"), ("uvicorn", "0.30")])
def test_pins_are_past_the_published_advisories(name, floor):
    assert PINS[name] >= Version(floor)


@pytest.mark.slow
def test_a_fresh_venv_from_the_lock_imports_everything(tmp_path):
    """What bootstrap does on a new machine (about two minutes: it downloads every package)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "--require-hashes", "-r", str(ROOT / "requirements.lock")],
                   check=True, capture_output=True, timeout=1200)
    imports = ("kivy, escpos, serial, qrcode, PIL, httpx, sqlite_utils, pydantic, starlette, uvicorn, h11, httptools, "
               "nacl, polib, fontTools, jinja2, evdev, tomlkit, pytest, hypothesis, zxingcpp, playwright, importlinter")
    result = subprocess.run([python, "-c", f"import {imports}"], capture_output=True, text=True, cwd=tmp_path,
                            env={**os.environ, "KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1"}, timeout=120)
    assert result.returncode == 0, result.stderr
