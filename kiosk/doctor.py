"""Installation checks for technicians (``python main.py doctor``) and for the fleet heartbeat.

Each check returns a :class:`Check` with a one-line detail a technician can act on over SSH. Checks never raise:
a failure to check is itself a failed check. The embedded backend and the printer simulator count as reachable.
"""

from __future__ import annotations

import ctypes.util
import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from config.schema import KioskConfig
from contracts.pin import verify_pin
from contracts.secrets import exposure
from kiosk.tls import transport_for, untrusted_certificate, untrusted_message

MIN_FREE_BYTES = 200 * 1024 * 1024
FONT_DIR = Path(__file__).resolve().parent.parent / "assets" / "fonts"
VIETNAMESE_SAMPLE = "ĂÂĐÊÔƠƯăâđêôơư ẤẦẨẪẬỐỒỔỖỘỨỪỬỮỰ ấầẩẫậốồổỗộứừửữự"
EARLIEST_SANE_DATE = dt.date(2025, 1, 1)
DEFAULT_PIN = "246810"  # the demo technician PIN config/default.toml ships (its comment says so): fine for a demo only
MIN_ADMIN_TOKEN = 24  # characters; a random 24-character token is far past guessing, even without the lockout


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
        with httpx.Client(transport=transport_for(config.backend.ca_file),
                          timeout=min(config.backend.timeout_s, 5.0)) as client:
            response = client.get(f"{config.backend.url}/health")
    except (httpx.HTTPError, OSError) as exc:
        if untrusted_certificate(exc):
            return Check("backend", False, untrusted_message(config.backend.url, "backend.ca_file"))
        return Check("backend", False, f"{config.backend.url} unreachable: {type(exc).__name__}")
    return Check("backend", response.status_code == 200, f"{config.backend.url} answered {response.status_code}")


def check_clock(_config: KioskConfig) -> Check:
    today = dt.date.today()
    ok = today >= EARLIEST_SANE_DATE
    return Check("clock", ok, f"{today.isoformat()}" + ("" if ok else " is in the past: check NTP / the RTC battery"))


def check_technician_pin(config: KioskConfig) -> Check:
    if verify_pin(DEFAULT_PIN, config.technician.pin_hash):
        return Check("technician PIN", False, f"still the demo PIN {DEFAULT_PIN}: set technician.pin_hash from "
                                              "`python main.py config pin-hash`")
    return Check("technician PIN", True, "not the demo PIN")


def check_admin_token(_config: KioskConfig) -> Check:
    token = os.environ.get("BACKEND_ADMIN_TOKEN", "")
    short = [len(part.strip()) for part in token.split(",") if 0 < len(part.strip()) < MIN_ADMIN_TOKEN]
    if short:
        return Check("admin token", False, f"BACKEND_ADMIN_TOKEN has {short[0]} characters, needs "
                                           f"{MIN_ADMIN_TOKEN}: python3 -c 'import secrets; "
                                           "print(secrets.token_urlsafe(32))'")
    return Check("admin token", True, "long enough" if token else "none in this environment")


def check_secret_files(files: Sequence[Path]) -> Check:
    """Key and secret files other users could read or change (``doctor --secret-file``, a site config holding a
    token)."""
    for path in files:
        try:
            exposed = exposure(path)
        except OSError as exc:
            return Check("secret files", False, f"{path}: {exc.strerror}")
        if exposed:
            return Check("secret files", False, f"{path} is {exposed}: run `chmod 600 {path}`")
    return Check("secret files", True, f"{len(files)} checked, none readable by other users")


CHECKS: tuple[Callable[[KioskConfig], Check], ...] = (
    check_data_dir, check_disk, check_fonts, check_gl, check_printer, check_backend, check_clock,
    check_technician_pin, check_admin_token,
)


def run_checks(config: KioskConfig, secret_files: Sequence[Path] = ()) -> list[Check]:
    """Every check in :data:`CHECKS`, and the permissions of ``secret_files`` when there are any."""
    checks = [*CHECKS, *([lambda _config: check_secret_files(secret_files)] if secret_files else [])]
    results = []
    for check in checks:
        try:
            results.append(check(config))
        except Exception as exc:  # noqa: BLE001 — a crashing check must not hide the others
            results.append(Check(check.__name__.removeprefix("check_"), False, f"check failed: {exc}"))
    return results
