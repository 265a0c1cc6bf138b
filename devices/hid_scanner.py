"""USB-HID keyboard-wedge QR scanners, read with python-evdev (Linux).

``hid:/dev/input/by-id/usb-<maker>-event-kbd`` names the scanner's event device (stable across ports);
``hid:VID:PID`` picks the first keyboard-like input device with those USB ids. ``?layout=de`` (or ``fr``) when the
scanner is set to that keyboard layout; see :mod:`devices.hid_keymap` for what keyboard mode cannot carry.

The device is *grabbed* (``EVIOCGRAB``) while we read it, so its keystrokes reach only us — never the kiosk UI,
where a scanned code would otherwise be typed into whatever field has focus. A reader thread waits on the device
with a short ``select`` timeout (so ``stop`` returns promptly); when the scanner is unplugged the read fails, the
grab is released, and the thread looks for the device again with a backoff capped at ``RETRY_MAX_S``, so a
replugged scanner works again within about two seconds. Repeat reads are debounced like the serial driver's.
"""

from __future__ import annotations

import errno
import logging
import select
import threading
import time
from collections.abc import Callable
from contextlib import suppress

from evdev import InputDevice, ecodes, list_devices

from devices.errors import DeviceError, DeviceNotFound, DeviceOffline
from devices.hid_keymap import KeyDecoder
from devices.scanners import Debouncer, ProblemLog

log = logging.getLogger(__name__)
POLL_S = 0.2
RETRY_MIN_S, RETRY_MAX_S = 0.1, 2.0
INPUT_DIR = "/dev/input"


def is_keyboard(device: InputDevice) -> bool:
    """Scanners expose several interfaces (keyboard, consumer keys); only the one that can press Enter types."""
    keys = device.capabilities().get(ecodes.EV_KEY, [])
    return ecodes.KEY_ENTER in keys and ecodes.KEY_A in keys


def keyboards(input_dir: str = INPUT_DIR) -> list[InputDevice]:
    """Keyboard-like input devices we may read (unreadable ones are left out: see the udev rules)."""
    found = []
    for path in list_devices(input_dir, writable=False):
        try:
            device = InputDevice(path)
        except OSError:
            continue
        if is_keyboard(device):
            found.append(device)
        else:
            device.close()
    return found


def find_device(target: str) -> InputDevice:
    """Open ``target`` (an event device path or ``VID:PID``); raises :class:`DeviceNotFound` saying why not."""
    if target.startswith("/"):
        try:
            return InputDevice(target)
        except FileNotFoundError:
            raise DeviceNotFound(f"hid:{target}: not connected") from None
        except PermissionError:
            raise DeviceNotFound(f"hid:{target}: no permission to read it (install deploy/udev rules)") from None
        except OSError as exc:
            raise DeviceNotFound(f"hid:{target}: {exc.strerror or exc}") from None
    vid, pid = (int(part, 16) for part in target.split(":"))
    match = None
    for device in keyboards():
        if match is None and (device.info.vendor, device.info.product) == (vid, pid):
            match = device
        else:
            device.close()
    if match is None:
        raise DeviceNotFound(f"hid:{target}: no readable keyboard device with these ids (unplugged, or no "
                             "permission to read /dev/input/event*)")
    return match


class HidScanner(ProblemLog):
    """A keyboard-wedge scanner; ``running`` is true while the device is connected and grabbed."""

    def __init__(self, target: str, *, layout: str = "us", debounce_s: float = 2.0,
                 clock: Callable[[], float] = time.monotonic,
                 open_device: Callable[[str], InputDevice] = find_device) -> None:
        self.name = f"hid:{target}"
        self.problem: str | None = None  # why the scanner is not connected, for technicians
        self._target, self._layout, self._open_device = target, layout, open_device
        self._debounce = Debouncer(debounce_s, clock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._device: InputDevice | None = None

    @property
    def running(self) -> bool:
        return self._device is not None

    def start(self, on_payload: Callable[[bytes], None]) -> None:
        """Start reading in the background; a scanner that is absent now is picked up when it appears."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(on_payload,), name="hid-scanner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(POLL_S * 5)
            self._thread = None

    def _run(self, on_payload: Callable[[bytes], None]) -> None:
        delay = RETRY_MIN_S
        while not self._stop.is_set():
            try:
                device = self._grab()
            except DeviceError as exc:
                self._set_problem(str(exc))
                self._stop.wait(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            delay = RETRY_MIN_S
            self._read(device, on_payload)
            self._stop.wait(RETRY_MIN_S)  # a device that fails at once is not reopened in a tight loop

    def _grab(self) -> InputDevice:
        device = self._open_device(self._target)
        try:
            device.grab()
        except OSError as exc:
            device.close()
            if exc.errno == errno.EBUSY:
                raise DeviceOffline(f"{self.name}: another program holds the device (a second kiosk?)") from None
            raise DeviceOffline(f"{self.name}: cannot grab: {exc.strerror or exc}") from None
        return device

    def _read(self, device: InputDevice, on_payload: Callable[[bytes], None]) -> None:
        decoder = KeyDecoder(self._layout)
        self._device = device
        self._set_problem(None)
        try:
            while not self._stop.is_set():
                if not select.select([device.fd], [], [], POLL_S)[0]:
                    continue
                try:
                    events = list(device.read())
                except BlockingIOError:
                    continue
                for event in events:
                    code = decoder.feed(event)
                    if code and self._debounce.fresh(code):
                        self._deliver(on_payload, code)
        except OSError as exc:  # ENODEV: unplugged
            self._set_problem(f"{self.name}: disconnected ({exc.strerror or exc})")
        finally:
            self._device = None
            with suppress(OSError):
                device.ungrab()
            with suppress(OSError):
                device.close()

    @staticmethod
    def _deliver(on_payload: Callable[[bytes], None], code: bytes) -> None:
        try:
            on_payload(code)
        except Exception:  # noqa: BLE001 — a faulty consumer must not stop the only reader of the scanner
            log.exception("scan callback failed")

