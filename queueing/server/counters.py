"""Counter logins: one password per counter (stored as a salted scrypt hash), bearer tokens for the counter page.

Hashes are the technician-PIN format (``contracts.pin``; make one with ``python main.py config pin-hash``), checked
in constant time. Guessing is throttled per counter like the kiosk's PIN gate: after ``MAX_ATTEMPTS`` wrong
passwords that counter refuses logins for ``LOCKOUT_S``. Tokens live in memory: after a server restart staff log
in again, which also ends any session left open on a shared PC. Tokens expire after ``TOKEN_TTL_S``, and each
counter keeps at most ``MAX_TOKENS`` so the table stays bounded.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping

from contracts.http import Refused
from contracts.pin import PinGate

MAX_ATTEMPTS = 5
LOCKOUT_S = 60.0
TOKEN_TTL_S = 14 * 3600.0   # a working day with overtime
MAX_TOKENS = 8              # e.g. the counter PC plus a tablet, and a few logins a day


class LoginRefused(Refused):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, "login_refused", message)


class CounterLogins:
    def __init__(self, hashes: Mapping[int, str], *, clock: Callable[[], float] = time.monotonic) -> None:
        self._gates = {counter: PinGate(pin_hash, MAX_ATTEMPTS, LOCKOUT_S, clock) for counter, pin_hash in
                       hashes.items()}
        self._clock = clock
        self._lock = threading.Lock()    # logins run on worker threads (scrypt takes tens of milliseconds)
        self._tokens: dict[str, tuple[int, float]] = {}

    @property
    def counters(self) -> list[int]:
        return sorted(self._gates)

    def login(self, counter: int, password: str) -> str:
        """A new token for ``counter``.

        :raises LoginRefused: 404 no password is set for the counter, 401 wrong password, 429 locked out.
        """
        gate = self._gates.get(counter)
        if gate is None:
            raise LoginRefused(404, f"counter {counter} has no password set; the administrator adds it to "
                                    "queue.counters in the server's config")
        with self._lock:
            result = gate.check(password)
            if not result.ok:
                if result.locked_for_s:
                    raise LoginRefused(429, f"too many wrong passwords for counter {counter}; try again in "
                                            f"{result.locked_for_s:.0f} s")
                raise LoginRefused(401, f"wrong password for counter {counter} "
                                        f"({result.attempts_left} attempts left)")
            now = self._clock()
            mine = sorted((expires, token) for token, (owner, expires) in self._tokens.items()
                          if owner == counter and expires > now)
            self._tokens = {token: entry for token, entry in self._tokens.items() if entry[1] > now}
            for _expires, token in mine[: max(0, len(mine) - MAX_TOKENS + 1)]:
                del self._tokens[token]
            token = secrets.token_urlsafe(24)
            self._tokens[token] = (counter, now + TOKEN_TTL_S)
            return token

    def counter_for(self, token: str) -> int | None:
        """The counter a live token belongs to, or None."""
        entry = self._tokens.get(token)
        if entry is None or entry[1] <= self._clock():
            return None
        return entry[0]
