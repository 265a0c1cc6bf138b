"""Check a phone number in at the kiosk: the citizen holds the QR of their phone page to the scanner.

A number taken from a phone (contracts E) waits "virtual" until its holder arrives; the QR on the phone page is
the link ``{queue.public_url}/phone/c/<code>`` (devices.payloads reads it strictly, as kind ``checkin``). The
kiosk sends the code to the centre's queue server (``POST /api/checkin`` with its kiosk token), which puts the
number in line at its original place. What can happen, each with its own answer for the citizen:

* checked in: the number, "please wait to be called", people ahead and the wait;
* refused by the server: unknown code, already checked in, no longer waiting, expired (``reason``);
* the link names another server than this centre's (``wrong_server``): nothing is sent;
* the server cannot be reached (``unavailable``): nothing is kept to send later — a check-in that arrives after
  the number was called would be worse than none, so the citizen is sent to the counter, which can check in;
* a kiosk without a queue server (``queue.mode = "local"``) takes no phone numbers (``not_here``).

Runs on a worker (the core's single flight); nothing here touches Kivy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from queueing.errors import QueueError

log = logging.getLogger(__name__)

CheckInCall = Callable[[str], dict[str, Any]]  # code → the server's answer (kiosk.queue_client.BranchQueue.check_in)
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class CheckInResult:
    """The outcome of one check-in. ``outcome`` is ``checked_in``, ``refused`` (``reason`` the server's code),
    ``wrong_server``, ``unavailable`` or ``not_here``; the ticket fields are set when checked in."""

    code: str
    outcome: str
    reason: str = ""
    number: str = ""
    service: str = ""
    people_ahead: int = 0
    estimate_min: int | None = None


def server_address(url: str) -> tuple[str, int]:
    """(host, port) of an http(s) URL, with the scheme's default port filled in, so ``https://q.vn`` and
    ``https://Q.vn:443`` are the same server."""
    parts = urlsplit(url)
    port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower(), 0)
    return (parts.hostname or "").lower(), port


class PhoneCheckIn:
    def __init__(self, check_in: CheckInCall | None, public_url: str) -> None:
        """:param check_in: the queue server's check-in call; None for a kiosk without a queue server.
        :param public_url: the queue server's public URL (``queue.public_url``), the only host a check-in link may
            name."""
        self._check_in = check_in
        self._server = server_address(public_url)

    def run(self, payload: dict[str, Any]) -> CheckInResult:
        """Check in the number of a scanned ``checkin`` payload (``code`` and ``url``). Never raises for what the
        server or the network does: every outcome is a result to show."""
        code = str(payload["code"])
        if self._check_in is None:
            return CheckInResult(code, "not_here")
        if server_address(str(payload["url"])) != self._server:
            log.info("a check-in link for another server was scanned; nothing sent")
            return CheckInResult(code, "wrong_server")
        from kiosk.queue_client import BranchUnavailable, CheckInRefused  # httpx loads only in branch mode

        try:
            answer = self._check_in(code)
        except CheckInRefused as refusal:
            log.info("phone check-in refused: %s", refusal.reason)
            return CheckInResult(code, "refused", reason=refusal.reason)
        except (BranchUnavailable, QueueError) as exc:
            log.warning("phone check-in failed: %s", exc)
            return CheckInResult(code, "unavailable")
        try:
            return CheckInResult(code, "checked_in", number=str(answer["number"]), service=str(answer["service"]),
                                 people_ahead=int(answer.get("people_ahead") or 0),
                                 estimate_min=_minutes(answer.get("estimate_min")))
        except (KeyError, TypeError, ValueError):
            log.warning("the queue server's check-in answer lacks its fields; shown as unavailable")
            return CheckInResult(code, "unavailable")


def _minutes(value: Any) -> int | None:
    return None if value is None else max(0, round(float(value)))
