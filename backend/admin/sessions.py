"""Administrator sessions for the web pages: an opaque cookie in the browser, its hash and CSRF token in the
database; and the login lockout (:class:`LoginGuard`).

Kept in the database, not in process memory, so several backend processes behind a load balancer share them and
logging out ends the session everywhere. The browser only ever holds a random id (HttpOnly, SameSite=Strict, and
Secure whenever the page came over TLS); every form carries the session's CSRF token, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from backend.store import opened
from contracts.migrations import Migrations
from contracts.sqldb import Connection, Database

SESSION_TTL_S = 8 * 3600  # one working day; then the administrator logs in again
session_migrations = Migrations()


@session_migrations("admin_0001_sessions")
def _schema(conn: Connection) -> None:
    conn.execute(f"CREATE TABLE admin_sessions (id_hash TEXT PRIMARY KEY, csrf TEXT NOT NULL, "
                 f"expires_at {_real(conn)} NOT NULL)")


@session_migrations("admin_0002_login_failures")
def _failures(conn: Connection) -> None:
    # scope: "ip:<address>" or "global"; blocked_until and last_failure are epoch seconds
    conn.execute(f"CREATE TABLE admin_login_failures (scope TEXT PRIMARY KEY, failures INTEGER NOT NULL, "
                 f"blocked_until {_real(conn)} NOT NULL, last_failure {_real(conn)} NOT NULL)")


def _real(conn: Connection) -> str:
    return "DOUBLE PRECISION" if conn.dialect == "postgresql" else "REAL"


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison that treats a missing value as a mismatch."""
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


class AdminSessions:
    """Sessions in ``target`` (a SQLite file, a PostgreSQL URL or an open :class:`Database`)."""

    def __init__(self, target: Database | str | Path, *, ttl_s: float = SESSION_TTL_S,
                 clock: Callable[[], float] = time.time) -> None:
        self.db = opened(target)
        self._clock = clock
        self.ttl_s = ttl_s
        self.db.migrate(session_migrations)

    def create(self) -> tuple[str, str]:
        """A new session; returns (id for the cookie, CSRF token for the forms). Expired sessions are purged."""
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self._clock()
        with self.db.transaction(lock="admin_sessions") as conn:
            conn.execute("DELETE FROM admin_sessions WHERE expires_at <= ?", [now])
            conn.execute("INSERT INTO admin_sessions (id_hash, csrf, expires_at) VALUES (?, ?, ?)",
                         [_hash(session_id), csrf, now + self.ttl_s])
        return session_id, csrf

    def csrf_for(self, session_id: str) -> str | None:
        """The CSRF token of a live session, or None (unknown, expired or logged out)."""
        if not session_id:
            return None
        rows = self.db.query("SELECT csrf FROM admin_sessions WHERE id_hash = ? AND expires_at > ?",
                             [_hash(session_id), self._clock()])
        return rows[0][0] if rows else None

    def guard(self, policy: LoginPolicy | None = None) -> LoginGuard:
        """The login lockout, in the same database as the sessions."""
        return LoginGuard(self.db, self._clock, policy or LoginPolicy())

    def end(self, session_id: str) -> None:
        with self.db.connection() as conn:
            conn.execute("DELETE FROM admin_sessions WHERE id_hash = ?", [_hash(session_id)])


@dataclass(frozen=True)
class LoginPolicy:
    """How failed admin logins are slowed down (see :class:`LoginGuard`)."""

    free_failures: int = 5  # failures an address may make before its backoff starts
    first_block_s: float = 15.0  # the first block; each further failure doubles it
    max_block_s: float = 3600.0
    forget_after_s: float = 24 * 3600.0  # an address quiet this long starts afresh
    global_window_s: float = 900.0  # failures from all addresses, counted until a pause this long…
    global_failures: int = 50  # …past this many, every address loses its free failures


class LoginGuard:
    """Per-address lockout with exponential backoff for the admin login, and a global limit, kept in the database.

    An address that keeps failing is blocked for ``first_block_s``, then twice as long after each further failure
    (up to ``max_block_s``); while blocked, its attempts are refused before the token is even compared, so a
    blocked guesser learns nothing. The global limit never blocks anyone by itself: when many addresses fail
    within ``global_window_s`` (a distributed guess), every address loses its free failures, so each guessing
    address gets one try before its own backoff. An address that has not failed — the administrator's own —
    therefore logs in at once with the right token, whatever an attacker elsewhere does; a success clears that
    address's record. Kept in the database, so restarting the backend resets nothing and, on PostgreSQL, a lockout
    made by one backend process holds on every other.
    """

    def __init__(self, db: Database, clock: Callable[[], float], policy: LoginPolicy = LoginPolicy()) -> None:
        self.db, self._clock, self.policy = db, clock, policy

    def retry_after(self, address: str) -> float:
        """Seconds until ``address`` may try again (0: now)."""
        rows = self.db.query("SELECT blocked_until FROM admin_login_failures WHERE scope = ?", [f"ip:{address}"])
        return max(0.0, rows[0][0] - self._clock()) if rows else 0.0

    def failed(self, address: str) -> float:
        """Record a failed login from ``address``; returns how long it is now blocked (0: not blocked)."""
        now, policy = self._clock(), self.policy
        # one lock for the global count and the address: processes counting failures at once add up, none is lost
        with self.db.transaction(lock="admin_login_failures") as conn:
            global_failures = self._bump(conn, "global", now, window=policy.global_window_s)
            free = 0 if global_failures > policy.global_failures else policy.free_failures
            failures = self._bump(conn, f"ip:{address}", now, window=policy.forget_after_s)
            block = 0.0
            if failures > free:
                block = min(policy.first_block_s * 2 ** (failures - free - 1), policy.max_block_s)
                conn.execute("UPDATE admin_login_failures SET blocked_until = ? WHERE scope = ?",
                             [now + block, f"ip:{address}"])
        return block

    def succeeded(self, address: str) -> None:
        with self.db.connection() as conn:
            conn.execute("DELETE FROM admin_login_failures WHERE scope = ?", [f"ip:{address}"])

    @staticmethod
    def _bump(conn: Connection, scope: str, now: float, *, window: float) -> int:
        """Count one more failure in ``scope``, starting afresh when the last one is older than ``window``."""
        return conn.execute(
            "INSERT INTO admin_login_failures (scope, failures, blocked_until, last_failure) VALUES (?, 1, 0, ?) "
            "ON CONFLICT (scope) DO UPDATE SET failures = CASE WHEN admin_login_failures.last_failure < ? THEN 1 "
            "ELSE admin_login_failures.failures + 1 END, last_failure = excluded.last_failure RETURNING failures",
            [scope, now, now - window]).fetchone()[0]
