"""Kiosk credentials of the branch queue server: which bearer tokens may issue tickets, and which kiosk each names.

A token is ``<kiosk id>:<secret>`` — the server's ``QUEUE_KIOSK_TOKEN`` holds one or a comma-separated list, and
each kiosk sends its own whole token as ``Authorization: Bearer <kiosk id>:<secret>``. The kiosk id in the token
is the only kiosk id the server believes: a ticket is recorded under it and a number block is leased to it,
whatever a request body says. The secret is at least ``MIN_SECRET`` characters (make one with
``python -c "import secrets; print(secrets.token_urlsafe(24))"``).

Tokens are looked up by their SHA-256 digest, so the comparison does not leak how much of a guessed token matched.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from contracts.http import Refused
from contracts.sqldb import Database

MIN_SECRET = 16
KIOSK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
ENV = "QUEUE_KIOSK_TOKEN"


class BadKioskToken(ValueError):
    """A configured token is malformed; the message names its position, never its secret."""


def digest(token: str) -> bytes:
    """How both token kinds are kept and compared: never the token itself."""
    return hashlib.sha256(token.encode()).digest()


class KioskTokens:
    def __init__(self, tokens: Iterable[str] = ()) -> None:
        """:raises BadKioskToken: an entry is not ``<kiosk id>:<secret of MIN_SECRET+ characters>``."""
        self._kiosks: dict[bytes, str] = {}
        for position, token in enumerate(tokens, start=1):
            kiosk, _colon, secret = token.partition(":")
            if not KIOSK_ID.match(kiosk) or len(secret) < MIN_SECRET:
                raise BadKioskToken(f"kiosk token {position} must be <kiosk id>:<secret of at least {MIN_SECRET} "
                                    "characters>, e.g. HN-HK-01:<32 random characters>")
            self._kiosks[digest(token)] = kiosk

    @classmethod
    def parse(cls, text: str) -> KioskTokens:
        """From the comma-separated form of ``QUEUE_KIOSK_TOKEN`` (blank entries ignored)."""
        return cls(entry.strip() for entry in text.split(",") if entry.strip())

    @property
    def kiosks(self) -> list[str]:
        return sorted(set(self._kiosks.values()))

    def kiosk_for(self, token: str) -> str:
        """The kiosk a bearer token names.

        :raises Refused: 401 when no kiosk token is configured or ``token`` is not one of them.
        """
        if not self._kiosks:
            raise Refused(401, "kiosk_refused", f"this queue server has no kiosk tokens ({ENV} is not set), so it "
                                                "refuses every kiosk call")
        kiosk = self._kiosks.get(digest(token)) if token else None
        if kiosk is None:
            raise Refused(401, "kiosk_refused", "send this kiosk's queue token (Authorization: Bearer <kiosk id>:"
                                                "<secret>); the one sent is missing or unknown")
        return kiosk


class Presence:
    """When each kiosk was reachable, to tell an offline ticket reported on reconnection from one back-dated by a
    kiosk that was online after it.

    A kiosk in branch mode talks to the server every few seconds (its sync sends its token even on public reads),
    so a silence longer than ``GAP`` means its link was down, and an honest kiosk reports its offline tickets at its
    first sync after that. An offline ticket is *late* when it comes more than ``GRACE`` after its issue time and
    the kiosk was seen more than ``GRACE`` after that time before the current stretch of contact, or has been in
    contact for more than ``GRACE`` already.

    Kept in the queue's database (``kiosk_presence``), as every server process may hear from the kiosk, and written
    at most every ``WRITE_EVERY`` per kiosk and process (a contact in between only moves this process's copy of
    the last contact; ``WRITE_EVERY`` is well under ``GAP``, so no stretch is cut by it). A kiosk the database has
    never seen is believed.
    """

    GAP = timedelta(seconds=60)
    GRACE = timedelta(seconds=60)
    WRITE_EVERY = timedelta(seconds=10)

    def __init__(self, db: Database) -> None:
        self._db = db
        self._written: dict[str, datetime] = {}  # kiosk → when this process last wrote its contact

    def seen(self, kiosk: str, now: datetime) -> None:
        written = self._written.get(kiosk)
        if written is not None and timedelta(0) <= now - written < self.WRITE_EVERY:
            return
        with self._db.transaction(f"presence:{kiosk}") as conn:
            row = conn.execute("SELECT since, last, before FROM kiosk_presence WHERE kiosk = ?", [kiosk]).fetchone()
            since, last, before = _times(row) if row else (now, now, None)
            since, before = (now, last) if now - last > self.GAP else (since, before)
            conn.execute("INSERT INTO kiosk_presence (kiosk, since, last, before) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (kiosk) DO UPDATE SET since = excluded.since, last = excluded.last, "
                         "before = excluded.before",
                         [kiosk, since.isoformat(), now.isoformat(), before.isoformat() if before else None])
        self._written[kiosk] = now

    def late(self, kiosk: str, issued_at: datetime, now: datetime) -> bool:
        rows = self._db.query("SELECT since, last, before FROM kiosk_presence WHERE kiosk = ?", [kiosk])
        since, _last, before = _times(rows[0]) if rows else (now, now, None)
        seen_after = since < now - self.GRACE or (before is not None and before > issued_at + self.GRACE)
        return now - issued_at > self.GRACE and seen_after


def _times(row: tuple) -> tuple[datetime, datetime, datetime | None]:
    return datetime.fromisoformat(row[0]), datetime.fromisoformat(row[1]), \
        datetime.fromisoformat(row[2]) if row[2] else None
