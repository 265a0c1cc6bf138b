"""Counter logins: one password per counter (stored as a salted scrypt hash), bearer tokens for the counter page.

Hashes are the technician-PIN format (``contracts.pin``; make one with ``python main.py config pin-hash --counter``),
checked in constant time, and a password shorter than ``queueing.passwords`` allows is refused before it is even
checked. Guessing is slowed per client address, never per counter: after ``FREE_FAILURES`` wrong passwords from
one address, each further attempt from it must wait twice as long as the last (1 s, 2 s, 4 s … up to
``MAX_DELAY_S``), so one address tries about 300 passwords a day against a million 6-digit ones, and a stranger's
wrong guesses never lock the counter's own staff out at their PC. An address is forgiven after ``FORGET_S``
without a wrong password or at its first right one. Tokens expire after ``TOKEN_TTL_S``, and each counter keeps at
most ``MAX_TOKENS`` so the table stays bounded.

Tokens (by their SHA-256 digest, never the token) and the per-address failures live in the queue's database
(``counter_tokens``, ``login_failures``), so a login made on one server process works on every other and a guesser
cannot spread attempts over processes; times are wall-clock seconds, which every process and host shares.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Mapping

from contracts.http import Refused
from contracts.pin import verify_pin
from contracts.sqldb import Database
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


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CounterLogins:
    def __init__(self, hashes: Mapping[int, str], db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._hashes = dict(hashes)
        self._db = db
        self._clock = clock

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
        token = secrets.token_urlsafe(24)
        now = self._clock()
        with self._db.transaction("counter_logins") as conn:
            conn.execute("DELETE FROM login_failures WHERE address = ?", [address])
            conn.execute("DELETE FROM counter_tokens WHERE expires <= ?", [now])
            # the oldest of the counter's tokens go, so that with the new one it keeps MAX_TOKENS
            kept = conn.execute("SELECT digest FROM counter_tokens WHERE counter = ? ORDER BY expires DESC",
                                [counter]).fetchall()
            conn.executemany("DELETE FROM counter_tokens WHERE digest = ?", kept[MAX_TOKENS - 1:])
            conn.execute("INSERT INTO counter_tokens (digest, counter, expires) VALUES (?, ?, ?)",
                         [_digest(token), counter, now + TOKEN_TTL_S])
        return token

    def _wait_turn(self, address: str) -> None:
        """:raises LoginRefused: 429 while ``address`` must wait after its wrong passwords."""
        rows = self._db.query("SELECT next_try FROM login_failures WHERE address = ?", [address])
        wait = rows[0][0] - self._clock() if rows else 0.0
        if wait > 0:
            raise LoginRefused(429, f"too many wrong passwords from this address; try again in {wait:.0f} s")

    def _failed(self, address: str) -> None:
        with self._db.transaction("counter_logins") as conn:
            now = self._clock()
            row = conn.execute("SELECT count, last FROM login_failures WHERE address = ?", [address]).fetchone()
            count = 1 if row is None or now - row[1] > FORGET_S else row[0] + 1
            over = count - FREE_FAILURES
            next_try = now + (min(MAX_DELAY_S, 2.0 ** (over - 1)) if over > 0 else 0.0)
            conn.execute("INSERT INTO login_failures (address, count, last, next_try) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (address) DO UPDATE SET count = excluded.count, last = excluded.last, "
                         "next_try = excluded.next_try", [address, count, now, next_try])
            if row is None and conn.execute("SELECT COUNT(*) FROM login_failures").fetchone()[0] > MAX_ADDRESSES:
                conn.execute("DELETE FROM login_failures WHERE address = (SELECT address FROM login_failures "
                             "ORDER BY last LIMIT 1)")

    def counter_for(self, token: str) -> int | None:
        """The counter a live token belongs to, or None."""
        rows = self._db.query("SELECT counter FROM counter_tokens WHERE digest = ? AND expires > ?",
                              [_digest(token), self._clock()])
        return rows[0][0] if rows else None
