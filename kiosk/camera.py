"""When the camera scanner is open, and the preview frames the scan steps show.

A camera sees the hall, not only codes, so it is open only while a scan step is on screen (the look-up and
booking check-in prompt, the filing form's CCCD autofill, the technician's test view). Screens say which step
shows and when it goes; :class:`CameraSteps` decides whether that step opens the camera (the filing form only
while it takes scans). The scanner's worker thread hands every frame over; it is shrunk and converted here, on
that thread, and kept as the one latest :class:`PreviewFrame` — the UI thread only copies it into a texture.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

PREVIEW_WIDTH = 640  # pixels: sharp enough to aim with, cheap enough to copy every frame


@dataclass(frozen=True)
class PreviewFrame:
    """RGB pixels, bottom row first (a texture's order); ``number`` grows with every frame."""

    width: int
    height: int
    pixels: bytes
    number: int


class CameraSteps:
    """Opens the camera (``scanner.watch``) while a scan step shows and releases it when none does."""

    def __init__(self, scanner: Callable[[], Any], is_scan_step: Callable[[str], bool],
                 announce: Callable[[bool], None]) -> None:
        self._scanner, self._is_scan_step, self._announce = scanner, is_scan_step, announce
        self._step = ""
        self._open = False
        self._latest: PreviewFrame | None = None
        self._lock = threading.Lock()

    @property
    def step(self) -> str:
        return self._step

    def show(self, step: str) -> None:
        self._step = step
        self.update()

    def hide(self, step: str) -> None:
        """``step`` left the screen; a step that already replaced it keeps the camera."""
        if self._step == step:
            self.show("")

    def update(self) -> None:
        """Open or release the camera for the step on screen now (after a page change, or a new scanner)."""
        scanner = self._scanner()
        wanted = bool(self._step) and hasattr(scanner, "watch") and self._is_scan_step(self._step)
        if wanted and not self._open:
            scanner.watch(self._frame)
        elif not wanted and self._open:
            self.release()
            return
        if wanted != self._open:
            self._open = wanted
            self._announce(wanted)

    def release(self, scanner: Any = None) -> None:
        """Close the camera (``scanner``: the one being replaced, else the current one)."""
        scanner = scanner if scanner is not None else self._scanner()
        if hasattr(scanner, "unwatch"):
            scanner.unwatch()
        with self._lock:
            self._latest = None
        if self._open:
            self._open = False
            self._announce(False)

    def latest(self) -> PreviewFrame | None:
        with self._lock:
            return self._latest

    def _frame(self, frame: Any) -> None:
        """Scanner thread: keep a preview-sized copy of the frame."""
        from devices.camera import preview_rgb

        width, height, pixels = preview_rgb(frame, PREVIEW_WIDTH)
        with self._lock:
            number = self._latest.number + 1 if self._latest else 1
            self._latest = PreviewFrame(width, height, pixels, number)
