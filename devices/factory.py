"""Build device drivers from configuration: the connection string picks the driver.

Like pyserial's ``serial_for_url``, callers pass the configured string and get an object with the common
interface; the simulator is just another scheme (``sim:``), so the default config runs with no hardware.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from config.schema import KioskConfig, parse_connection
from devices.errors import DeviceNotFound
from devices.file_printer import FilePrinter
from devices.printer import Printer
from devices.sim.printer import SimPrinter
from devices.sim.scanner import SimScanner


def open_printer(config: KioskConfig) -> Printer:
    conn = parse_connection(config.printer.connection)
    if conn.scheme == "sim":
        return SimPrinter(config.spool_dir, fault=conn.options.get("fault"), preview=_previewer(config))
    if conn.scheme == "file":
        return FilePrinter(Path(conn.target))
    raise DeviceNotFound(f"no driver for {conn.scheme}: printers in this build")


def _previewer(config: KioskConfig) -> Callable[[bytes], bytes]:
    """Render jobs to PNG; imported on the first job so start-up does not pay for PIL and the renderer."""

    def preview(job: bytes) -> bytes:
        from devices.escpos.preview import preview_png
        from devices.escpos.profiles import load_profile

        return preview_png(job, load_profile(config.printer.profile))

    return preview


def open_scanner(config: KioskConfig) -> SimScanner:
    host, port = parse_connection(config.scanner.connection).host_port
    return SimScanner(host, port)
