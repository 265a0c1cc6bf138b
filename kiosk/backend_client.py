"""The kiosk's client for the backend: explicit timeouts, retries only where safe, errors in two kinds.

::

    BackendError
    ├── BackendUnavailable   network down, timeout, 5xx, 429: keep the work, try again later
    └── BackendRejected      4xx: the server said no (``code`` and ``message`` from its JSON)
        └── NotFound         404

Calls block, so the app makes them on a worker thread, never on the UI thread. Status look-ups are cached in
SQLite so an offline kiosk can show the last known status with the time it was fetched.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from config.schema import KioskConfig
from contracts.storage import check_and_repair
from kiosk import tls
from kiosk.tls import transport_for, untrusted_certificate, untrusted_message

RETRIES_FOR_IDEMPOTENT = 2
STATUS_CACHE = "status-cache.db"  # in the data dir


class BackendError(Exception):
    pass


class BackendUnavailable(BackendError):
    pass


class BackendFailed(BackendUnavailable):
    """The backend answered, with a 5xx: it may be down for everyone, or fail on this one request (the outbox
    tells the two apart)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"backend answered {status}")
        self.status = status


class BackendRejected(BackendError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class NotFound(BackendRejected):
    pass


Connector = Callable[[KioskConfig], tuple["BackendClient", Callable[[], None]]]


def connect_remote(config: KioskConfig) -> tuple[BackendClient, Callable[[], None]]:
    """A client for ``backend.url`` and the function that closes it.

    ``"embedded"`` names no server the core could reach: the entry point (``python main.py``, the CLI) starts the
    reference backend and hands the core a connector of its own, so no flow imports the backend.
    """
    if config.backend.url == "embedded":
        raise BackendUnavailable("backend.url = 'embedded' needs the entry point to start the embedded backend")
    client = client_for(config, config.backend.url, kiosk_token(config))
    return client, client.close


def kiosk_token(config: KioskConfig) -> str:
    """This kiosk's bearer token: ``backend.token``, or BACKEND_KIOSK_TOKEN when the config leaves it empty (a
    token in the environment stays out of config files that technicians copy around)."""
    return config.backend.token or os.environ.get("BACKEND_KIOSK_TOKEN", "").strip()


def client_for(config: KioskConfig, url: str, token: str) -> BackendClient:
    """A client with the configured timeout, CA file and the status cache under the data directory."""
    return BackendClient(url, token, timeout_s=config.backend.timeout_s, cache_path=config.data_dir / STATUS_CACHE,
                         transport=transport_for(config.backend.ca_file))


class BackendClient:
    def __init__(self, url: str, token: str, *, timeout_s: float = 5.0, cache_path: Path | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.url, self.token = url, token  # content sync and heartbeats talk to the same backend
        self._http = tls.client(base_url=url, timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 2.0)),
                                  headers={"Authorization": f"Bearer {token}"}, transport=transport)
        self._cache = _StatusCache(cache_path) if cache_path else None
        self.online: bool | None = None

    def _request(self, method: str, path: str, *, idempotent: bool, **kwargs: Any) -> httpx.Response:
        # Once the backend is known to be away, one try: a citizen waiting at the screen gets the cached answer
        # at once instead of after the retries' back-off, and the first success makes retries normal again.
        attempts = 1 + (RETRIES_FOR_IDEMPOTENT if idempotent and self.online is not False else 0)
        for attempt in range(attempts):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.ConnectError as exc:  # nothing listens there: retrying within a second will not change that
                self.online = False
                if untrusted_certificate(exc):
                    raise BackendUnavailable(untrusted_message(self.url, "backend.ca_file")) from None
                raise BackendUnavailable(f"{type(exc).__name__}: backend unreachable") from None
            except httpx.HTTPError as exc:
                error: BackendError = BackendUnavailable(f"{type(exc).__name__}: backend unreachable")
            else:
                if response.status_code < 500:
                    self.online = True
                    if response.status_code == 429:  # rate limited: the answer is "later", not "no such code"
                        raise BackendUnavailable(f"backend busy: {_rejection(response).message}")
                    if response.status_code >= 400:
                        raise _rejection(response)
                    return response
                error = BackendFailed(response.status_code)
            self.online = False
            if attempt + 1 < attempts:
                time.sleep(0.2 * (2 ** attempt) * (0.5 + random.random()))  # backoff with jitter
        raise error

    def dossier_status(self, code: str) -> dict[str, Any]:
        """Live status (and refresh the cache); raises NotFound or BackendUnavailable."""
        status = self._request("GET", f"/api/dossiers/{code}", idempotent=True).json()
        if self._cache:
            self._cache.put(code, status)
        return status

    def cached_status(self, code: str) -> tuple[dict[str, Any], dt.datetime] | None:
        return self._cache.get(code) if self._cache else None

    def payment(self, code: str) -> dict[str, Any]:
        return self._request("GET", f"/api/dossiers/{code}/payment", idempotent=True).json()

    def procedures(self) -> dict[str, Any]:
        return self._request("GET", "/api/procedures", idempotent=True).json()

    def submit(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        """Submit a dossier once per idempotency key (safe to repeat: the server dedupes)."""
        return self._post_once("/api/dossiers", key, body)

    def submit_survey(self, key: str, answer: dict[str, Any]) -> dict[str, Any]:
        """Send a survey answer once per idempotency key (safe to repeat: the server dedupes)."""
        return self._post_once("/api/surveys", key, answer)

    def _post_once(self, path: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", path, idempotent=True, json=body, headers={"Idempotency-Key": key}).json()

    def check_in(self, code: str) -> dict[str, Any]:
        return self._request("POST", f"/api/bookings/{code}/checkin", idempotent=False).json()

    def close(self) -> None:
        self._http.close()


def _rejection(response: httpx.Response) -> BackendRejected:
    try:
        body = response.json()
        code, message = str(body.get("error", "rejected")), str(body.get("message", ""))
    except (ValueError, AttributeError):
        code, message = "rejected", response.text[:200]
    cls = NotFound if response.status_code == 404 else BackendRejected
    return cls(response.status_code, code, message)


class _StatusCache:
    """Last known status per dossier code, with the time it was fetched (masked data only)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        check_and_repair(path)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._conn.execute("CREATE TABLE IF NOT EXISTS status_cache (code TEXT PRIMARY KEY, data TEXT, at TEXT)")

    def put(self, code: str, status: dict[str, Any]) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO status_cache VALUES (?, ?, ?)",
                               [code.upper(), json.dumps(status, ensure_ascii=False),
                                dt.datetime.now(dt.UTC).isoformat()])

    def purge(self, before: dt.datetime) -> int:
        with self._lock:
            return self._conn.execute("DELETE FROM status_cache WHERE at < ?",
                                      [before.astimezone(dt.UTC).isoformat()]).rowcount

    def close(self) -> None:
        self._conn.close()

    def get(self, code: str) -> tuple[dict[str, Any], dt.datetime] | None:
        with self._lock:
            row = self._conn.execute("SELECT data, at FROM status_cache WHERE code = ?", [code.upper()]).fetchone()
        return (json.loads(row[0]), dt.datetime.fromisoformat(row[1])) if row else None


def purge_status_cache(path: Path, before: dt.datetime) -> int:
    """Forget the statuses fetched before ``before`` (the retention task); returns how many went."""
    if not path.is_file():
        return 0
    cache = _StatusCache(path)
    try:
        return cache.purge(before)
    finally:
        cache.close()
