"""The technician's screens: the PIN pad's answer, live device status and the device setup's choices."""

from __future__ import annotations

import math
from dataclasses import dataclass

from contracts.pin import PinResult
from devices.errors import DeviceError
from kiosk.device_setup import BAUD_RATES, PAPER_WIDTHS, Choice, Detected, DeviceDraft, detected_cameras
from kiosk.i18n import tr


@dataclass(frozen=True)
class PinOutcome:
    ok: bool
    message: str = ""  # wrong PIN (attempts left) or locked out (minutes to wait)


@dataclass(frozen=True)
class DeviceStatusView:
    printer: str  # status codes (``ok``, ``paper_out``, ``offline`` …) for heartbeats and tests
    scanner: str
    printer_text: str
    scanner_text: str
    last_error: str
    demo_pin: str = ""  # the banner while the technician PIN is still the demo one, else ""


@dataclass(frozen=True)
class SetupView:
    """The device setup's drop-downs (labels the technician recognises) and what each one shows now."""

    printer_options: tuple[str, ...]
    scanner_options: tuple[str, ...]
    profile_options: tuple[str, ...]
    printer_choice: str
    scanner_choice: str
    profile_choice: str
    width_choice: str
    printer_baud: str
    scanner_baud: str
    site_path: str
    cameras: str = ""  # the cameras detection found, or that it found none
    width_options: tuple[str, ...] = tuple(str(width) for width in PAPER_WIDTHS)
    baud_options: tuple[str, ...] = tuple(str(baud) for baud in BAUD_RATES)

    @property
    def printer_serial(self) -> bool:
        """Only a serial printer has a baud rate to choose."""
        return self.printer_choice.startswith("serial:")

    @property
    def scanner_serial(self) -> bool:
        return self.scanner_choice.startswith("serial:")


@dataclass(frozen=True)
class SetupOutcome:
    """After "Lưu": what happened, and the configuration as it now runs (secrets masked)."""

    message: str
    config_rows: tuple[tuple[str, str], ...]


def pin_outcome(result: PinResult, lang: str) -> PinOutcome:
    if result.ok:
        return PinOutcome(True)
    if result.locked_for_s > 0:
        return PinOutcome(False, tr("pin.locked", lang, minutes=math.ceil(result.locked_for_s / 60)))
    return PinOutcome(False, tr("pin.wrong", lang, attempts=result.attempts_left))


def device_status_view(status: dict[str, str], last_error: str | None, lang: str,
                       demo_pin: bool = False) -> DeviceStatusView:
    return DeviceStatusView(status["printer"], status["scanner"], tr(f"status.{status['printer']}", lang),
                            tr(f"status.{status['scanner']}", lang), last_error or tr("maint.none", lang),
                            tr("maint.demo_pin", lang) if demo_pin else "")


def connection_labels(found: Detected, draft: DeviceDraft) -> tuple[dict[str, str], dict[str, str]]:
    """Printer and scanner choices as label → connection; the drafted connections stay selectable even when
    nothing of theirs is plugged in (a network printer, a scanner unplugged for repair)."""
    printers = _labels(found.printers, draft.printer)
    scanners = _labels(found.scanners, draft.scanner)
    return printers, scanners


def _labels(choices: list[Choice], current: str) -> dict[str, str]:
    labels = {choice.label: choice.connection for choice in choices}
    if current not in labels.values():
        labels[current] = current
    return labels


def setup_view(draft: DeviceDraft, printers: dict[str, str], scanners: dict[str, str], profiles: list[str],
               site_path: str, cameras: str = "") -> SetupView:
    return SetupView(
        printer_options=tuple(printers), scanner_options=tuple(scanners), profile_options=tuple(profiles),
        printer_choice=_label_of(printers, draft.printer), scanner_choice=_label_of(scanners, draft.scanner),
        profile_choice=draft.profile, width_choice=str(draft.paper_width_mm), printer_baud=str(draft.printer_baud),
        scanner_baud=str(draft.scanner_baud), site_path=site_path, cameras=cameras,
    )


def cameras_text(found: Detected, lang: str) -> str:
    """"Camera: camera:/dev/video0", or that detection found none."""
    found_cameras = detected_cameras(found)
    if not found_cameras:
        return tr("maint.no_cameras", lang)
    return tr("maint.cameras", lang, cameras=", ".join(found_cameras))


def _label_of(labels: dict[str, str], connection: str) -> str:
    return next(label for label, conn in labels.items() if conn == connection)


def print_test_message(error: DeviceError | None, lang: str) -> str:
    if error is None:
        return tr("maint.print_ok", lang)
    return tr("maint.print_failed", lang, reason=f"{tr('status.' + error.status, lang)} ({error})")
