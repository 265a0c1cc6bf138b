"""Where the core's slow work runs: never on the caller's (the UI's) thread.

Two shapes cover every intent a screen sends:

- :class:`Lane` — one worker thread per resource, jobs in the order they came (the voice says sentences in order,
  renders reach the printer in order). Submitting never waits.
- :class:`SingleFlight` — at most one job of a kind at a time; a request while one runs is refused, so a double
  tap, a second PIN "Enter" or a status poll during a slow status query never does the work twice.

A job that raises is logged and the worker carries on: an intent whose job failed must still answer its screen,
so intents catch what they expect themselves and this is only the last line.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
_STOP = object()


class Lane:
    """Jobs for one resource, run in order on one daemon thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[..., Any], *args: Any) -> None:
        """Queue ``job(*args)``; returns at once."""
        self._jobs.put((job, args))

    def _run(self) -> None:
        while (item := self._jobs.get()) is not _STOP:
            job, args = item
            try:
                job(*args)
            except Exception:  # noqa: BLE001 — one bad job must not stop the lane for every later one
                log.exception("job on the %s lane failed", self.name)

    def close(self, timeout: float = 2.0) -> None:
        self._jobs.put(_STOP)
        self._thread.join(timeout)


class SingleFlight:
    """Run one job at a time on a worker; :meth:`start` refuses while one runs."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._busy = threading.Lock()

    @property
    def busy(self) -> bool:
        return self._busy.locked()

    def start(self, job: Callable[[], Any]) -> bool:
        """Start ``job`` on a new daemon thread; False (and nothing runs) when the previous one is still running."""
        if not self._busy.acquire(blocking=False):
            return False
        threading.Thread(target=self._run, args=(job,), name=self.name, daemon=True).start()
        return True

    def _run(self, job: Callable[[], Any]) -> None:
        try:
            job()
        except Exception:  # noqa: BLE001 — the flag must be released whatever happened
            log.exception("%s failed", self.name)
        finally:
            self._busy.release()
