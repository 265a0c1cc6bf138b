"""The kiosk's configuration as typed, validated objects.

Every key is declared once here with its type and default; ``config/default.toml`` carries the same defaults in
a form operators can read. Unknown keys are errors (``extra="forbid"``) so a misspelt key is reported instead of
silently ignored. Device connections are URL-like strings parsed into :class:`Connection`::

    sim:                      simulator (printer spool folder / scanner socket)
    sim:127.0.0.1:8765        scanner simulator listening on that address
    file:PATH                 raw ESC/POS bytes appended to PATH
    serial:DEVICE?baudrate=115200&rtscts=1
    tcp:HOST:PORT             e.g. an Ethernet printer on port 9100
    usb:VID:PID               hexadecimal ids, e.g. usb:0416:5011
    hid:/dev/input/by-id/…    USB keyboard-wedge scanner by event device, or hid:VID:PID; ?layout=us|de|fr
    camera:…                  a camera scanner (scanner only)

A device's kind follows its connection's scheme: ``--set printer.connection=file:out/ticket.bin`` alone makes a
file printer. ``kind`` may still be written (older site files, the maintenance screen), but a kind that
contradicts the connection is an error naming both keys; :mod:`config.loader` lets a layer that sets only the
connection replace the kind an earlier layer gave.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from config.services import ServiceDef

CONNECTION_SCHEMES = ("sim", "file", "serial", "tcp", "usb", "hid")
HID_LAYOUTS = ("us", "de", "fr")  # keyboard layouts a keyboard-wedge scanner may be set to (devices/hid_keymap.py)
_PIN_HASH = re.compile(r"^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$")
_HOST_PORT = re.compile(r"^(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(?P<port>\d{1,5})$")
_USB_IDS = re.compile(r"^(?P<vid>[0-9a-fA-F]{4}):(?P<pid>[0-9a-fA-F]{4})$")
_PUBLIC_KEY = re.compile(r"^([0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=)$")


@dataclass(frozen=True)
class Connection:
    """A parsed device connection string; ``target`` is the part after ``scheme:`` without options."""

    scheme: str
    target: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def host_port(self) -> tuple[str, int]:
        match = _HOST_PORT.match(self.target)
        if not match:
            raise ValueError(f"expected HOST:PORT, got {self.target!r}")
        return match["host"].strip("[]"), int(match["port"])

    @property
    def usb_ids(self) -> tuple[int, int]:
        match = _USB_IDS.match(self.target)
        if not match:
            raise ValueError(f"expected VID:PID in hexadecimal, got {self.target!r}")
        return int(match["vid"], 16), int(match["pid"], 16)


def _seconds(text: str) -> bool:
    try:
        return 0 < float(text) <= 60
    except ValueError:
        return False


def parse_connection(text: str) -> Connection:
    """Parse and check a connection string; the error message names the expected form."""
    scheme, sep, rest = text.partition(":")
    if not sep or scheme not in CONNECTION_SCHEMES:
        raise ValueError(
            f"{text!r} is not a connection; use one of sim:, file:PATH, serial:DEVICE?baudrate=N, "
            "tcp:HOST:PORT, usb:VID:PID, hid:VID:PID"
        )
    target, _, query = rest.partition("?")
    conn = Connection(scheme, target, dict(parse_qsl(query)))
    if scheme == "file" and not target:
        raise ValueError("file: needs a path, e.g. file:out/ticket.bin")
    if scheme == "serial" and not target:
        raise ValueError("serial: needs a device, e.g. serial:/dev/ttyUSB0?baudrate=115200")
    if scheme == "serial" and "baudrate" in conn.options and not conn.options["baudrate"].isdigit():
        raise ValueError(f"baudrate must be a number, got {conn.options['baudrate']!r}")
    if scheme in ("serial", "tcp") and "timeout" in conn.options and not _seconds(conn.options["timeout"]):
        raise ValueError(f"timeout must be seconds between 0 and 60, got {conn.options['timeout']!r}")
    if scheme == "tcp" or (scheme == "sim" and target):
        conn.host_port  # noqa: B018 — raises with a clear message when malformed
    if scheme == "usb":
        conn.usb_ids  # noqa: B018
    if scheme == "hid" and not (target.startswith("/dev/input/") or _USB_IDS.match(target)):
        raise ValueError("hid: needs an input device or USB ids, e.g. hid:/dev/input/by-id/usb-…-event-kbd or "
                         "hid:0c2e:0b61")
    if scheme == "hid" and conn.options.get("layout", "us") not in HID_LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(HID_LAYOUTS)}, got {conn.options['layout']!r}")
    return conn


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KioskSection(_Section):
    id: str = Field(default="HN-HK-01", pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
    name: str = "Kiosk"
    language: Literal["vi", "en"] = "vi"
    dev_mode: bool = False


CENTRE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$"  # a centre's id in the city view (backend.city checks it)


class BranchSection(_Section):
    name: str = "Trung tâm Phục vụ hành chính công"
    unit: str = ""
    address: str = ""
    # The centre's id in the city view: the branch queue server's reports carry it, and the backend keeps one line
    # of figures per id, so two centres must not share one (the name may be repeated; the id may not).
    id: str = Field(default="HN-TTHCC", pattern=CENTRE_ID_PATTERN)
    # The centre's service-level target for a citizen's wait (minutes): the city view flags a centre amber at 80 %
    # of it and red past it, so each centre is judged against its own promise, not one city-wide number.
    target_wait_min: int = Field(default=30, ge=1, le=240)


class ScreenSection(_Section):
    width: int = Field(default=1080, ge=320, le=7680)
    height: int = Field(default=1920, ge=320, le=7680)
    fullscreen: bool = True

    @property
    def orientation(self) -> Literal["portrait", "landscape"]:
        return "portrait" if self.height >= self.width else "landscape"


class SessionSection(_Section):
    idle_warning_s: float = Field(default=60, ge=5, le=3600)
    idle_reset_s: float = Field(default=15, ge=3, le=600)


class TechnicianSection(_Section):
    pin_hash: str
    max_attempts: int = Field(default=5, ge=1, le=20)
    lockout_s: float = Field(default=300, ge=0, le=86400)

    @field_validator("pin_hash")
    @classmethod
    def _is_salted_hash(cls, value: str) -> str:
        if not _PIN_HASH.match(value):
            raise ValueError("must be a salted hash made by `python main.py config pin-hash`, never a plain PIN")
        return value


PrinterKind = Literal["sim", "file", "serial", "tcp", "usb"]
ScannerKind = Literal["sim", "serial", "hid", "camera"]


class _DeviceSection(_Section):
    """A device is its connection: the scheme picks the driver, and ``kind`` is that scheme, written or not."""

    SECTION: ClassVar[str]
    SCHEMES: ClassVar[tuple[str, ...]]
    FORMS: ClassVar[str]  # the connections this device takes, for error messages
    kind: str
    connection: str

    @property
    def conn(self) -> Connection:
        return parse_connection(self.connection)

    @model_validator(mode="before")
    @classmethod
    def _kind_follows_connection(cls, data: Any) -> Any:
        if isinstance(data, dict) and "kind" not in data and isinstance(data.get("connection"), str):
            scheme = data["connection"].partition(":")[0]
            if scheme in cls.SCHEMES:
                return {**data, "kind": scheme}
        return data

    @field_validator("connection")
    @classmethod
    def _connection_for_this_device(cls, value: str) -> str:
        scheme = value.partition(":")[0]
        if scheme not in cls.SCHEMES:
            raise ValueError(f"{value!r} is not a {cls.SECTION} connection; a {cls.SECTION} takes {cls.FORMS}")
        if scheme != "camera":
            parse_connection(value)  # raises with the expected form of that scheme
        return value

    @model_validator(mode="after")
    def _kind_matches_connection(self) -> _DeviceSection:
        scheme = self.connection.partition(":")[0]
        if self.kind != scheme:
            raise ValueError(
                f"{self.SECTION}.kind is {self.kind!r} but {self.SECTION}.connection {self.connection!r} is a "
                f"{scheme}: connection, so the two contradict each other; remove {self.SECTION}.kind (the "
                f"connection decides the kind) or set it to {scheme!r}."
            )
        return self


class PrinterSection(_DeviceSection):
    SECTION = "printer"
    SCHEMES = get_args(PrinterKind)
    FORMS = "sim:, file:PATH, serial:DEVICE?baudrate=N, tcp:HOST:PORT or usb:VID:PID"
    kind: PrinterKind = "sim"
    connection: str = "sim:"
    profile: str = "generic-80"
    paper_width_mm: Literal[58, 80] = 80


class ScannerSection(_DeviceSection):
    SECTION = "scanner"
    SCHEMES = get_args(ScannerKind)
    FORMS = "sim:HOST:PORT, serial:DEVICE?baudrate=N, hid:VID:PID, hid:/dev/input/… or camera:…"
    kind: ScannerKind = "sim"
    connection: str = "sim:127.0.0.1:8765"

    @field_validator("connection")
    @classmethod
    def _simulator_needs_an_address(cls, value: str) -> str:
        if value.partition(":")[2] == "" and value.startswith("sim:"):
            raise ValueError("the scanner simulator listens on an address: use sim:HOST:PORT, e.g. sim:127.0.0.1:8765")
        return value


class BackendSection(_Section):
    url: str = "embedded"
    token: str = ""  # this kiosk's bearer token; empty: BACKEND_KIOSK_TOKEN from the environment
    ca_file: Path | None = None  # PEM of the site CA that signed an https:// backend's certificate (else system CAs)
    timeout_s: float = Field(default=5.0, gt=0, le=120)
    heartbeat_s: float = Field(default=60.0, ge=0, le=3600)  # fleet heartbeat interval; 0 = none

    @field_validator("url")
    @classmethod
    def _embedded_or_http(cls, value: str) -> str:
        if value != "embedded" and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError('must be "embedded" or an http(s):// URL')
        return value.rstrip("/")


class CounterLogin(_Section):
    """A counter's password for the branch queue server's counter page, as a salted hash (never plain text)."""

    number: int = Field(ge=1, le=999)
    pin_hash: str

    @field_validator("pin_hash")
    @classmethod
    def _is_salted_hash(cls, value: str) -> str:
        return TechnicianSection._is_salted_hash(value)


class PhoneQueueSection(_Section):
    """``[queue.phone]``: numbers taken from a phone (read by ``queue serve`` only; see docs/operations.md)."""

    enabled: bool = True
    # minutes a number not checked in keeps its place after a counter's call first went past it; then it is skipped
    grace_min: int = Field(default=10, ge=1, le=240)
    otp_ttl_s: int = Field(default=300, ge=60, le=1800)       # how long a one-time code by SMS stays valid
    max_per_day: int = Field(default=500, ge=1, le=100_000)   # numbers from phones per centre per day (abuse cap)
    notify_ahead: int = Field(default=5, ge=1, le=50)          # one SMS when this many people or fewer are ahead
    # abuse limits: one-time codes per phone and per client address in any hour (counted in the database, so
    # every process of the server shares them); a phone may ask again only after resend_after_s
    codes_per_phone_hour: int = Field(default=3, ge=1, le=20)
    codes_per_address_hour: int = Field(default=20, ge=1, le=10_000)
    resend_after_s: int = Field(default=60, ge=0, le=600)
    # page reads per client address a minute (services list, a number's position): 2,000 phones behind one carrier
    # NAT poll every 20 s, so the default is generous; a number's page is also limited per token
    reads_per_address_min: int = Field(default=6000, ge=10, le=1_000_000)


class QueueSection(_Section):
    mode: Literal["local", "branch"] = "local"
    server: str = ""
    token: str = ""   # "<kiosk id>:<secret>" sent to the branch server; empty: the QUEUE_KIOSK_TOKEN variable
    ca_file: Path | None = None  # PEM of the site CA that signed an https:// queue server's certificate
    max_priority_in_row: int = Field(default=3, ge=1, le=20)
    services: list[ServiceDef] = []
    counters: list[CounterLogin] = []   # read by `queue serve` only
    help_service: str = "HD"   # the "Cần hỗ trợ" button's service; without it, the first service offered
    # Base URL printed in the ticket's QR for tracking on a phone (the branch queue server's public address).
    public_url: str = Field(default="http://127.0.0.1:8700", pattern=r"^https?://[^\s/]+")
    phone: PhoneQueueSection = PhoneQueueSection()  # numbers taken from a phone (queue serve)

    @model_validator(mode="after")
    def _unique_codes(self) -> QueueSection:
        codes = [service.code for service in self.services]
        if len(codes) != len(set(codes)):
            raise ValueError(f"service codes must be unique, got {codes}")
        return self

    @model_validator(mode="after")
    def _unique_counters(self) -> QueueSection:
        numbers = [counter.number for counter in self.counters]
        if len(numbers) != len(set(numbers)):
            raise ValueError(f"counter numbers must be unique, got {numbers}")
        return self

    @model_validator(mode="after")
    def _branch_needs_server(self) -> QueueSection:
        if self.mode == "branch" and not re.match(r"^https?://[^\s/]+", self.server):
            raise ValueError('mode "branch" needs server = "http://HOST:PORT" of the branch queue server')
        return self


class ContentSection(_Section):
    # Ed25519 public keys whose signed content bundles this kiosk accepts: 64 hex digits or 44-character base64.
    trusted_keys: list[str] = []
    group: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
    poll_interval_s: float = Field(default=300, ge=10, le=86400)
    max_bundle_mb: float = Field(default=20, gt=0, le=512)

    @field_validator("trusted_keys")
    @classmethod
    def _ed25519_keys(cls, keys: list[str]) -> list[str]:
        for key in keys:
            if not _PUBLIC_KEY.match(key):
                raise ValueError(f"{key!r} is not an Ed25519 public key (64 hex digits or 44-character base64)")
        return keys


class Announcement(_Section):
    text: str = Field(min_length=1, max_length=500)


class VoiceSection(_Section):
    """Spoken guidance (espeak-ng, local). Quiet during ``quiet_hours`` ("HH:MM-HH:MM", may pass midnight)."""

    enabled: bool = True
    volume: int = Field(default=70, ge=0, le=100)
    rate: int = Field(default=145, ge=80, le=300)  # words per minute: slower than espeak's default for the elderly
    quiet_hours: str = Field(default="21:00-06:30", pattern=r"^$|^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
    output: str = Field(default="speaker", pattern=r"^(speaker|file:.+)$")


class RetentionSection(_Section):
    """Days the kiosk keeps personal data it no longer needs; a daily task (and each start) deletes what is older."""

    outbox_dead_days: int = Field(default=30, ge=1, le=3650)  # a dead outbox item's form (its reference stays)
    corrupt_days: int = Field(default=30, ge=1, le=3650)  # copies of damaged databases in corrupt/
    cache_days: int = Field(default=30, ge=1, le=3650)  # looked-up dossier statuses, printed jobs in the spool
    # a delivered dossier's outbox row (key, local reference, code; its form went on delivery): a receipt printed
    # offline is looked up by its KS. reference through it, so it stays longer than a dossier takes to process
    outbox_delivered_days: int = Field(default=90, ge=1, le=3650)
    # survey answers the backend has (and their delivered outbox rows): the kiosk's own daily figures reach this far
    survey_delivered_days: int = Field(default=30, ge=1, le=3650)
    # the local queue's tickets of earlier days (the line is per day; only the daily report reads them)
    queue_days: int = Field(default=30, ge=1, le=3650)


class OutboxSection(_Section):
    """An item the backend fails on (5xx) this many times over at least this many hours is dead-lettered."""

    poison_failures: int = Field(default=10, ge=1, le=10_000)
    poison_hours: float = Field(default=24.0, ge=0, le=24 * 365)


class KioskConfig(_Section):
    """The whole configuration; ``source`` names the file(s) it came from for error messages."""

    data_dir: Path = Path("kiosk-data")
    kiosk: KioskSection = KioskSection()
    branch: BranchSection = BranchSection()
    screen: ScreenSection = ScreenSection()
    session: SessionSection = SessionSection()
    technician: TechnicianSection
    printer: PrinterSection = PrinterSection()
    scanner: ScannerSection = ScannerSection()
    backend: BackendSection = BackendSection()
    queue: QueueSection = QueueSection()
    announcements: list[Announcement] = []
    content: ContentSection = ContentSection()
    voice: VoiceSection = VoiceSection()
    retention: RetentionSection = RetentionSection()
    outbox: OutboxSection = OutboxSection()

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"
