"""Counter logins: one password per counter (stored as a salted scrypt hash), bearer tokens for the counter page.

Hashes are the technician-PIN format (``contracts.pin``; make one with ``python main.py config pin-hash --counter``),
checked in constant time, and a password shorter than ``queueing.passwords`` allows is refused before it is even
checked. Guessing is slowed per client address, never per counter: after ``FREE_FAILURES`` wrong passwords from
one address, each further attempt from it must wait twice as long as the last (1 s, 2 s, 4 s … up to
``MAX_DELAY_S``), so one address tries about 300 passwords a day against a million 6-digit ones, and a stranger's
wrong guesses never lock the counter's own staff out at their PC. An address is forgiven after ``FORGET_S``
without a wrong password or at its first right one. Tokens live in memory: after a server restart staff log in
again, which also ends any session left open on a shared PC. Tokens expire after ``TOKEN_TTL_S``, and each counter
keeps at most ``MAX_TOKENS`` so the table stays bounded.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from contracts.http import Refused
from contracts.pin import verify_pin
from queueing.passwords import counter_password_problem

FREE_FAILURES = 3
MAX_DELAY_S = 300.0
FORGET_S = 24 * 3600.0
MAX_ADDRESSES = 10_000      # addresses with recent failures kept; the quietest are forgotten first
TOKEN_TTL_S = 14 * 3600.0   # a working day with overtime
MAX_TOKENS = 8              # e.g. the counter PC plus a tablet, and a few logins a day


class LoginRefused(Refused):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, "login_refused", message)


@dataclass
class _Failures:
    count: int
    last: float        # when the last wrong password came
    next_try: float    # no attempt from the address before this


class CounterLogins:
    def __init__(self, hashes: Mapping[int, str], *, clock: Callable[[], float] = time.monotonic) -> None:
        self._hashes = dict(hashes)
        self._clock = clock
        self._lock = threading.Lock()    # logins run on worker threads (scrypt takes tens of milliseconds)
        self._tokens: dict[str, tuple[int, float]] = {}
        self._failures: dict[str, _Failures] = {}

    @property
    def counters(self) -> list[int]:
        return sorted(self._hashes)

    def login(self, counter: int, password: str, address: str = "") -> str:
        """A new token for ``counter``, asked for from client ``address``.

        :raises LoginRefused: 404 no password is set for the counter, 422 the password is too short to be one,
            429 the address must wait after its wrong passwords, 401 wrong password.
        """
        pin_hash = self._hashes.get(counter)
        if pin_hash is None:
            raise LoginRefused(404, f"counter {counter} has no password set; the administrator adds it to "
                                    "queue.counters in the server's config")
        self._wait_turn(address)
        problem = counter_password_problem(password)
        if problem:
            raise LoginRefused(422, f"{problem}: if this is counter {counter}'s password, the administrator must "
                                    "set a longer one (python main.py config pin-hash --counter)")
        if not verify_pin(password, pin_hash):
            self._failed(address)
            raise LoginRefused(401, f"wrong password for counter {counter}")
        with self._lock:
            self._failures.pop(address, None)
            now = self._clock()
            mine = sorted((expires, token) for token, (owner, expires) in self._tokens.items()
                          if owner == counter and expires > now)
            self._tokens = {token: entry for token, entry in self._tokens.items() if entry[1] > now}
            for _expires, token in mine[: max(0, len(mine) - MAX_TOKENS + 1)]:
                del self._tokens[token]
            token = secrets.token_urlsafe(24)
            self._tokens[token] = (counter, now + TOKEN_TTL_S)
            return token

    def _wait_turn(self, address: str) -> None:
        """:raises LoginRefused: 429 while ``address`` must wait after its wrong passwords."""
        with self._lock:
            failures = self._failures.get(address)
            wait = failures.next_try - self._clock() if failures else 0.0
        if wait > 0:
            raise LoginRefused(429, f"too many wrong passwords from this address; try again in {wait:.0f} s")

    def _failed(self, address: str) -> None:
        with self._lock:
            now = self._clock()
            failures = self._failures.get(address)
            if failures is None or now - failures.last > FORGET_S:
                failures = self._failures[address] = _Failures(0, now, now)
            failures.count += 1
            failures.last = now
            over = failures.count - FREE_FAILURES
            failures.next_try = now + (min(MAX_DELAY_S, 2.0 ** (over - 1)) if over > 0 else 0.0)
            if len(self._failures) > MAX_ADDRESSES:
                quietest = min(self._failures, key=lambda a: self._failures[a].last)
                del self._failures[quietest]

    def counter_for(self, token: str) -> int | None:
        """The counter a live token belongs to, or None."""
        entry = self._tokens.get(token)
        if entry is None or entry[1] <= self._clock():
            return None
        return entry[0]
