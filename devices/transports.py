"""Printer drivers for real connections: serial (pyserial URLs too), TCP port 9100, USB printer class.

Each driver moves bytes and reads status; it opens its connection per job and per status query, so an unplugged
and replugged printer (or a rebooted network printer) works again on the next job without a restart. Every
failure is mapped onto :mod:`devices.errors`.

Serial and TCP printers confirm each job: ``send`` asks ``DLE EOT`` on the job's connection before and after the
bytes (:func:`devices.status.confirm_printable`) and raises unless the printer answered within ``confirm_timeout``
and can print, so a printer that drops the connection, stalls, or is out of paper never counts as "printed". A
printer wired without a return line cannot answer: ``confirm=False`` (``?confirm=0``) sends without asking.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import serial

from devices.errors import DeviceError, DeviceNotFound, DeviceOffline, DeviceTimeout
from devices.printer import PrinterStatus
from devices.status import confirm_printable, query_status

STATUS_TIMEOUT_S = 0.3
WRITE_TIMEOUT_S = 10.0
CONFIRM_TIMEOUT_S = 5.0  # a ticket prints in about a second; the reply after a job waits until the job is read


def _serial_exchange(port: serial.SerialBase) -> Callable[[bytes], int | None]:
    """Send one status request on ``port`` and return its reply byte (None when none came in the port's timeout)."""
    def exchange(request: bytes) -> int | None:
        port.reset_input_buffer()
        port.write(request)
        reply = port.read(1)
        return reply[0] if reply else None

    return exchange


def _socket_exchange(sock: socket.socket, timeout: float, name: str) -> Callable[[bytes], int | None]:
    """Like :func:`_serial_exchange` on a socket; a connection closed by the printer raises ``DeviceOffline``."""
    def exchange(request: bytes) -> int | None:
        sock.settimeout(timeout)
        sock.sendall(request)
        try:
            reply = sock.recv(1)
        except TimeoutError:
            return None
        if not reply:
            raise DeviceOffline(f"{name}: the printer closed the connection")
        return reply[0]

    return exchange


class SerialPrinter:
    """``serial:/dev/ttyUSB0?baudrate=115200&rtscts=1``; the device may be any pyserial URL (loop://, socket://)."""

    def __init__(self, device: str, *, baudrate: int = 9600, rtscts: bool = False, xonxoff: bool = False,
                 confirm: bool = True, confirm_timeout: float = CONFIRM_TIMEOUT_S) -> None:
        self.name = f"serial:{device}"
        self._device, self._settings = device, {"baudrate": baudrate, "rtscts": rtscts, "xonxoff": xonxoff}
        self._confirm, self._confirm_timeout = confirm, confirm_timeout

    def _open(self, timeout: float) -> serial.SerialBase:
        try:
            return serial.serial_for_url(self._device, timeout=timeout, write_timeout=WRITE_TIMEOUT_S,
                                         **self._settings)
        except (serial.SerialException, ValueError, OSError) as exc:
            raise DeviceNotFound(f"{self._device}: {exc}") from exc

    def send(self, job: bytes) -> None:
        with self._open(self._confirm_timeout) as port:
            exchange = _serial_exchange(port)
            try:
                if self._confirm:
                    confirm_printable(exchange, self.name, "before the job")
                port.write(job)
                port.flush()
                if self._confirm:
                    confirm_printable(exchange, self.name, "after the job")
            except serial.SerialTimeoutException as exc:
                raise DeviceTimeout(f"{self._device}: write timed out (flow control stuck?)") from exc
            except (serial.SerialException, OSError) as exc:
                raise DeviceOffline(f"{self._device}: {exc}") from exc

    def status(self) -> PrinterStatus:
        try:
            with self._open(STATUS_TIMEOUT_S) as port:
                return query_status(_serial_exchange(port))
        except (DeviceNotFound, serial.SerialException, OSError):
            return PrinterStatus.OFFLINE

    def close(self) -> None:
        """Connections are per job; nothing stays open."""


class TcpPrinter:
    """``tcp:HOST:PORT`` (raw port 9100 on most Ethernet printers)."""

    def __init__(self, host: str, port: int, *, connect_timeout: float = 3.0, confirm: bool = True,
                 confirm_timeout: float = CONFIRM_TIMEOUT_S) -> None:
        self.name = f"tcp:{host}:{port}"
        self._address, self._connect_timeout = (host, port), connect_timeout
        self._confirm, self._confirm_timeout = confirm, confirm_timeout

    def _connect(self) -> socket.socket:
        try:
            sock = socket.create_connection(self._address, timeout=self._connect_timeout)
        except TimeoutError as exc:
            raise DeviceTimeout(f"{self.name}: no answer") from exc
        except OSError as exc:
            raise DeviceNotFound(f"{self.name}: {exc.strerror or exc}") from exc
        # the 3-byte status requests go out at once: with Nagle they wait for the job's ACK, delayed 40 ms
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def send(self, job: bytes) -> None:
        with self._connect() as sock:
            exchange = _socket_exchange(sock, self._confirm_timeout, self.name)
            try:
                if self._confirm:
                    confirm_printable(exchange, self.name, "before the job")
                sock.settimeout(WRITE_TIMEOUT_S)
                sock.sendall(job)
                if self._confirm:
                    confirm_printable(exchange, self.name, "after the job")
            except TimeoutError as exc:
                raise DeviceTimeout(f"{self.name}: write timed out") from exc
            except OSError as exc:
                raise DeviceOffline(f"{self.name}: {exc}") from exc

    def status(self) -> PrinterStatus:
        try:
            with self._connect() as sock:
                return query_status(_socket_exchange(sock, STATUS_TIMEOUT_S, self.name))
        except (DeviceError, OSError):
            return PrinterStatus.OFFLINE

    def close(self) -> None:
        """Connections are per job; nothing stays open."""


class UsbPrinter:
    """``usb:VID:PID`` through the kernel's USB printer class device (``/dev/usb/lp*``), no libusb needed.

    The udev rules in deploy/udev link the configured printer to ``/dev/kiosk-printer``; without them the first
    ``/dev/usb/lp*`` whose sysfs ids match is used.
    """

    def __init__(self, vid: int, pid: int, *, sysfs: Path = Path("/sys/class/usbmisc")) -> None:
        self.name = f"usb:{vid:04x}:{pid:04x}"
        self._ids, self._sysfs = (vid, pid), sysfs

    def _device(self) -> Path:
        for entry in sorted(self._sysfs.glob("lp*")):
            usb = (entry / "device").resolve().parent
            try:
                ids = (int((usb / "idVendor").read_text(), 16), int((usb / "idProduct").read_text(), 16))
            except (OSError, ValueError):
                continue
            if ids == self._ids:
                return Path("/dev/usb") / entry.name
        raise DeviceNotFound(f"{self.name}: no USB printer with these ids is connected")

    def send(self, job: bytes) -> None:
        device = self._device()
        try:
            with device.open("wb", buffering=0) as fh:
                fh.write(job)
        except OSError as exc:
            raise DeviceOffline(f"{self.name}: {exc.strerror or exc}") from exc

    def status(self) -> PrinterStatus:
        try:
            self._device()
        except DeviceNotFound:
            return PrinterStatus.OFFLINE
        return PrinterStatus.UNKNOWN  # the lp class device cannot read DLE EOT replies reliably

    def close(self) -> None:
        """Files are opened per job."""
