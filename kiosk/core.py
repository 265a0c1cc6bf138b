"""The kiosk's application core: everything the screens may ask for, with no Kivy in it.

Screens render state and forward touches; they never open a port, socket or database. They hold one
:class:`KioskCore` and call its methods. Work that can block (printing, network) runs on workers owned by the
core; results come back through :attr:`KioskCore.events`, which the Kivy app re-posts onto the UI thread.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from config.localtime import LOCAL_TZ
from config.schema import KioskConfig
from contracts.pin import PinGate
from devices.errors import DeviceError
from devices.escpos.document import Block
from devices.escpos.profiles import load_profiles
from devices.factory import open_printer, open_scanner
from devices.payloads import parse_payload
from devices.voice import VoiceGuide
from kiosk.backend_client import BackendClient, Connector, connect_remote
from kiosk.booking_flow import BookingFlow
from kiosk.catalogue import Catalogue, load_catalogue
from kiosk.config_view import flat_lines, masked_config
from kiosk.content import Content, load_current
from kiosk.content.sync import ContentSync, PollResult
from kiosk.filing_flow import FilingFlow, FilingReceipt
from kiosk.heartbeat import Heartbeat, StatusCollector
from kiosk.i18n import tr
from kiosk.lookup_flow import LookupFlow
from kiosk.outbox import open_outbox
from kiosk.printing import PrintQueue
from kiosk.queue_flow import QueueFlow
from kiosk.queue_source import open_queue
from kiosk.receipts import receipt_document
from kiosk.session import IdleState, Session
from kiosk.slips import status_slip
from kiosk.survey import SurveyStore
from kiosk.tickets import printer_profile
from kiosk.watchdog import Watchdog

log = logging.getLogger(__name__)
VERSION = "0.1.0"
ACCESSIBILITY_LEVELS = ((False, False), (True, False), (True, True))  # (large text, high contrast)
DeviceFault = DeviceError  # what a failed test print reports; screens name it through the core


class Events:
    """Publish/subscribe by event name; publishers may be on any thread, subscribers decide where to run."""

    def __init__(self) -> None:
        self._subscribers: dict[str, list[Callable[..., None]]] = defaultdict(list)
        self._lock = threading.Lock()

    def subscribe(self, name: str, callback: Callable[..., None]) -> None:
        with self._lock:
            self._subscribers[name].append(callback)

    def publish(self, name: str, **payload: Any) -> None:
        with self._lock:
            callbacks = list(self._subscribers[name])
        for callback in callbacks:
            callback(**payload)


def with_content(config: KioskConfig) -> tuple[KioskConfig, Content | None]:
    """The local config with the applied content's overrides and services, and that content (None if none)."""
    content = load_current(config)
    if content is None:
        return config, None
    effective = content.files.config
    if content.files.services:
        queue = effective.queue.model_copy(update={"services": content.files.services.services})
        effective = effective.model_copy(update={"queue": queue})
    return effective, content


class KioskCore:
    def __init__(self, config: KioskConfig, *, clock: Callable[[], float] | None = None,
                 site_config: Path | None = None, backend: Connector = connect_remote) -> None:
        self.local_config = config
        self._connect = backend  # the entry point passes one that starts the embedded backend
        self.site_config = site_config  # the --config file: the maintenance screen saves device settings there
        config, self.content = with_content(config)
        self.config = config
        self.events = Events()
        self._content_sync: ContentSync | None = None
        self.content_status: PollResult | None = None  # the last sync outcome, for technicians and heartbeats
        self._heartbeat: Heartbeat | None = None
        self._stop = threading.Event()
        clock_kw = {"clock": clock} if clock else {}
        self.session = Session(config.session.idle_warning_s, config.session.idle_reset_s, **clock_kw)
        self.pin_gate = PinGate(
            config.technician.pin_hash, config.technician.max_attempts, config.technician.lockout_s, **clock_kw
        )
        self.language = config.kiosk.language
        self.accessibility = 0
        self.session.on_wipe(self._reset_language)
        self.voice = VoiceGuide(config.voice)
        self.session.on_wipe(self.voice.stop)
        self.last_error: str | None = None
        self.watchdog = Watchdog()
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.printer = open_printer(config)
        self.print_queue = PrintQueue(self.printer, on_error=lambda exc: self.report_error("printer", exc))
        self.scanner = open_scanner(config)
        self.queue = QueueFlow(config, open_queue(config), self.print_queue.submit, self.events.publish,
                               lambda: self.language)
        self.session.on_wipe(self.queue.forget)
        self.backend_client: BackendClient | None = None
        self._close_backend: Callable[[], None] | None = None
        self.bookings = BookingFlow(lambda: self.backend_client, self.queue, self.events.publish)
        self.outbox = open_outbox(config)
        self.survey = SurveyStore(config.data_dir / "survey.db", config.kiosk.id, outbox=self.outbox,
                                  branch=config.branch.unit or config.branch.name)
        self.lookup = LookupFlow(lambda: self.backend_client, self.events.publish, self.outbox.find)
        self.session.on_wipe(self.lookup.forget)
        self.catalogue: Catalogue | None = None
        self.filing = FilingFlow(self.outbox, lambda: self.backend_client, self._print_receipt, self.events.publish)
        self.session.on_wipe(self.filing.forget)

    def start(self) -> None:
        """Start background device work; scans arrive as ``scan`` events carrying the parsed payload."""
        try:
            self.scanner.start(self._on_scan)
        except OSError as exc:
            self.report_error("scanner", exc)
        threading.Thread(target=self._connect_backend, name="backend-connect", daemon=True).start()

    def _connect_backend(self) -> None:
        """Off the UI thread: starting the embedded backend takes a moment and must not delay the first frame."""
        try:
            self.backend_client, self._close_backend = self._connect(self.config)
        except Exception as exc:  # noqa: BLE001 — any failure means "offline", reported to technicians
            self.report_error("backend", exc)
        self.survey.reconcile()  # answers whose outbox item a crash or a rebuilt outbox.db lost
        self.outbox.run_sender(lambda: self.backend_client)
        self.refresh_catalogue()
        if self.backend_client is not None:
            self._content_sync = ContentSync(self.local_config, url=self.backend_client.url,
                                             token=self.backend_client.token,
                                             session_active=lambda: self.session.state is not IdleState.IDLE,
                                             on_result=self._content_polled)
            self.session.on_wipe(lambda: threading.Thread(target=self._apply_content_between_sessions,
                                                          name="content-apply", daemon=True).start())
            threading.Thread(target=self._content_sync.run, args=(self._stop,), name="content-sync",
                             daemon=True).start()
            if self.config.backend.heartbeat_s:
                self._heartbeat = Heartbeat(self.backend_client.url, self.backend_client.token, self.config.kiosk.id,
                                            self.config.backend.heartbeat_s, StatusCollector(self))
                self._heartbeat.start()

    def _apply_content_between_sessions(self) -> None:
        if self._content_sync is not None:
            self._content_polled(self._content_sync.apply_pending())

    def _content_polled(self, result: PollResult) -> None:
        """Announcements and the catalogue subset change at once; config and services at the next start."""
        self.content_status = result
        if result.outcome == "refused":
            self.report_error("content", ValueError(result.detail))
        if result.outcome != "applied":
            return
        _config, self.content = with_content(self.local_config)
        self.refresh_catalogue()
        self.events.publish("content", version=result.version)

    def refresh_catalogue(self) -> None:
        """Fetch the procedure catalogue (or take the cached copy); announces ``catalogue`` when done."""
        client = self.backend_client
        catalogue = load_catalogue(client.procedures if client else None, self.config.data_dir / "catalogue.json")
        offered = self.content.files.catalogue if self.content else None
        if catalogue is not None and offered is not None:
            catalogue = catalogue.only(set(offered.procedures))
        self.catalogue = catalogue or self.catalogue
        self.events.publish("catalogue", available=self.catalogue is not None)

    def _print_receipt(self, receipt: FilingReceipt) -> None:
        """Print a filing receipt; the outcome arrives as a ``receipt_print`` event."""
        self._print(receipt_document(receipt, self.config, self.language), "receipt_print")

    def _print(self, document: list[Block], event: str) -> None:
        """Render for the configured printer (lazily: the renderer's fonts are not needed at start) and queue."""
        from devices.escpos.render import render

        job = render(document, printer_profile(self.config))
        self.print_queue.submit(job, lambda error: self.events.publish(
            event, ok=error is None, reason=error.status if error else ""))

    def replace_devices(self, config: KioskConfig) -> None:
        """Apply saved printer/scanner settings now: new printer behind the same print queue, scanner restarted."""
        devices = {"printer": config.printer, "scanner": config.scanner}
        self.local_config = self.local_config.model_copy(update=devices)
        self.config = self.config.model_copy(update=devices)
        self.queue.use_config(self.config)
        old_printer, self.printer = self.printer, open_printer(self.config)
        self.print_queue.printer = self.printer  # the queue reads .printer per job; QueueFlow keeps its submit
        old_printer.close()
        self.scanner.stop()
        self.scanner = open_scanner(self.config)
        try:
            self.scanner.start(self._on_scan)
        except OSError as exc:
            self.report_error("scanner", exc)

    def print_slip(self, status: dict[str, Any]) -> None:
        """Print a dossier status slip; the outcome arrives as a ``slip_print`` event."""
        self._print(status_slip(status, self.config, self.language), "slip_print")

    def _on_scan(self, raw: bytes) -> None:
        """Scanner thread: classify the payload and hand it to the UI (the payload itself is never logged)."""
        self.session.touch()
        self.events.publish("scan", payload=parse_payload(raw))

    @staticmethod
    def read_typed_code(text: str) -> dict[str, Any]:
        """A code the citizen typed, classified like a scan (dossier, booking, …)."""
        return parse_payload(text)

    @staticmethod
    def printer_profiles() -> list[str]:
        """The printer profiles a technician may choose, sorted."""
        return sorted(load_profiles())

    def simulate_scan(self, text: str) -> None:
        """Development mode: a payload typed into the on-screen box behaves exactly like a scan."""
        self._on_scan(text.encode("utf-8"))

    def device_status(self) -> dict[str, str]:
        """Short status codes per device for the maintenance screen and heartbeats."""
        return {"printer": self.printer.status().value, "scanner": "listening" if self.scanner.running else "offline"}

    def _reset_language(self) -> None:
        self.set_language(self.config.kiosk.language)
        self.set_accessibility(0)

    def set_accessibility(self, level: int) -> None:
        """0 = standard, 1 = large text, 2 = large text and high contrast; reset for the next citizen."""
        self.accessibility = level % len(ACCESSIBILITY_LEVELS)
        large_text, high_contrast = ACCESSIBILITY_LEVELS[self.accessibility]
        self.events.publish("accessibility", large_text=large_text, high_contrast=high_contrast)

    def cycle_accessibility(self) -> None:
        self.set_accessibility(self.accessibility + 1)

    def set_language(self, lang: str) -> None:
        self.language = lang
        self.events.publish("language", lang=lang)

    def toggle_language(self) -> None:
        self.set_language("en" if self.language == "vi" else "vi")

    def help_service(self) -> str:
        """The service a "Cần hỗ trợ" ticket is for: ``queue.help_service``, or the first one offered here."""
        codes = [service.code for service in self.queue.services()]
        wanted = self.config.queue.help_service
        return wanted if wanted in codes or not codes else codes[0]

    def guide(self, step: str, **values: object) -> None:
        """Say the spoken guidance for ``step`` in the citizen's language (steps without a text stay silent)."""
        key = f"voice.{step}"
        text = tr(key, self.language, **values)
        if text != key:
            self.voice.say(text, self.language)

    def announcements(self) -> list[str]:
        """Published announcements showing now (in the citizen's language when given), then the local ones."""
        published = self.content.files.announcements if self.content else None
        shown = published.shown_at(dt.datetime.now(LOCAL_TZ)) if published else []
        texts = [item.text_en if self.language == "en" and item.text_en else item.text for item in shown]
        return texts + [item.text for item in self.config.announcements]

    def config_lines(self) -> list[tuple[str, str]]:
        return flat_lines(masked_config(self.config))

    def report_error(self, where: str, error: BaseException) -> None:
        """Remember a device/backend fault for the maintenance screen; the message carries no personal data."""
        self.last_error = f"{where}: {type(error).__name__}: {error}"
        log.warning("%s", self.last_error)
        self.events.publish("error", message=self.last_error)

    def close(self) -> None:
        self._stop.set()
        if self._heartbeat:
            self._heartbeat.stop(timeout_s=1.0)
        if self._content_sync:
            self._content_sync.close()
        self.session.end()
        self.scanner.stop()
        self.print_queue.close()
        self.outbox.close()
        if self._close_backend:
            self._close_backend()
        self.printer.close()
