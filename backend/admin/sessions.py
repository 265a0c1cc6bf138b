"""Administrator sessions for the web pages: an opaque cookie in the browser, its hash and CSRF token in SQLite.

Kept in the database, not in process memory, so several backend processes behind a load balancer share them and
logging out ends the session everywhere. The browser only ever holds a random id (HttpOnly, SameSite=Strict);
every form carries the session's CSRF token, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable

import sqlite_utils

from contracts.migrations import Migrations

SESSION_TTL_S = 8 * 3600  # one working day; then the administrator logs in again
session_migrations = Migrations()


@session_migrations("admin_0001_sessions")
def _schema(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TABLE admin_sessions (id_hash TEXT PRIMARY KEY, csrf TEXT NOT NULL, expires_at REAL NOT NULL)")


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison that treats a missing value as a mismatch."""
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


class AdminSessions:
    def __init__(self, path: str, *, ttl_s: float = SESSION_TTL_S, clock: Callable[[], float] = time.time) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        self._lock = threading.Lock()
        self._clock = clock
        self.ttl_s = ttl_s
        session_migrations.apply(sqlite_utils.Database(self._conn))

    def create(self) -> tuple[str, str]:
        """A new session; returns (id for the cookie, CSRF token for the forms). Expired sessions are purged."""
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._conn.execute("DELETE FROM admin_sessions WHERE expires_at <= ?", [now])
            self._conn.execute("INSERT INTO admin_sessions VALUES (?, ?, ?)", [_hash(session_id), csrf,
                                                                               now + self.ttl_s])
        return session_id, csrf

    def csrf_for(self, session_id: str) -> str | None:
        """The CSRF token of a live session, or None (unknown, expired or logged out)."""
        if not session_id:
            return None
        with self._lock:
            row = self._conn.execute("SELECT csrf FROM admin_sessions WHERE id_hash = ? AND expires_at > ?",
                                     [_hash(session_id), self._clock()]).fetchone()
        return row[0] if row else None

    def end(self, session_id: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM admin_sessions WHERE id_hash = ?", [_hash(session_id)])
