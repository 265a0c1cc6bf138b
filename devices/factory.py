"""Build device drivers from configuration: the connection string picks the driver.

Like pyserial's ``serial_for_url``, callers pass the configured string and get an object with the common
interface; the simulator is just another scheme (``sim:``), so the default config runs with no hardware.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from config.schema import KioskConfig, parse_connection
from devices.file_printer import FilePrinter
from devices.printer import Printer
from devices.scanners import SerialScanner, UnavailableScanner
from devices.sim.printer import SimPrinter
from devices.sim.scanner import SimScanner
from devices.transports import SerialPrinter, TcpPrinter, UsbPrinter

if TYPE_CHECKING:
    from devices.camera import CameraScanner
    from devices.hid_scanner import HidScanner


def open_printer(config: KioskConfig) -> Printer:
    conn = parse_connection(config.printer.connection)
    if conn.scheme == "sim":
        return SimPrinter(config.spool_dir, fault=conn.options.get("fault"), preview=_previewer(config))
    if conn.scheme == "file":
        return FilePrinter(Path(conn.target))
    if conn.scheme == "serial":
        return SerialPrinter(conn.target, baudrate=int(conn.options.get("baudrate", 9600)),
                             rtscts=conn.options.get("rtscts") == "1", xonxoff=conn.options.get("xonxoff") == "1",
                             **_confirmation(conn.options))
    if conn.scheme == "tcp":
        return TcpPrinter(*conn.host_port, **_confirmation(conn.options))
    return UsbPrinter(*conn.usb_ids)


def _confirmation(options: dict[str, str]) -> dict[str, Any]:
    """``confirm=0``: no return line, a sent job counts as printed; ``timeout=SECONDS``: the wait for its status."""
    settings: dict[str, Any] = {"confirm": options.get("confirm") != "0"}
    if "timeout" in options:  # checked by parse_connection
        settings["confirm_timeout"] = float(options["timeout"])
    return settings


def _previewer(config: KioskConfig) -> Callable[[bytes], bytes]:
    """Render jobs to PNG; imported on the first job so start-up does not pay for PIL and the renderer."""

    def preview(job: bytes) -> bytes:
        from devices.escpos.preview import preview_png
        from devices.escpos.profiles import load_profile

        return preview_png(job, load_profile(config.printer.profile))

    return preview


def open_scanner(config: KioskConfig) -> SimScanner | SerialScanner | HidScanner | CameraScanner | UnavailableScanner:
    if config.scanner.kind == "camera":
        try:  # OpenCV and zxing-cpp are loaded only when a camera is configured
            from devices.camera import CameraScanner
        except ImportError as exc:
            return UnavailableScanner(f"camera scanners need opencv-python-headless and zxing-cpp ({exc})")
        try:
            return CameraScanner(config.scanner.connection)
        except ValueError as exc:
            return UnavailableScanner(str(exc))
    conn = parse_connection(config.scanner.connection)
    if conn.scheme == "hid":
        try:  # evdev is Linux-only and loaded only when a keyboard-wedge scanner is configured
            from devices.hid_scanner import HidScanner
        except ImportError:
            return UnavailableScanner("hid: scanners need python-evdev (Linux only): .venv/bin/pip install evdev")
        return HidScanner(conn.target, layout=conn.options.get("layout", "us"))
    if conn.scheme == "serial":
        return SerialScanner(conn.target, baudrate=int(conn.options.get("baudrate", 9600)))
    host, port = conn.host_port
    return SimScanner(host, port)
