"""USB-HID keyboard-wedge scanners: key events → text per layout, grab, reconnect, and a real uinput keyboard."""

from __future__ import annotations

import errno
import os
import threading

import pytest

evdev = pytest.importorskip("evdev", reason="python-evdev is Linux-only")
from evdev import InputEvent  # noqa: E402
from evdev import ecodes as e  # noqa: E402

from config.schema import HID_LAYOUTS, ScannerSection  # noqa: E402
from devices.errors import DeviceNotFound  # noqa: E402
from devices.hid_keymap import LAYOUTS, KeyDecoder  # noqa: E402
from devices.hid_scanner import RETRY_MAX_S, RETRY_MIN_S, HidScanner, find_device  # noqa: E402
from devices.payloads import parse_payload  # noqa: E402
from tests.support import eventually  # noqa: E402

SHIFT, ALTGR = e.KEY_LEFTSHIFT, e.KEY_RIGHTALT
CCCD_ASCII = "001090012345||Nguyen Van An|01011990|Nam|So 1 Hang Trong, Hoan Kiem, Ha Noi|15082021"


def key(code: int, value: int) -> list[InputEvent]:
    """What a real keyboard reports for one key change: MSC_SCAN, the key, then a SYN_REPORT."""
    return [InputEvent(0, 0, e.EV_MSC, e.MSC_SCAN, 0x70000 + code), InputEvent(0, 0, e.EV_KEY, code, value),
            InputEvent(0, 0, e.EV_SYN, e.SYN_REPORT, 0)]


def press(code: int, *modifiers: int) -> list[InputEvent]:
    events = [ev for mod in modifiers for ev in key(mod, 1)] + key(code, 1) + key(code, 0)
    return events + [ev for mod in reversed(modifiers) for ev in key(mod, 0)]


def keystrokes(text: str, layout: str = "us", end: int = e.KEY_ENTER) -> list[InputEvent]:
    """Type ``text`` the way a scanner set to ``layout`` does (plain, else Shift, else AltGr)."""
    events: list[InputEvent] = []
    for char in text:
        events += press(*_typing(layout)[char])
    return events + press(end)


def _typing(layout: str) -> dict[str, tuple[int, ...]]:
    ways: dict[str, tuple[int, ...]] = {}
    for code, levels in LAYOUTS[layout].items():  # main keys come before the keypad: the first way wins
        for char, modifiers in zip(levels, ((), (SHIFT,), (ALTGR,))):
            ways.setdefault(char, (code, *modifiers))
    return ways


def decode(events: list[InputEvent], layout: str = "us") -> list[bytes]:
    decoder = KeyDecoder(layout)
    return [code for event in events if (code := decoder.feed(event)) is not None]


@pytest.mark.parametrize(
    ("layout", "events", "text"),
    [
        ("us", press(e.KEY_A) + press(e.KEY_A, SHIFT), "aA"),
        ("us", press(e.KEY_1) + press(e.KEY_0) + press(e.KEY_1, SHIFT) + press(e.KEY_2, SHIFT), "10!@"),
        ("us", press(e.KEY_BACKSLASH, SHIFT) + press(e.KEY_BACKSLASH), "|\\"),
        ("us", press(e.KEY_SEMICOLON, SHIFT) + press(e.KEY_SLASH) + press(e.KEY_MINUS) + press(e.KEY_DOT), ":/-."),
        ("us", press(e.KEY_KP4) + press(e.KEY_KP2) + press(e.KEY_KPDOT), "42."),
        ("us", press(e.KEY_Z) + press(e.KEY_SPACE) + press(e.KEY_APOSTROPHE, SHIFT), 'z "'),
        ("de", press(e.KEY_Z) + press(e.KEY_Y, SHIFT), "yZ"),
        ("de", press(e.KEY_102ND, ALTGR) + press(e.KEY_Q, ALTGR) + press(e.KEY_SLASH), "|@-"),
        ("de", press(e.KEY_7, SHIFT) + press(e.KEY_0, SHIFT), "/="),
        ("fr", press(e.KEY_1, SHIFT) + press(e.KEY_0, SHIFT) + press(e.KEY_Q) + press(e.KEY_W), "10az"),
        ("fr", press(e.KEY_6, ALTGR) + press(e.KEY_0, ALTGR) + press(e.KEY_6), "|@-"),
    ],
)
def test_key_events_decode_per_layout(layout, events, text):
    assert decode(events + press(e.KEY_ENTER), layout) == [text.encode()]


@pytest.mark.parametrize("layout", HID_LAYOUTS)
@pytest.mark.parametrize("payload", [
    CCCD_ASCII,
    "000.00.13.H26-251120-0001",
    "https://dichvucong.hanoi.gov.vn/tra-cuu?ma=000.00.13.H26-251120-0001",
    "BK-251120-DEMO01",
])
def test_payloads_typed_on_each_layout_come_back_exactly(layout, payload):
    assert decode(keystrokes(payload, layout), layout) == [payload.encode()]


def test_a_cccd_typed_by_a_keyboard_wedge_scanner_parses_as_cccd():
    [raw] = decode(keystrokes(CCCD_ASCII))
    parsed = parse_payload(raw)
    assert parsed["kind"] == "cccd" and parsed["id"] == "001090012345" and parsed["dob"] == "1990-01-01"


@pytest.mark.parametrize("layout", HID_LAYOUTS)
def test_vietnamese_letters_cannot_be_typed_on_any_layout(layout):
    """Why CCCD scanners must use serial mode: no key on the layout produces ễ, ơ, ư, đ, ă — the scanner drops them."""
    assert not set("ễơưđĐăẠ") & set(_typing(layout))


def test_enter_keypad_enter_and_tab_all_end_a_code_and_blank_codes_are_dropped():
    events = keystrokes("A1") + keystrokes("B2", end=e.KEY_KPENTER) + keystrokes("C3", end=e.KEY_TAB)
    assert decode(events + press(e.KEY_ENTER) + press(e.KEY_SPACE) + press(e.KEY_ENTER)) == [b"A1", b"B2", b"C3"]


def test_auto_repeat_ctrl_combinations_and_unknown_keys_are_ignored():
    events = key(e.KEY_A, 1) + key(e.KEY_A, 2) + key(e.KEY_A, 2) + key(e.KEY_A, 0)
    events += press(e.KEY_C, e.KEY_LEFTCTRL) + press(e.KEY_F5) + press(e.KEY_B)
    assert decode(events + press(e.KEY_ENTER)) == [b"ab"]


def test_caps_lock_inverts_letters_only():
    events = press(e.KEY_CAPSLOCK) + press(e.KEY_A) + press(e.KEY_A, SHIFT) + press(e.KEY_1) + press(e.KEY_CAPSLOCK)
    assert decode(events + press(e.KEY_B) + press(e.KEY_ENTER)) == [b"Aa1b"]


def test_a_code_that_never_ends_is_cut_at_the_size_cap():
    codes = decode(press(e.KEY_A) * 9000)
    assert len(codes) == 1 and codes[0] == b"a" * 8192


def test_layouts_match_the_schema_and_bad_hid_connections_are_refused():
    assert tuple(LAYOUTS) == HID_LAYOUTS
    assert ScannerSection(kind="hid", connection="hid:0c2e:0b61?layout=fr").conn.usb_ids == (0x0C2E, 0x0B61)
    for bad, message in [("hid:keyboard", "hid: needs an input device"), ("hid:0c2e:0b61?layout=vn", "layout")]:
        with pytest.raises(ValueError, match=message):
            ScannerSection(kind="hid", connection=bad)


def test_factory_builds_a_hid_scanner_with_the_configured_layout(kiosk_config):
    from devices.factory import open_scanner

    scanner = open_scanner(kiosk_config.model_copy(update={"scanner": ScannerSection(
        kind="hid", connection="hid:/dev/input/by-id/usb-Honeywell-event-kbd?layout=de")}))
    assert isinstance(scanner, HidScanner) and scanner.name == "hid:/dev/input/by-id/usb-Honeywell-event-kbd"
    assert scanner._layout == "de"


class PipeDevice:
    """Stands in for an evdev InputDevice when no /dev/uinput exists: a pipe to wake select, events queued."""

    def __init__(self, busy: bool = False) -> None:
        self._r, self._w = os.pipe()
        self.fd = self._r
        self.events: list[InputEvent] = []
        self.grabbed = self.closed = self.unplugged = False
        self._busy = busy

    def type(self, events: list[InputEvent]) -> None:
        self.events += events
        os.write(self._w, b".")

    def unplug(self) -> None:
        self.unplugged = True
        os.write(self._w, b".")

    def read(self):
        os.read(self._r, 4096)
        if self.unplugged:
            raise OSError(errno.ENODEV, "No such device")
        events, self.events = self.events, []
        yield from events

    def grab(self) -> None:
        if self._busy:
            raise OSError(errno.EBUSY, "Device or resource busy")
        self.grabbed = True

    def ungrab(self) -> None:
        self.grabbed = False

    def close(self) -> None:
        self.closed = True
        os.close(self._r)
        os.close(self._w)


class NotedPauses(threading.Event):
    """The scanner's stop event, noting each pause its reader thread asks for instead of taking it.

    The backoff between attempts to find an unplugged scanner is then checked as numbers, not measured in time.
    """

    def __init__(self) -> None:
        super().__init__()
        self.pauses: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.pauses.append(timeout)
        return super().wait(0)


def test_scanner_grabs_reads_releases_on_unplug_and_reconnects_when_the_device_is_back():
    plugged: list[PipeDevice] = [PipeDevice()]
    opened: list[PipeDevice] = []

    def open_device(target: str) -> PipeDevice:
        if not plugged:
            raise DeviceNotFound(f"hid:{target}: not connected")
        opened.append(plugged.pop())
        return opened[-1]

    got: list[bytes] = []
    scanner = HidScanner("0c2e:0b61", open_device=open_device, debounce_s=5)
    scanner._stop = stop = NotedPauses()
    scanner.start(got.append)
    try:
        eventually(lambda: scanner.running)
        first = opened[0]
        assert first.grabbed
        first.type(keystrokes("BK-251120-DEMO01") + keystrokes("BK-251120-DEMO01"))  # held under the reader
        eventually(lambda: got)
        first.unplug()
        eventually(lambda: not scanner.running)
        assert not first.grabbed and first.closed and scanner.problem.startswith("hid:0c2e:0b61: ")
        eventually(lambda: len(stop.pauses) > 8)  # a while unplugged: the thread keeps looking, with backoff
        backoff = [min(RETRY_MIN_S * 2**n, RETRY_MAX_S) for n in range(7)]  # 0.1 s doubling up to 2 s
        assert stop.pauses[:8] == pytest.approx([RETRY_MIN_S, *backoff])  # after the read ends, then each miss
        assert max(stop.pauses) == RETRY_MAX_S  # so a replugged scanner is found again within about two seconds
        plugged.append(PipeDevice())
        eventually(lambda: scanner.running)
        opened[-1].type(keystrokes("000.00.13.H26-251120-0001"))
        eventually(lambda: len(got) == 2)
    finally:
        scanner.stop()
    assert got == [b"BK-251120-DEMO01", b"000.00.13.H26-251120-0001"]
    assert scanner.problem is None and opened[-1].closed and not opened[-1].grabbed


def test_a_device_grabbed_by_another_program_is_reported_not_read():
    scanner = HidScanner("0c2e:0b61", open_device=lambda _target: PipeDevice(busy=True))
    scanner.start(lambda _code: None)
    try:
        eventually(lambda: scanner.problem is not None)
    finally:
        scanner.stop()
    assert not scanner.running and "another program holds the device" in scanner.problem


def _uinput_usable() -> bool:
    return os.path.exists("/dev/uinput") and os.access("/dev/uinput", os.W_OK)


def _readable(target: str) -> bool:
    try:
        find_device(target).close()
    except DeviceNotFound:
        return False
    return True


@pytest.mark.skipif(not _uinput_usable(), reason="/dev/uinput missing or not writable (load the uinput kernel module "
                    "and run as a user in the input group to run this end-to-end test)")
def test_a_virtual_usb_keyboard_types_a_cccd_that_only_the_scanner_sees():
    from evdev import InputDevice, UInput

    layout_keys = sorted({code for code, *_mods in _typing("us").values()} | {SHIFT, e.KEY_ENTER})
    caps = {e.EV_KEY: layout_keys}
    got: list[bytes] = []
    ready = threading.Event()
    with UInput(caps, name="kiosk-test-scanner", vendor=0x0C2E, product=0x0B61) as keyboard:
        eventually(lambda: _readable("0c2e:0b61"), message="udev made the virtual keyboard readable")
        scanner = HidScanner("0c2e:0b61")
        scanner.start(lambda code: (got.append(code), ready.set()))
        bystander = InputDevice(keyboard.device.path)  # what the UI's input stack would read
        try:
            eventually(lambda: scanner.running)
            for event in keystrokes(CCCD_ASCII):
                if event.type == e.EV_KEY:
                    keyboard.write(e.EV_KEY, event.code, event.value)
                    keyboard.syn()
            assert ready.wait(3)
            with pytest.raises(BlockingIOError):
                list(bystander.read())  # grabbed: the keystrokes never reached anyone else
        finally:
            bystander.close()
            scanner.stop()
    assert got == [CCCD_ASCII.encode()]
