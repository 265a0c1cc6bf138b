"""Build device drivers from configuration: the connection string picks the driver.

Like pyserial's ``serial_for_url``, callers pass the configured string and get an object with the common
interface; the simulator is just another scheme (``sim:``), so the default config runs with no hardware.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from config.schema import KioskConfig, parse_connection
from devices.file_printer import FilePrinter
from devices.printer import Printer
from devices.scanners import SerialScanner, UnavailableScanner
from devices.sim.printer import SimPrinter
from devices.sim.scanner import SimScanner
from devices.transports import SerialPrinter, TcpPrinter, UsbPrinter


def open_printer(config: KioskConfig) -> Printer:
    conn = parse_connection(config.printer.connection)
    if conn.scheme == "sim":
        return SimPrinter(config.spool_dir, fault=conn.options.get("fault"), preview=_previewer(config))
    if conn.scheme == "file":
        return FilePrinter(Path(conn.target))
    if conn.scheme == "serial":
        return SerialPrinter(conn.target, baudrate=int(conn.options.get("baudrate", 9600)),
                             rtscts=conn.options.get("rtscts") == "1", xonxoff=conn.options.get("xonxoff") == "1")
    if conn.scheme == "tcp":
        return TcpPrinter(*conn.host_port)
    return UsbPrinter(*conn.usb_ids)


def _previewer(config: KioskConfig) -> Callable[[bytes], bytes]:
    """Render jobs to PNG; imported on the first job so start-up does not pay for PIL and the renderer."""

    def preview(job: bytes) -> bytes:
        from devices.escpos.preview import preview_png
        from devices.escpos.profiles import load_profile

        return preview_png(job, load_profile(config.printer.profile))

    return preview


def open_scanner(config: KioskConfig) -> SimScanner | SerialScanner | UnavailableScanner:
    if config.scanner.kind in ("hid", "camera"):
        return UnavailableScanner(f"{config.scanner.kind} scanners are not supported by this build; "
                                  "set the scanner to USB-CDC/serial mode and use serial:DEVICE")
    conn = parse_connection(config.scanner.connection)
    if conn.scheme == "serial":
        return SerialScanner(conn.target, baudrate=int(conn.options.get("baudrate", 9600)))
    host, port = conn.host_port
    return SimScanner(host, port)
