"""The kiosk's application core: everything the screens may ask for, with no Kivy in it.

:class:`KioskCore` is the one facade the screens use. A screen calls its methods (intents: ``take_number``,
``check_pin``, ``look_up`` …), reads what they return and subscribes to :attr:`KioskCore.events` (the event bus
is part of the facade); it never reaches into a part (``core.queue.…``, ``core.session.…``). What a screen shows
comes as view data (:mod:`kiosk.view_models`): frozen dataclasses already in the citizen's language.

The UI thread never waits. An intent that can touch the network, a device or the disk (beyond a local SQLite read)
returns at once and does its work on a worker (:mod:`kiosk.workers`); the answer arrives as an event, which the
Kivy app re-posts onto the UI thread. Intents that must not run twice (a ticket, a PIN check) refuse while one is
in flight, so a double tap never doubles the work.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Callable
from functools import cached_property
from itertools import count
from pathlib import Path
from typing import Any

from config.loader import ConfigError
from config.localtime import LOCAL_TZ
from config.schema import KioskConfig
from contracts.pin import PinGate
from contracts.storage import StorageFull, private_dir
from contracts.survey import REASONS
from devices.escpos.document import Block
from devices.escpos.profiles import load_profiles
from devices.factory import open_printer, open_scanner
from devices.payloads import parse_payload
from devices.voice import VoiceGuide
from kiosk.backend_client import BackendClient, Connector, connect_remote
from kiosk.booking_flow import BookingFlow, BookingResult
from kiosk.camera import CameraSteps, PreviewFrame
from kiosk.catalogue import Catalogue, load_catalogue
from kiosk.checkin_flow import PhoneCheckIn
from kiosk.config_view import flat_lines, masked_config
from kiosk.content import Content, load_current
from kiosk.content.sync import ContentSync, PollResult
from kiosk.device_setup import Detected, DeviceSetup, detect, scan_summary, site_config_path
from kiosk.filing_flow import FilingFlow, FilingReceipt
from kiosk.filing_view import FilingView, StepPage
from kiosk.filing_wizard import FilingWizard
from kiosk.heartbeat import Heartbeat, StatusCollector
from kiosk.i18n import tr
from kiosk.lookup_flow import LookupFlow, LookupResult
from kiosk.outbox import open_outbox
from kiosk.printing import PrintQueue
from kiosk.queue_flow import SCREEN_FIRST_S, QueueFlow, QueueRefused, TicketInfo
from kiosk.queue_source import open_queue
from kiosk.receipts import receipt_document
from kiosk.retention import Retention
from kiosk.session import IdleState, Session
from kiosk.slips import status_slip
from kiosk.survey import InvalidAnswer, SurveyStore
from kiosk.tickets import printer_profile
from kiosk.tls import transport_for
from kiosk.view_models.checkin import CheckInView, checkin_view
from kiosk.view_models.lookup import booking_outcome, lookup_view
from kiosk.view_models.queue import (
    PriorityOption,
    TicketOutcome,
    TicketView,
    priority_options,
    service_list,
    ticket_view,
)
from kiosk.view_models.shell import HomeView, IdleStatus, SurveyOutcome
from kiosk.view_models.technician import (
    SetupOutcome,
    SetupView,
    cameras_text,
    connection_labels,
    device_status_view,
    pin_outcome,
    print_test_message,
    setup_view,
)
from kiosk.watchdog import Watchdog
from kiosk.workers import Lane, SingleFlight
from queueing.engine import QueueEngine
from queueing.errors import QueueError

log = logging.getLogger(__name__)
VERSION = "0.1.0"
ACCESSIBILITY_LEVELS = ((False, False), (True, False), (True, True))  # (large text, high contrast)


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
        self._demo_pin = False  # the technician PIN is the demo one config/default.toml ships (checked at start)
        self.language = config.kiosk.language
        self.accessibility = 0
        self.session.on_wipe(self._reset_language)
        self.voice = VoiceGuide(config.voice)
        self._voice_lane = Lane("voice")  # a speaker is a device: starting espeak-ng is no work for the UI thread
        self.session.on_wipe(lambda: self._voice_lane.submit(self.voice.stop))
        self._render_lane = Lane("render")  # tickets, slips and receipts are rendered (PIL) before they print
        self._device_lane = Lane("device-setup")  # detect, save and swap devices, in the order asked
        self._ticket_flight = SingleFlight("take-number")
        self._ticket_requests = count(1)
        self._services_flight = SingleFlight("queue-services")
        self._pin_flight = SingleFlight("pin-check")
        self._survey_flight = SingleFlight("survey-answer")
        self._status_flight = SingleFlight("device-status")
        self._setup: DeviceSetup | None = None
        self._detected = Detected([], [])
        self._connections: dict[str, str] = {}  # device setup: drop-down label → connection
        self._profiles: list[str] = []
        self._shown_status: tuple[str, dict[str, Any]] | None = None  # the dossier status on screen, for a slip
        self.last_error: str | None = None
        self.watchdog = Watchdog()
        private_dir(config.data_dir)
        self.printer = open_printer(config)
        self.print_queue = PrintQueue(self.printer, on_error=lambda exc: self.report_error("printer", exc))
        self.scanner = open_scanner(config)
        self._camera = CameraSteps(lambda: self.scanner, self._is_scan_step,
                                   lambda active: self.events.publish("camera_preview", active=active))
        self.events.subscribe("filing_changed", lambda **_ignored: self._camera_follows_form())
        source = open_queue(config)
        self.queue = QueueFlow(config, source, self.print_queue.submit, self.events.publish, lambda: self.language)
        self.session.on_wipe(self.queue.forget)
        # a number taken from a phone checks in through the queue server only (a local queue takes none)
        self._phone_checkin = PhoneCheckIn(getattr(source, "check_in", None) if config.queue.mode == "branch"
                                           else None, config.queue.public_url)
        self._checkin_flight = SingleFlight("phone-checkin")
        self.backend_client: BackendClient | None = None
        self._close_backend: Callable[[], None] | None = None
        self.bookings = BookingFlow(lambda: self.backend_client, self.queue, self._publish_booking)
        self.outbox = open_outbox(config)
        self.survey = SurveyStore(config.data_dir / "survey.db", config.kiosk.id, outbox=self.outbox,
                                  branch=config.branch.unit or config.branch.name)
        self.retention = Retention(config, self.outbox, survey=self.survey,
                                   queue=source if isinstance(source, QueueEngine) else None)
        self.lookup = LookupFlow(lambda: self.backend_client, self._publish_lookup, self.outbox.find)
        self.session.on_wipe(self.lookup.forget)
        self.session.on_wipe(self._forget_status)
        self.catalogue: Catalogue | None = None
        self.filing = FilingFlow(self.outbox, lambda: self.backend_client, self._print_receipt, self.events.publish)
        self.session.on_wipe(self.filing.forget)

    def start(self) -> None:
        """Start background device work; scans arrive as ``scan`` events carrying the parsed payload."""
        try:
            self.scanner.start(self._on_scan)
        except OSError as exc:
            self.report_error("scanner", exc)
        self.retention.start()  # personal data past its [retention] days: deleted now and daily
        self._device_lane.submit(self._check_demo_pin)  # scrypt: tens of milliseconds, not on the caller's thread
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
                                             on_result=self._content_polled,
                                             transport=transport_for(self.config.backend.ca_file))
            self.session.on_wipe(lambda: threading.Thread(target=self._apply_content_between_sessions,
                                                          name="content-apply", daemon=True).start())
            threading.Thread(target=self._content_sync.run, args=(self._stop,), name="content-sync",
                             daemon=True).start()
            if self.config.backend.heartbeat_s:
                self._heartbeat = Heartbeat(self.backend_client.url, self.backend_client.token, self.config.kiosk.id,
                                            self.config.backend.heartbeat_s, StatusCollector(self),
                                            transport=transport_for(self.config.backend.ca_file))
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

    # -- filing (facade) ---------------------------------------------------------------------------------------------
    # The filing screen renders FilingView pages and sends intents; FilingWizard keeps its page state over
    # self.filing (the form) and announces outcomes that arrive later as ``filing_changed`` events.
    def filing_view(self) -> FilingView:
        """What the filing screen shows now (ask again after each ``filing_changed`` event)."""
        return self._filing_wizard.view()

    def filing_intent(self, name: str, *args: Any) -> FilingView:
        """A touch on the filing screen (one of :data:`kiosk.filing_wizard.INTENTS`); returns what to show next."""
        view = self._filing_wizard.do(name, *args)
        self._camera_follows_form()
        return view

    def _camera_follows_form(self) -> None:
        """After a touch or a ``filing_changed`` event: open the camera on the pages that offer a CCCD scan."""
        if self._camera.step == "filing":
            self._device_lane.submit(self._camera.update)

    @cached_property
    def _filing_wizard(self) -> FilingWizard:
        wizard = FilingWizard(self.filing, catalogue=lambda: self.catalogue, language=lambda: self.language,
                              refresh_catalogue=self._refresh_catalogue_later, take_number=self.take_counter_number,
                              guide=self.guide, subscribe=self.events.subscribe, publish=self.events.publish)
        self.session.on_wipe(wizard.forget)
        return wizard

    @cached_property
    def _catalogue_flight(self) -> SingleFlight:
        return SingleFlight("catalogue-refresh")

    def _refresh_catalogue_later(self) -> None:
        """The filing screen's "Thử lại": fetch on a worker; a second tap while one runs fetches nothing more."""
        self._catalogue_flight.start(self.refresh_catalogue)
    # -- end of filing (facade) --------------------------------------------------------------------------------------

    def _print(self, document: list[Block], event: str) -> None:
        """Render on the render lane, then queue for the printer; the outcome arrives as ``event``."""
        self._render_lane.submit(self._render_and_submit, document, event)

    def _render_and_submit(self, document: list[Block], event: str) -> None:
        from devices.escpos.render import render  # lazily: the renderer's fonts are not needed at start

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
        self._camera.release(self.scanner)
        self.scanner.stop()
        self.scanner = open_scanner(self.config)
        try:
            self.scanner.start(self._on_scan)
        except OSError as exc:
            self.report_error("scanner", exc)
        self._camera.update()  # a camera configured while a scan step shows opens at once

    def print_slip(self, code: str) -> None:
        """Print the status shown for dossier ``code`` on a slip; the outcome arrives as a ``slip_print`` event."""
        if self._shown_status is not None and self._shown_status[0] == code:
            self._print(status_slip(self._shown_status[1], self.config, self.language), "slip_print")

    def _on_scan(self, raw: bytes) -> None:
        """Scanner thread: classify the payload and hand it to the UI (the payload itself is never logged)."""
        self.session.touch()
        self.events.publish("scan", payload=parse_payload(raw))

    @staticmethod
    def read_typed_code(text: str) -> dict[str, Any]:
        """A code the citizen typed, classified like a scan (dossier, booking, …)."""
        return parse_payload(text)

    def simulate_scan(self, text: str) -> None:
        """Development mode: a payload typed into the on-screen box behaves exactly like a scan."""
        self._on_scan(text.encode("utf-8"))

    def device_status(self) -> dict[str, str]:
        """Short status codes per device for the maintenance screen and heartbeats."""
        scanner = "listening" if self.scanner.running else "offline"
        if scanner == "offline" and getattr(self.scanner, "watching", None) is False:
            scanner = "camera_idle"  # a camera closed between scan steps is not a fault
        return {"printer": self.printer.status().value, "scanner": scanner}

    # -- camera scan steps (facade) -----------------------------------------------------------------------------
    # Screens say which scan step shows (``lookup``, ``filing``, ``camera_test``) and when it goes; the core decides
    # whether that opens a camera scanner (on a worker: releasing a camera may wait for its last frame) and
    # announces ``camera_preview`` events (``active``) while frames flow. Other scanners ignore all of this.
    def show_scan_step(self, step: str) -> None:
        self._device_lane.submit(self._camera.show, step)

    def hide_scan_step(self, step: str) -> None:
        self._device_lane.submit(self._camera.hide, step)

    def camera_frame(self) -> PreviewFrame | None:
        """The latest camera frame for the preview (already shrunk and converted), or None."""
        return self._camera.latest()

    def _is_scan_step(self, step: str) -> bool:
        if step == "filing":  # the form's questions about the applicant, which a scanned CCCD fills
            page = self._filing_wizard.view().page
            return isinstance(page, StepPage) and page.can_scan
        return step in ("lookup", "camera_test")

    def camera_test_refusal(self) -> str:
        """Why the technician's camera test view cannot open (the scanner in use is no camera), or ""."""
        if self.config.scanner.kind == "camera":
            return ""
        return tr("maint.camera_not_configured", self.language, scanner=self.config.scanner.connection)

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
        """The service a "Cần hỗ trợ" ticket is for: ``queue.help_service``, or the first one offered here.

        Blocks while the branch server is asked: call it on a worker.
        """
        codes = self._offered_codes()
        wanted = self.config.queue.help_service
        return wanted if wanted in codes or not codes else codes[0]

    def _offered_codes(self) -> list[str]:
        try:
            return [service.code for service in self.queue.services()]
        except (QueueError, OSError, sqlite3.Error) as exc:
            self.report_error("queue", exc)
            return []

    def guide(self, step: str, **values: object) -> None:
        """Say the spoken guidance for ``step`` in the citizen's language (steps without a text stay silent)."""
        key = f"voice.{step}"
        text = tr(key, self.language, **values)
        if text != key:
            self._voice_lane.submit(self.voice.say, text, self.language)

    def announcements(self) -> list[str]:
        """Published announcements showing now (in the citizen's language when given), then the local ones."""
        published = self.content.files.announcements if self.content else None
        shown = published.shown_at(dt.datetime.now(LOCAL_TZ)) if published else []
        texts = [item.text_en if self.language == "en" and item.text_en else item.text for item in shown]
        return texts + [item.text for item in self.config.announcements]

    def config_lines(self) -> list[tuple[str, str]]:
        return flat_lines(masked_config(self.config))

    # -- session and shell (facade) ----------------------------------------------------------------------------
    def start_session(self) -> None:
        """A citizen left the home screen (or touched a home button): from now on inactivity counts."""
        self.session.start()

    def end_session(self) -> None:
        """The citizen finished or walked away: wipe what they entered and reset language and accessibility."""
        self.session.end()

    def touch(self) -> None:
        """Any touch: the citizen is still here."""
        self.session.touch()

    def idle_status(self) -> IdleStatus:
        return IdleStatus(self.session.state is IdleState.WARNING, self.session.seconds_left(),
                          self.session.expired())

    def ui_ready(self) -> None:
        """The first frame is on screen (systemd's READY): now load what the first print needs, on a worker."""
        self.watchdog.ready()
        self._render_lane.submit(self.queue.warm_up)

    def ui_alive(self) -> None:
        """Called from every UI tick: a frozen UI stops feeding systemd's watchdog."""
        self.watchdog.feed()

    def ui_stopping(self) -> None:
        self.watchdog.stopping()

    def home_view(self) -> HomeView:
        return HomeView(self.config.branch.unit, self.config.branch.name, "     •     ".join(self.announcements()),
                        self.config.kiosk.dev_mode)

    # -- take a number (facade) --------------------------------------------------------------------------------
    def request_services(self) -> None:
        """Read the services and waiting counts on a worker (in branch mode the queue server answers); the list
        arrives as a ``services`` event carrying a :class:`~kiosk.view_models.queue.ServiceList`."""
        self._services_flight.start(self._publish_services)  # while one read runs, its answer serves both

    def _publish_services(self) -> None:
        try:
            items = self.queue.services()
        except (QueueError, OSError, sqlite3.Error) as exc:
            self.report_error("queue", exc)
            items = []
        self.events.publish("services", services=service_list(items, self.language))

    def priority_options(self) -> tuple[PriorityOption, ...]:
        return priority_options(self.queue.priority_codes(), self.language)

    def take_number(self, code: str, priority: str | None = None) -> int | None:
        """Issue (and print) a ticket for service ``code`` on a worker.

        Returns the request number, or None while another ticket request is in flight (the tap is ignored). A
        ``ticket_requested`` event announces the request; the answer arrives as a ``ticket`` event carrying a
        :class:`~kiosk.view_models.queue.TicketOutcome`.
        """
        return self._take(lambda: (code, priority))

    def take_help_number(self) -> int | None:
        """Cần hỗ trợ: a help-desk ticket with the ``help`` priority (see :meth:`take_number`)."""
        return self._take(lambda: (self.help_service(), "help"))

    def take_counter_number(self, counter: str | None) -> int | None:
        """A number for the counter (service code) that handles a procedure, or the help desk's when that service
        is not offered here or ``counter`` is None (see :meth:`take_number`)."""
        return self._take(lambda: (counter if counter in self._offered_codes() else self.help_service(), None))

    def _take(self, choose: Callable[[], tuple[str, str | None]]) -> int | None:
        if self._ticket_flight.busy:  # only UI intents start this flight, so it is still free below
            return None
        request = next(self._ticket_requests)
        self.events.publish("ticket_requested", request=request)
        self._ticket_flight.start(lambda: self._answer_then_print(request, choose))
        return request

    def _answer_then_print(self, request: int, choose: Callable[[], tuple[str, str | None]]) -> None:
        """The number goes to the screen once committed; rendering and printing follow on the render lane (also
        when the citizen has left meanwhile: a committed ticket is printed)."""
        outcome, ticket = self._issue(request, choose)
        try:
            self.events.publish("ticket", outcome=outcome)
        finally:
            if ticket is not None:
                self._render_lane.submit(self.queue.send_to_printer, ticket, SCREEN_FIRST_S)

    def _issue(self, request: int,
               choose: Callable[[], tuple[str, str | None]]) -> tuple[TicketOutcome, TicketInfo | None]:
        try:
            code, priority = choose()
            ticket = self.queue.issue(code, priority=priority)
        except QueueRefused as refusal:
            return TicketOutcome(request, None, tr(refusal.message_key, self.language, **refusal.values)), None
        except Exception as exc:  # noqa: BLE001 — the screen waits for an answer whatever went wrong
            log.exception("taking a number failed")
            self.report_error("queue", exc)
            return TicketOutcome(request, None, tr("queue.refused.unavailable", self.language)), None
        return TicketOutcome(request, ticket_view(ticket, self.language)), ticket

    def ticket_view(self, ticket_id: str) -> TicketView | None:
        """A ticket of this session as it stands now (print outcome included); None once the session ended."""
        ticket = self.queue.ticket(ticket_id)
        return ticket_view(ticket, self.language) if ticket is not None else None

    def reprint_ticket(self, ticket_id: str) -> None:
        """Send the ticket to the printer again; the outcome arrives as a ``ticket_print`` event."""
        if self.queue.ticket(ticket_id) is not None:
            self._render_lane.submit(self.queue.reprint, ticket_id)

    def speak_ticket(self, ticket_id: str) -> None:
        """Say the number (and where to wait) once the ticket shows."""
        ticket = self.queue.ticket(ticket_id)
        if ticket is not None:
            self.guide("help" if ticket.priority == "help" else "ticket", number=" ".join(ticket.number))

    # -- look-up and check-in (facade) ---------------------------------------------------------------------------
    def look_up(self, code: str) -> None:
        """Look a dossier up on a worker; answers arrive as ``lookup`` events carrying a
        :class:`~kiosk.view_models.lookup.LookupView` (a cached answer may come first, the live one after it)."""
        self.lookup.lookup(code)

    def check_in(self, code: str) -> None:
        """Check a booking in on a worker; the answer arrives as a ``booking`` event carrying a
        :class:`~kiosk.view_models.lookup.BookingOutcome`."""
        self.bookings.check_in(code)

    def check_in_phone(self, payload: dict[str, Any]) -> bool:
        """Check in a number taken from a phone, from its scanned check-in QR (a ``checkin`` payload), on a worker;
        a ``phone_checkin`` event carrying a :class:`~kiosk.view_models.checkin.CheckInView` follows. False (nothing
        sent) while another check-in runs."""
        return self._checkin_flight.start(lambda: self.events.publish(
            "phone_checkin", view=self._phone_checked_in(payload)))

    def _phone_checked_in(self, payload: dict[str, Any]) -> CheckInView:
        result = self._phone_checkin.run(payload)
        if result.outcome == "checked_in":
            self.guide("checkin", number=" ".join(result.number))
        return checkin_view(result, self.language, self._service_name(result.service) if result.service else "")

    def _service_name(self, code: str) -> str:
        """The service called ``code`` in the citizen's language; the code itself when the list cannot be read."""
        try:
            items = self.queue.services()
        except (QueueError, OSError, sqlite3.Error) as exc:
            self.report_error("queue", exc)
            return code
        return next((item.name(self.language) for item in items if item.code == code), code)

    def _publish_lookup(self, name: str, result: LookupResult) -> None:
        if result.status:
            self._shown_status = (result.code, result.status)
        self.events.publish(name, view=lookup_view(result, self.language))

    def _publish_booking(self, name: str, result: BookingResult) -> None:
        self.events.publish(name, outcome=booking_outcome(result, self.language))

    def _forget_status(self) -> None:
        self._shown_status = None

    # -- survey (facade) ----------------------------------------------------------------------------------------
    @staticmethod
    def survey_reasons() -> tuple[str, ...]:
        """The reason codes a citizen may tick (the screen words them with ``survey.reason.<code>``)."""
        return REASONS

    def send_survey(self, score: int, reasons: tuple[str, ...], *, kind: str, service: str = "") -> bool:
        """Store an answer on a worker; a ``survey`` event carrying a
        :class:`~kiosk.view_models.shell.SurveyOutcome` follows. False while the previous answer is being stored."""
        return self._survey_flight.start(lambda: self.events.publish(
            "survey", outcome=self._record_survey(score, reasons, kind, service)))

    def _record_survey(self, score: int, reasons: tuple[str, ...], kind: str, service: str) -> SurveyOutcome:
        try:
            self.survey.record(score, reasons, service=service, kind=kind)
        except (InvalidAnswer, StorageFull, sqlite3.Error, OSError) as exc:
            self.report_error("survey", exc)
            return SurveyOutcome(False, tr("survey.not_saved", self.language))
        return SurveyOutcome(True, tr("survey.thanks", self.language))

    # -- technician (facade) ----------------------------------------------------------------------------------
    def check_pin(self, digits: str) -> bool:
        """Check the technician PIN on a worker (scrypt takes tens of milliseconds by design); a ``pin`` event
        carrying a :class:`~kiosk.view_models.technician.PinOutcome` follows. False while a check runs."""
        return self._pin_flight.start(lambda: self.events.publish(
            "pin", outcome=pin_outcome(self.pin_gate.check(digits), self.language)))

    def request_device_status(self) -> None:
        """Query the devices on a worker (a dead network printer takes a while to say nothing); the answer arrives
        as a ``device_status`` event carrying a :class:`~kiosk.view_models.technician.DeviceStatusView`."""
        self._status_flight.start(lambda: self.events.publish("device_status", status=device_status_view(
            self.device_status(), self.last_error, self.language, self._demo_pin)))

    def _check_demo_pin(self) -> None:
        """Once at start: warn in the log (never the PIN itself) and on the maintenance screen while the technician
        PIN is the demo one; it changes only with the config, so with a restart."""
        from kiosk.doctor import check_technician_pin  # doctor's own check, loaded only for this one call

        self._demo_pin = not check_technician_pin(self.config).ok
        if self._demo_pin:
            log.warning("the technician PIN is still the demo PIN config/default.toml ships: set technician.pin_hash "
                        "from `python main.py config pin-hash`")

    def config_rows(self) -> tuple[tuple[str, str], ...]:
        """The running configuration as key/value lines, secrets masked."""
        return tuple(self.config_lines())

    def open_device_setup(self) -> None:
        """Start editing the devices from the running configuration and detect what is plugged in (on a worker);
        the choices arrive as a ``device_setup`` event carrying a :class:`~kiosk.view_models.technician.SetupView`."""
        self._setup = DeviceSetup(self.config, site_config_path(self.config, self.site_config), self.print_queue)
        self.detect_devices()

    def detect_devices(self) -> None:
        """List ports and devices again (on a worker); announced as a ``device_setup`` event."""
        self._device_lane.submit(self._detect)

    def _detect(self) -> None:
        self._detected = detect()
        self._profiles = sorted(load_profiles())
        view = self._setup_view()
        if view is not None:
            self.events.publish("device_setup", setup=view)

    def _setup_view(self) -> SetupView | None:
        if self._setup is None:
            return None
        printers, scanners = connection_labels(self._detected, self._setup.draft)
        self._connections = {**printers, **scanners}
        return setup_view(self._setup.draft, printers, scanners, self._profiles, str(self._setup.site_path),
                          cameras_text(self._detected, self.language))

    def change_device_setup(self, **choices: str) -> SetupView | None:
        """Change the draft from drop-down texts (``printer``/``scanner`` labels, ``profile``, ``paper_width_mm``,
        ``printer_baud``, ``scanner_baud``); an empty choice changes nothing. Returns the setup as it now reads."""
        if self._setup is None or not all(choices.values()):
            return self._setup_view()
        values: dict[str, Any] = {}
        for name, text in choices.items():
            if name in ("printer", "scanner"):
                values[name] = self._connections.get(text, text)
            elif name == "profile":
                values[name] = text
            elif text.isdigit():
                values[name] = int(text)
        if values:
            self._setup.change(**values)
        return self._setup_view()

    def test_print(self) -> str:
        """Print the sample ticket with the drafted settings on a worker; returns what to show meanwhile (or why
        the draft cannot print), and a ``device_test`` event carries the outcome's message."""
        if self._setup is None:
            return ""
        lang = self.language
        try:
            self._setup.test_print(lambda error: self.events.publish("device_test",
                                                                     message=print_test_message(error, lang)))
        except ConfigError as exc:
            return tr("maint.print_failed", lang, reason=exc.problems[0])
        return tr("maint.printing", lang)

    def save_device_setup(self) -> None:
        """Write the draft into the site config and switch to the new devices, on a worker; a ``device_saved``
        event carrying a :class:`~kiosk.view_models.technician.SetupOutcome` follows."""
        self._device_lane.submit(self._save_devices)

    def _save_devices(self) -> None:
        setup, lang = self._setup, self.language
        if setup is None:
            return
        try:
            config = setup.save()
        except ConfigError as exc:
            message = tr("maint.save_failed", lang, reason=exc.problems[0])
        else:
            self.replace_devices(config)
            message = tr("maint.saved", lang, path=str(setup.site_path))
        self.events.publish("device_saved", outcome=SetupOutcome(message, self.config_rows()))

    def scan_test_prompt(self) -> str:
        return tr("maint.scan_wait", self.language, scanner=self.config.scanner.connection)

    def describe_scan(self, payload: dict[str, Any]) -> str:
        """A test scan as the technician sees it: every parsed field (shown, never logged)."""
        return tr("maint.scan_result", self.language, summary=scan_summary(payload))

    def report_error(self, where: str, error: BaseException) -> None:
        """Remember a device/backend fault for the maintenance screen; the message carries no personal data."""
        self.last_error = f"{where}: {type(error).__name__}: {error}"
        log.warning("%s", self.last_error)
        self.events.publish("error", message=self.last_error)

    def close(self) -> None:
        self._stop.set()
        for lane in (self._voice_lane, self._render_lane, self._device_lane):
            lane.close()
        if self._heartbeat:
            self._heartbeat.stop(timeout_s=1.0)
        if self._content_sync:
            self._content_sync.close()
        self.session.end()
        self.scanner.stop()
        self.print_queue.close()
        self.retention.stop()
        self.outbox.close()
        if self._close_backend:
            self._close_backend()
        self.printer.close()
