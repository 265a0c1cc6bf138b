"""Poll the backend for new content and apply it between citizen sessions.

One poll: ``GET /api/content/latest?kiosk=ID[&group=G]`` with ``If-None-Match`` → 304: nothing new; 404: nothing
published; 200: the bundle is streamed into ``<data_dir>/content/downloads/`` (cut off past
``content.max_bundle_mb``), verified, and applied at once when ``session_active()`` says no citizen is using the
kiosk. Otherwise it waits as *pending* and the loop retries every few seconds, so content never changes in the
middle of a session. A refused bundle is remembered by its ETag and not downloaded again.

Polls run on a worker thread (``run``) every ``content.poll_interval_s`` ± 20 %, so a fleet that booted together
after a power cut does not hit the backend in lockstep.
"""

from __future__ import annotations

import logging
import random
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from config.schema import KioskConfig
from contracts.content.bundle import MIB, BundleRejected, Limits, verify_bundle
from kiosk import tls
from kiosk.content.apply import apply_bundle, content_store
from kiosk.content.store import StoreBusy

log = logging.getLogger(__name__)
JITTER = 0.2
PENDING_RECHECK_S = 5.0
Outcome = Literal["unchanged", "none", "applied", "pending", "refused", "unavailable"]


@dataclass(frozen=True)
class PollResult:
    outcome: Outcome
    detail: str = ""
    version: int | None = None


def _version_header(response: httpx.Response) -> int:
    """The version the backend announces (a hint to skip a download; the signed manifest decides), 0 if none."""
    text = response.headers.get("x-content-version", "")
    return int(text) if text.isdigit() else 0


class ContentSync:
    """The kiosk side of content publishing; ``session_active`` is asked right before anything is applied."""

    def __init__(self, config: KioskConfig, *, url: str, token: str, session_active: Callable[[], bool],
                 on_result: Callable[[PollResult], None] | None = None, transport: httpx.BaseTransport | None = None,
                 rng: random.Random | None = None) -> None:
        self._config = config
        self._session_active = session_active
        self._on_result = on_result
        self._rng = rng or random.Random()
        self._http = tls.client(base_url=url, headers={"Authorization": f"Bearer {token}"}, transport=transport,
                                  timeout=config.backend.timeout_s)
        self._downloads = content_store(config).root / "downloads"
        self._etag: str | None = None
        self._pending: tuple[Path, int] | None = None
        self._busy = threading.RLock()  # the poll thread and the app's "session ended" call share the pending file

    def close(self) -> None:
        self._http.close()

    def next_delay(self) -> float:
        """Seconds until the next poll: the configured interval ± 20 %."""
        return self._config.content.poll_interval_s * (1 + JITTER * (2 * self._rng.random() - 1))

    def poll_once(self) -> PollResult:
        """Ask the backend once and act on the answer; never raises for network or bundle problems."""
        with self._busy:
            return self._poll()

    def _poll(self) -> PollResult:
        if self._pending is not None:
            return self._report(self._apply_pending())
        params = {"kiosk": self._config.kiosk.id}
        if self._config.content.group:
            params["group"] = self._config.content.group
        headers = {"If-None-Match": self._etag} if self._etag else {}
        try:
            with self._http.stream("GET", "/api/content/latest", params=params, headers=headers) as response:
                if response.status_code == 304:
                    return self._report(PollResult("unchanged", "not modified (304)"))
                if response.status_code == 404:
                    return self._report(PollResult("none", "nothing published for this kiosk"))
                if response.status_code != 200:
                    response.read()
                    return self._report(PollResult("unavailable", f"backend answered {response.status_code}: "
                                                                  f"{response.text[:200]}"))
                etag = response.headers.get("etag")
                version = _version_header(response)
                if 0 < version <= content_store(self._config).applied_version():
                    self._etag = etag
                    return self._report(PollResult("unchanged", f"version {version} already applied", version))
                path = self._download(response)
        except httpx.HTTPError as exc:
            return self._report(PollResult("unavailable", f"{type(exc).__name__}: backend unreachable"))
        except BundleRejected as exc:
            self._etag = etag
            return self._report(PollResult("refused", exc.reason, version or None))
        except OSError as exc:
            return self._report(PollResult("unavailable", f"cannot store the download: {exc}"))
        self._etag = etag
        self._pending = (path, version)
        return self._report(self._apply_pending())

    def apply_pending(self) -> PollResult:
        """Apply a downloaded bundle if no session is active; call it when a session ends too."""
        with self._busy:
            return self._apply_pending()

    def _apply_pending(self) -> PollResult:
        if self._pending is None:
            return PollResult("unchanged", "nothing pending")
        path, version = self._pending
        try:
            if self._session_active():
                verify_bundle(path, self._config, applied_version=content_store(self._config).applied_version())
                return PollResult("pending", "waiting for the citizen session to end", version)
            bundle = apply_bundle(path, self._config)
        except BundleRejected as exc:
            self._drop_pending()
            return PollResult("refused", exc.reason, version or None)
        except StoreBusy as exc:
            return PollResult("pending", str(exc), version)
        self._drop_pending()
        return PollResult("applied", f"for {bundle.manifest.target}", bundle.manifest.version)

    def run(self, stop: threading.Event) -> None:
        """Poll until ``stop`` is set (the thread's target)."""
        while not stop.is_set():
            result = self.poll_once()
            stop.wait(PENDING_RECHECK_S if result.outcome == "pending" else self.next_delay())

    def _download(self, response: httpx.Response) -> Path:
        limit = Limits.from_config(self._config).max_bytes
        self._downloads.mkdir(parents=True, exist_ok=True)
        for stale in self._downloads.glob("*.zip"):  # left by a crash; nothing is pending at this point
            stale.unlink()
        with tempfile.NamedTemporaryFile(dir=self._downloads, suffix=".zip", delete=False) as fh:
            path, size = Path(fh.name), 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    fh.close()
                    path.unlink()
                    raise BundleRejected(f"download exceeds the limit of {limit / MIB:.2f} MB")
                fh.write(chunk)
        return path

    def _drop_pending(self) -> None:
        if self._pending is not None:
            self._pending[0].unlink(missing_ok=True)
            self._pending = None

    def _report(self, result: PollResult) -> PollResult:
        level = logging.WARNING if result.outcome in ("refused", "unavailable") else logging.INFO
        log.log(level, "content sync: %s %s", result.outcome, result.detail)
        if self._on_result is not None:
            self._on_result(result)
        return result
