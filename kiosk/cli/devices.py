"""``devices list|status|test-print|test-scan|scan-sim|sim-fault``: technician tools for printers and scanners.

Cameras count as scanners: ``list`` shows the V4L2 cameras that deliver frames, ``status`` opens the configured
camera and reads a frame, ``test-scan`` watches it (a camera opens only while something waits for a scan).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

from devices.errors import DeviceError
from devices.factory import open_printer, open_scanner
from devices.payloads import parse_payload
from devices.printer import PrinterStatus
from devices.sim.printer import FAULTS, set_fault
from devices.sim.scanner import MAX_PAYLOAD, send_payload
from kiosk.cli import config_from_args

USB_SYSFS = Path("/sys/bus/usb/devices")
SIM_FAULTS = (*FAULTS, "clear")  # the choices of ``devices sim-fault``


def _usb_devices() -> list[str]:
    found = []
    for device in sorted(USB_SYSFS.glob("*")):
        try:
            vid, pid = (device / "idVendor").read_text().strip(), (device / "idProduct").read_text().strip()
        except OSError:
            continue
        product = (device / "product").read_text().strip() if (device / "product").exists() else ""
        found.append(f"usb:{vid}:{pid}  {product}".rstrip())
    return found


def run_list(args: argparse.Namespace) -> int:
    from serial.tools import list_ports

    from kiosk.device_setup import cameras, hid_keyboards, usb_printers

    config = config_from_args(args)
    printer = open_printer(config)
    print(f"printer  {config.printer.connection}  profile {config.printer.profile}, {config.printer.paper_width_mm} mm"
          f"  status: {printer.status().value}")
    print(f"scanner  {config.scanner.connection}  kind {config.scanner.kind}")
    ports = list(list_ports.comports())
    print("serial ports:" + ("" if ports else " none"))
    for port in ports:
        print(f"  serial:{port.device}  {port.description}  {port.hwid}")
    usb = _usb_devices()
    print("USB devices:" + ("" if usb else " none"))
    for line in usb:
        print(f"  {line}")
    for title, choices in (("USB printers (printer class):", usb_printers()),
                           ("keyboard input devices (keyboard-wedge scanners):", hid_keyboards()),
                           ("cameras (V4L2, delivering frames):", cameras())):
        print(title + ("" if choices else " none"))
        for choice in choices:
            print(f"  {choice.label}")
    return 0


SCANNER_READY = ("ok", "listening", "in_use")


def run_status(args: argparse.Namespace) -> int:
    from kiosk.device_setup import probe_scanner

    config = config_from_args(args)
    printer_status = open_printer(config).status()
    scanner_status = probe_scanner(config)
    printer_ready = printer_status.can_print or printer_status is PrinterStatus.UNKNOWN  # usb: cannot tell
    healthy = printer_ready and scanner_status in SCANNER_READY
    if args.json:
        print(json.dumps({
            "printer": {"connection": config.printer.connection, "kind": config.printer.kind,
                        "profile": config.printer.profile, "paper_width_mm": config.printer.paper_width_mm,
                        "status": printer_status.value},
            "scanner": {"connection": config.scanner.connection, "kind": config.scanner.kind,
                        "status": scanner_status},
            "ok": healthy,
        }, ensure_ascii=False))
    else:
        print(f"printer  {config.printer.connection}  profile {config.printer.profile}, "
              f"{config.printer.paper_width_mm} mm  status: {printer_status.value}")
        print(f"scanner  {config.scanner.connection}  kind {config.scanner.kind}  status: {scanner_status}")
    return 0 if healthy else 1


def run_test_print(args: argparse.Namespace) -> int:
    from devices.escpos.render import render
    from devices.escpos.sample import sample_ticket
    from kiosk.tickets import printer_profile

    if args.printer:  # the kind follows the connection; a bad one is a config error (one line, exit 2)
        args.overrides = [*args.overrides, f"printer.connection={args.printer}"]
    config = config_from_args(args)
    printer = open_printer(config)
    status = printer.status()
    job = render(sample_ticket(), printer_profile(config))
    try:
        printer.send(job)
    except DeviceError as exc:
        print(f"FAIL  {config.printer.connection}: {exc.status}: {exc}", file=sys.stderr)
        return 1
    print(f"OK  {len(job)} bytes sent to {config.printer.connection} (status before printing: {status.value})")
    return 0


def run_test_scan(args: argparse.Namespace) -> int:
    if args.scanner:  # the kind follows the connection; a bad one is a config error (one line, exit 2)
        args.overrides = [*args.overrides, f"scanner.connection={args.scanner}"]
    config = config_from_args(args)
    scanner = open_scanner(config)
    got: list[bytes] = []
    ready = threading.Event()
    try:
        scanner.start(lambda raw: (got.append(raw), ready.set()))
        if hasattr(scanner, "watch"):  # a camera opens only when watched: this command is its scan step
            scanner.watch()
    except OSError as exc:
        print(f"FAIL  {config.scanner.connection}: {exc}", file=sys.stderr)
        return 1
    print(f"Waiting up to {args.timeout:g} s for a scan on {config.scanner.connection} …", file=sys.stderr)
    try:
        if not ready.wait(args.timeout):
            print("FAIL  no scan received" + ("" if scanner.running else " (scanner not connected)"),
                  file=sys.stderr)
            return 1
    finally:
        scanner.stop()
    print(json.dumps(parse_payload(got[0]), ensure_ascii=False))
    return 0


def run_scan_sim(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if config.scanner.kind != "sim":
        print(f"The configured scanner is {config.scanner.connection}, not the simulator (sim:HOST:PORT)",
              file=sys.stderr)
        return 1
    payload = sys.stdin.buffer.read(MAX_PAYLOAD + 1) if args.payload == "-" else args.payload.encode("utf-8")
    host, port = config.scanner.conn.host_port
    try:
        send_payload(host, port, payload)
    except OSError as exc:
        print(f"No kiosk scanner simulator listening on {host}:{port} ({exc.strerror or exc})", file=sys.stderr)
        return 1
    return 0


def run_sim_fault(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    set_fault(config.spool_dir, None if args.fault == "clear" else args.fault)
    print(f"simulated printer: {args.fault}")
    return 0
