"""Spoken guidance for citizens who cannot read the screen well: espeak-ng's Vietnamese voice, on this machine.

Nothing leaves the kiosk (no cloud TTS). Each new step interrupts what is still being said, so the voice always
matches the screen. The voice is quiet during the configured night hours (a 24/7 kiosk in a hall next to homes)
and when ``voice.enabled`` is off; ``voice.output = "file:DIR"`` writes WAV files instead of playing them, for
tests and for recording clips to check pronunciation.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from config.schema import VoiceSection
from contracts.voice import VOICES

log = logging.getLogger(__name__)


def in_window(moment: dt.time, window: str) -> bool:
    """Whether ``moment`` falls in "HH:MM-HH:MM" (a window may pass midnight, e.g. "21:30-06:00")."""
    start, end = (dt.time.fromisoformat(part) for part in window.split("-"))
    return start <= moment < end if start <= end else moment >= start or moment < end


class VoiceGuide:
    def __init__(self, config: VoiceSection, now: Callable[[], dt.datetime] | None = None) -> None:
        self._config = config
        self._now = now or dt.datetime.now
        self._binary = shutil.which("espeak-ng")
        self._current: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._count = 0
        if config.enabled and self._binary is None:
            log.warning("voice guidance is on but espeak-ng is not installed: the kiosk stays silent")

    def speaking_now(self) -> bool:
        quiet = self._config.quiet_hours and in_window(self._now().time(), self._config.quiet_hours)
        return bool(self._config.enabled and self._binary and not quiet)

    def say(self, text: str, lang: str) -> None:
        """Start saying ``text`` (interrupting the previous sentence); returns at once."""
        if not text or not self.speaking_now():
            return
        command = [self._binary or "espeak-ng", "-v", VOICES.get(lang, "vi"), "-a", str(self._config.volume * 2),
                   "-s", str(self._config.rate)]
        if self._config.output.startswith("file:"):
            folder = Path(self._config.output.removeprefix("file:"))
            folder.mkdir(parents=True, exist_ok=True)
            self._count += 1
            command += ["-w", str(folder / f"{time.time_ns()}-{self._count:04d}.wav")]
        with self._lock:
            self.stop()
            try:
                self._current = subprocess.Popen([*command, "--", text], stdin=subprocess.DEVNULL,
                                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            except OSError as exc:  # the binary vanished or the audio device is busy: guidance is a help, not a must
                log.warning("voice guidance failed: %s", type(exc).__name__)

    def stop(self) -> None:
        if self._current is not None and self._current.poll() is None:
            self._current.terminate()
        self._current = None

    def wait(self, timeout: float = 10.0) -> None:
        """Until the current sentence is finished (tests, and before the process exits)."""
        if self._current is not None:
            self._current.wait(timeout)
