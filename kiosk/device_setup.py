"""Printer and scanner setup for the maintenance screen (and ``devices status``): detect, test, save, probe.

The technician edits a :class:`DeviceDraft` — printer connection, model profile, paper width, scanner connection,
serial baud rates — chosen from what :func:`detect` finds: serial ports (``serial.tools.list_ports``, including the
udev links ``/dev/kiosk-printer`` / ``/dev/kiosk-scanner``), USB printer-class devices (interface class 7, read
from sysfs: that is what the ``usb:`` driver prints through, and it needs no libusb/pyusb), and keyboard-wedge
scanners (python-evdev, when installed) and cameras (``/dev/video*`` that OpenCV opens and reads a frame from).
"In thử" renders the sample ticket for the draft and sends it on a worker.

"Lưu" writes the *site config*: the file given with ``--config``, or ``<data_dir>/site.toml`` when the kiosk was
started without one (start the kiosk with ``--config <data_dir>/site.toml`` to load it). Only the ``[printer]``
and ``[scanner]`` tables change; comments and every other key of the file are kept (tomlkit). The new text is
written to ``site.toml.tmp`` and fsynced, validated exactly as the next start will read it (defaults + this file),
the old file is copied to ``site.toml.bak``, and the temporary file replaces the site file atomically. The caller
gets the running config with the new device sections and swaps its devices without a restart.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import tomlkit
from pydantic import ValidationError
from tomlkit.exceptions import TOMLKitError

from config.loader import ConfigError, load_config
from config.schema import KioskConfig, PrinterSection, ScannerSection, parse_connection
from devices.errors import DeviceError, DeviceNotFound, DeviceOffline
from kiosk.printing import PrintQueue

SITE_FILE = "site.toml"
BAUD_RATES = (9600, 19200, 38400, 57600, 115200)
PAPER_WIDTHS = (58, 80)
USB_SYSFS = Path("/sys/bus/usb/devices")
USB_PRINTER_CLASS = "07"
SIM_PRINTER = "sim:"
SIM_SCANNER = "sim:127.0.0.1:8765"
CAMERA = "camera:"
CCCD_SHOWN_DIGITS = 3  # of a scanned CCCD's ID on the technician's screen: enough to tell test cards apart


def site_config_path(config: KioskConfig, given: Path | None) -> Path:
    """Where "Lưu" writes: the ``--config`` file, else ``<data_dir>/site.toml``."""
    return given if given is not None else config.data_dir / SITE_FILE


@dataclass(frozen=True)
class Choice:
    """One selectable connection; ``label`` adds what the technician recognises (model, USB ids)."""

    connection: str
    label: str


@dataclass(frozen=True)
class Detected:
    printers: list[Choice]
    scanners: list[Choice]


def serial_ports() -> list[Choice]:
    from serial.tools import list_ports

    return [Choice(f"serial:{port.device}", f"serial:{port.device} · {port.description}"
                   + (f" ({port.vid:04x}:{port.pid:04x})" if port.vid is not None else ""))
            for port in sorted(list_ports.comports(include_links=True), key=lambda port: port.device)]


def usb_printers(sysfs: Path = USB_SYSFS) -> list[Choice]:
    """USB devices with a printer-class interface (``<bus>-<port>:<config>.<interface>/bInterfaceClass == 07``)."""
    found: dict[str, Choice] = {}
    for interface in sorted(sysfs.glob("*:*")):
        try:
            if (interface / "bInterfaceClass").read_text().strip() != USB_PRINTER_CLASS:
                continue
            device = sysfs / interface.name.split(":")[0]
            vid, pid = ((device / name).read_text().strip() for name in ("idVendor", "idProduct"))
        except OSError:
            continue
        product = " ".join(_read(device / name) for name in ("manufacturer", "product")).strip()
        found[f"usb:{vid}:{pid}"] = Choice(f"usb:{vid}:{pid}", f"usb:{vid}:{pid} · {product or 'USB printer'}")
    return list(found.values())


def hid_keyboards() -> list[Choice]:
    """Keyboard-like input devices (a keyboard-wedge scanner is one); empty without python-evdev."""
    try:
        from devices.hid_scanner import keyboards
    except ImportError:
        return []
    choices = []
    for device in keyboards():
        ids = f"{device.info.vendor:04x}:{device.info.product:04x}"
        choices.append(Choice(f"hid:{ids}", f"hid:{ids} · {device.name}"))
        device.close()
    return choices


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def cameras(paths: list[str] | None = None) -> list[Choice]:
    """V4L2 cameras that deliver a frame (``paths``: which device nodes to try, default every ``/dev/video*``).

    OpenCV is imported only here: detection runs on a worker when the technician asks, not at start.
    """
    from devices.camera import list_cameras

    return [Choice(f"{CAMERA}{path}", f"{CAMERA}{path} · camera") for path in list_cameras(paths)]


def detect(sysfs: Path = USB_SYSFS) -> Detected:
    """What is plugged in now, as printer and scanner choices (the simulators are always offered)."""
    ports = serial_ports()
    return Detected(
        printers=[Choice(SIM_PRINTER, "sim: · simulator"), *ports, *usb_printers(sysfs)],
        scanners=[Choice(SIM_SCANNER, f"{SIM_SCANNER} · simulator"), *ports, *hid_keyboards(), *cameras()],
    )


def detected_cameras(found: Detected) -> list[str]:
    """The cameras among the detected scanners, as their connections."""
    return [choice.connection for choice in found.scanners if choice.connection.startswith(CAMERA)]


def split_baud(connection: str) -> tuple[str, int]:
    """``serial:/dev/ttyUSB0?baudrate=115200&rtscts=1`` → (``serial:/dev/ttyUSB0?rtscts=1``, 115200)."""
    base, _, query = connection.partition("?")
    options = dict(parse_qsl(query))
    baud = options.pop("baudrate", "9600")
    return (f"{base}?{urlencode(options)}" if options else base), int(baud) if baud.isdigit() else 9600


def with_baud(connection: str, baud: int) -> str:
    """Put the baud rate back on a serial connection; other kinds have none."""
    if not connection.startswith("serial:"):
        return connection
    return f"{connection}{'&' if '?' in connection else '?'}baudrate={baud}"


@dataclass(frozen=True)
class DeviceDraft:
    """The device settings being edited; connections are kept without their baud rate."""

    printer: str
    printer_baud: int
    profile: str
    paper_width_mm: int
    scanner: str
    scanner_baud: int

    @classmethod
    def of(cls, config: KioskConfig) -> DeviceDraft:
        printer, printer_baud = split_baud(config.printer.connection)
        scanner, scanner_baud = split_baud(config.scanner.connection)
        return cls(printer, printer_baud, config.printer.profile, config.printer.paper_width_mm, scanner,
                   scanner_baud)

    def sections(self) -> dict[str, dict[str, Any]]:
        """The ``[printer]`` and ``[scanner]`` tables as they go into the site file."""
        printer = with_baud(self.printer, self.printer_baud)
        scanner = with_baud(self.scanner, self.scanner_baud)
        return {
            "printer": {"kind": _scheme(printer), "connection": printer, "profile": self.profile,
                        "paper_width_mm": self.paper_width_mm},
            "scanner": {"kind": _scheme(scanner), "connection": scanner},
        }

    def applied_to(self, config: KioskConfig) -> KioskConfig:
        """``config`` with this draft's devices; raises :class:`ConfigError` naming the bad setting."""
        sections = self.sections()
        built: dict[str, PrinterSection | ScannerSection] = {}
        for name, model in (("printer", PrinterSection), ("scanner", ScannerSection)):
            try:
                built[name] = model(**sections[name])
            except ValidationError as exc:
                raise ConfigError([f"{name}: {error['msg'].removeprefix('Value error, ')}"
                                   for error in exc.errors()]) from None
        return config.model_copy(update=built)


def _scheme(connection: str) -> str:
    return connection.partition(":")[0]


class DeviceSetup:
    """The maintenance screen's device setup over the running configuration and the live print queue."""

    def __init__(self, config: KioskConfig, site_path: Path, print_queue: PrintQueue) -> None:
        self.config = config
        self.site_path = site_path
        self.draft = DeviceDraft.of(config)
        self._live = print_queue

    def change(self, **values: Any) -> None:
        """Change draft fields, e.g. ``change(paper_width_mm=58)``."""
        self.draft = replace(self.draft, **values)

    def test_print(self, done: Callable[[DeviceError | None], None]) -> None:
        """Print the sample ticket with the draft settings on a worker; ``done`` gets the outcome (worker thread).

        A job for the printer in use (same connection, whatever the drafted profile or width) goes through the live
        print queue, so a test never interleaves with a citizen's ticket on the same device.
        :raises ConfigError: when the draft is not a valid setting.
        """
        config = self.draft.applied_to(self.config)
        live = config.printer.connection == self.config.printer.connection
        threading.Thread(target=self._print_sample, args=(config, live, done), name="test-print", daemon=True).start()

    def _print_sample(self, config: KioskConfig, live: bool, done: Callable[[DeviceError | None], None]) -> None:
        from devices.escpos.render import render
        from devices.escpos.sample import sample_ticket
        from devices.factory import open_printer
        from kiosk.tickets import printer_profile

        try:
            job = render(sample_ticket(), printer_profile(config))
        except ValueError as exc:  # a profile the renderer refuses (unknown name, impossible combination)
            done(DeviceError(f"{config.printer.profile}: {exc}"))
            return
        if live:
            self._live.submit(job, done)
            return
        printer = open_printer(config)
        try:
            printer.send(job)
        except DeviceError as exc:
            done(exc)
            return
        except OSError as exc:
            done(DeviceOffline(str(exc)))
            return
        finally:
            printer.close()
        done(None)

    def save(self) -> KioskConfig:
        """Write the draft into the site file (validated, atomic, ``.bak`` kept); returns the config to apply."""
        self.draft.applied_to(self.config)  # a bad draft is refused before the file is touched
        saved = save_device_sections(self.site_path, self.draft.sections())
        self.config = self.config.model_copy(update={"printer": saved.printer, "scanner": saved.scanner})
        return self.config


def save_device_sections(site_path: Path, sections: dict[str, dict[str, Any]]) -> KioskConfig:
    """Merge ``sections`` into the TOML file at ``site_path`` and return the configuration it now gives."""
    try:
        document = tomlkit.parse(site_path.read_text(encoding="utf-8")) if site_path.exists() else tomlkit.document()
    except (OSError, UnicodeDecodeError, TOMLKitError) as exc:
        raise ConfigError([f"{site_path}: cannot read the site config to update it: {exc}"]) from None
    for name, values in sections.items():
        if name not in document:
            document[name] = tomlkit.table()
        for key, value in values.items():
            document[name][key] = value
    tmp = site_path.with_name(site_path.name + ".tmp")
    try:
        site_path.parent.mkdir(parents=True, exist_ok=True)
        _write_durable(tmp, tomlkit.dumps(document).encode("utf-8"))
        try:
            saved = load_config(tmp)
        except ConfigError as exc:
            tmp.unlink()
            raise ConfigError([line.replace(str(tmp), str(site_path)) for line in exc.problems]) from None
        if site_path.exists():
            backup = site_path.with_name(site_path.name + ".bak")
            shutil.copy2(site_path, backup)
            _fsync(backup)
        os.replace(tmp, site_path)
        _fsync(site_path.parent)
    except OSError as exc:  # read-only /etc under systemd's ProtectSystem, a full disk, wrong owner
        with suppress(OSError):
            tmp.unlink()
        raise ConfigError([f"{site_path}: cannot write: {exc.strerror or exc} (the kiosk user needs write access to "
                           f"{site_path.parent})"]) from None
    return saved


def _write_durable(path: Path, data: bytes) -> None:
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def scan_summary(payload: dict[str, Any]) -> str:
    """One line per parsed field, for the technician's test scan (shown, never logged).

    A CCCD carries a citizen's name, birth date and address, and a technician testing a camera needs none of it:
    it shows as its kind, whether it is valid (with the reasons when not) and the ID's last digits only.
    """
    if payload.get("kind") == "cccd":
        payload = {"kind": "cccd", "id": _masked_id(payload.get("id")), "valid": payload.get("valid", False),
                   **({"problems": payload["problems"]} if payload.get("problems") else {})}
    return "\n".join(f"{key}: {json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value}"
                     for key, value in payload.items())


def _masked_id(number: Any) -> str:
    text = str(number or "")
    return "•" * max(len(text) - CCCD_SHOWN_DIGITS, 0) + text[-CCCD_SHOWN_DIGITS:]


def probe_scanner(config: KioskConfig) -> str:
    """A status code for the configured scanner as seen from another process (``devices status``).

    ``listening`` (a kiosk's simulator accepts payloads), ``ok`` (port or input device present and readable, a
    camera delivering frames), ``in_use`` (a running kiosk holds the keyboard-wedge scanner), ``not_found`` (also a
    camera that does not open), ``offline`` (also a camera that opens but sends no frame — or is busy in a running
    kiosk's scan step), ``unsupported``.
    """
    if config.scanner.kind == "camera":
        return _probe_camera(config.scanner.connection)
    conn = parse_connection(config.scanner.connection)
    if conn.scheme == "sim":
        try:
            socket.create_connection(conn.host_port, timeout=1).close()
        except OSError:
            return "offline"
        return "listening"
    if conn.scheme == "hid":
        return _probe_hid(conn.target)
    if conn.scheme == "serial":
        import serial

        try:
            serial.serial_for_url(conn.target, timeout=0).close()
        except (serial.SerialException, ValueError, OSError):
            return "not_found"
        return "ok"
    return "unsupported"


def _probe_camera(connection: str) -> str:
    from devices.camera import Source, open_capture

    try:
        source = Source.parse(connection)
    except ValueError:  # the config accepts any camera:…; the driver names the forms it reads
        return "unsupported"
    capture = open_capture(source)
    try:
        if not capture.isOpened():
            return "not_found"
        return "ok" if capture.read()[0] else "offline"
    finally:
        capture.release()


def _probe_hid(target: str) -> str:
    try:
        from devices.hid_scanner import find_device
    except ImportError:
        return "unsupported"
    try:
        device = find_device(target)
    except DeviceNotFound:
        return "not_found"
    try:
        device.grab()
        device.ungrab()
    except OSError:
        return "in_use"
    finally:
        device.close()
    return "ok"
