"""The "Tra cứu hồ sơ" flow: look a dossier up without ever freezing the screen.

Look-ups run on a worker thread. A slow backend (over ``SLOW_S``) or a dead one falls back to the cached status
with the time it was fetched, or to a clear "try again later"; an unknown code offers a queue number for the help
desk. Results arrive as ``lookup`` events carrying a :class:`LookupResult`. Nothing personal is kept: the backend
only ever returns the applicant's masked name.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from config.localtime import LOCAL_TZ
from devices.payloads.codes import LOCAL_PREFIX
from kiosk.backend_client import BackendClient, BackendError, BackendUnavailable, NotFound

SLOW_S = 2.0


@dataclass(frozen=True)
class LookupResult:
    code: str
    # found | cached | queued (in this kiosk's outbox) | undeliverable (rejected) | not_found | unavailable
    outcome: str
    status: dict[str, Any] = field(default_factory=dict)
    cached_at: str = ""  # HH:MM local, for "cập nhật lúc HH:MM"


class LookupFlow:
    def __init__(self, client: Callable[[], BackendClient | None], publish: Callable[..., None],
                 find_local: Callable[[str], dict[str, Any] | None] = lambda _ref: None) -> None:
        self._client = client
        self._publish = publish
        self._find_local = find_local
        self._generation = 0
        self._lock = threading.Lock()

    def lookup(self, code: str) -> None:
        """Start a look-up; only the latest one's result is published (a citizen may scan twice)."""
        with self._lock:
            self._generation += 1
            generation = self._generation
        done = threading.Event()
        result: list[LookupResult] = []

        def work() -> None:
            result.append(self._fetch(code))
            done.set()

        def deliver() -> None:
            if not done.wait(SLOW_S):  # slow backend: answer from the cache now, the live answer may follow
                self._emit(generation, self._from_cache(code) or LookupResult(code, "unavailable"))
                done.wait()
            self._emit(generation, result[0])

        threading.Thread(target=work, name="lookup", daemon=True).start()
        threading.Thread(target=deliver, name="lookup-deliver", daemon=True).start()

    def _emit(self, generation: int, result: LookupResult) -> None:
        with self._lock:
            current = generation == self._generation
        if current:
            self._publish("lookup", result=result)

    def _fetch(self, code: str) -> LookupResult:
        backend_code = code
        if code.startswith(LOCAL_PREFIX):  # a receipt printed offline: this kiosk's outbox knows what became of it
            item = self._find_local(code)
            if item is None:
                return LookupResult(code, "not_found")
            if not item["code"]:
                return LookupResult(code, "undeliverable" if item["state"] == "dead" else "queued")
            backend_code = item["code"]
        client = self._client()
        if client is None:
            return LookupResult(code, "unavailable")
        try:
            return LookupResult(code, "found", client.dossier_status(backend_code))
        except NotFound:
            return LookupResult(code, "not_found")
        except (BackendUnavailable, BackendError):
            return self._from_cache(code) or LookupResult(code, "unavailable")

    def _from_cache(self, code: str) -> LookupResult | None:
        client = self._client()
        cached = client.cached_status(code) if client else None
        if not cached:
            return None
        status, when = cached
        return LookupResult(code, "cached", status, when.astimezone(LOCAL_TZ).strftime("%H:%M"))

    def forget(self) -> None:
        """Session end: results still in flight are not shown to the next citizen."""
        with self._lock:
            self._generation += 1


def local_date(iso: str) -> str:
    return dt.date.fromisoformat(iso[:10]).strftime("%d/%m/%Y")
