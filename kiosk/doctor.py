"""Installation checks for technicians (``python main.py doctor``) and for the fleet heartbeat.

Each check returns a :class:`Check` with a one-line detail a technician can act on over SSH. Checks never raise:
a failure to check is itself a failed check. The embedded backend and the printer simulator count as reachable.
"""

from __future__ import annotations

import ctypes.util
import datetime as dt
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from config.schema import KioskConfig

MIN_FREE_BYTES = 200 * 1024 * 1024
FONT_DIR = Path(__file__).resolve().parent.parent / "assets" / "fonts"
VIETNAMESE_SAMPLE = "ĂÂĐÊÔƠƯăâđêôơư ẤẦẨẪẬỐỒỔỖỘỨỪỬỮỰ ấầẩẫậốồổỗộứừửữự"
EARLIEST_SANE_DATE = dt.date(2025, 1, 1)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def check_data_dir(config: KioskConfig) -> Check:
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=config.data_dir, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check("data dir", False, f"{config.data_dir} is not writable: {exc.strerror}")
    return Check("data dir", True, f"{config.data_dir.resolve()} writable")


def check_disk(config: KioskConfig) -> Check:
    target = config.data_dir if config.data_dir.exists() else Path.cwd()
    free = shutil.disk_usage(target).free
    ok = free >= MIN_FREE_BYTES
    return Check("disk space", ok, f"{free // (1024 * 1024)} MiB free" + ("" if ok else " (need 200 MiB)"))


def check_fonts(_config: KioskConfig) -> Check:
    from fontTools.ttLib import TTFont

    fonts = sorted(FONT_DIR.glob("*.ttf"))
    if not fonts:
        return Check("fonts", False, f"no .ttf in {FONT_DIR}")
    for font in fonts:
        cmap = TTFont(font).getBestCmap()
        missing = [ch for ch in VIETNAMESE_SAMPLE if not ch.isspace() and ord(ch) not in cmap]
        if missing:
            return Check("fonts", False, f"{font.name} lacks {''.join(missing)}")
    return Check("fonts", True, f"{len(fonts)} fonts with full Vietnamese coverage")


def check_gl(_config: KioskConfig) -> Check:
    missing = [lib for lib in ("GL", "EGL", "mtdev") if ctypes.util.find_library(lib) is None]
    if missing:
        return Check("display libraries", False, f"missing lib{', lib'.join(missing)} (run `make run` as root)")
    return Check("display libraries", True, "libGL, libEGL, libmtdev present")


def check_printer(config: KioskConfig) -> Check:
    from devices.factory import open_printer

    try:
        printer = open_printer(config)
        status = printer.status()
        printer.close()
    except Exception as exc:  # noqa: BLE001 — any driver failure is the answer to this check
        return Check("printer", False, f"{config.printer.connection}: {exc}")
    return Check("printer", status.can_print, f"{config.printer.connection} ({config.printer.profile}): {status.value}")


def check_backend(config: KioskConfig) -> Check:
    if config.backend.url == "embedded":
        return Check("backend", True, "embedded reference backend (started with the kiosk)")
    try:
        response = httpx.get(f"{config.backend.url}/health", timeout=min(config.backend.timeout_s, 5.0))
    except httpx.HTTPError as exc:
        return Check("backend", False, f"{config.backend.url} unreachable: {type(exc).__name__}")
    return Check("backend", response.status_code == 200, f"{config.backend.url} answered {response.status_code}")


def check_clock(_config: KioskConfig) -> Check:
    today = dt.date.today()
    ok = today >= EARLIEST_SANE_DATE
    return Check("clock", ok, f"{today.isoformat()}" + ("" if ok else " is in the past: check NTP / the RTC battery"))


CHECKS: tuple[Callable[[KioskConfig], Check], ...] = (
    check_data_dir, check_disk, check_fonts, check_gl, check_printer, check_backend, check_clock,
)


def run_checks(config: KioskConfig) -> list[Check]:
    results = []
    for check in CHECKS:
        try:
            results.append(check(config))
        except Exception as exc:  # noqa: BLE001 — a crashing check must not hide the others
            results.append(Check(check.__name__.removeprefix("check_"), False, f"check failed: {exc}"))
    return results
