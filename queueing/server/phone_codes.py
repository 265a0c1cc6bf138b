"""One-time codes by SMS for taking a number from a phone, and the abuse limits on asking for them.

A code is six random digits, kept as a digest with its expiry (``otp_ttl_s``) in ``phone_codes``, one pending
code per phone; five wrong tries void it. Asking for a code is refused (429 with Retry-After) past the limits —
``codes_per_phone_hour`` per phone, ``codes_per_address_hour`` per client address, one code per
``resend_after_s`` per phone — and (409, 429) when the phone already holds an active number here today or the
centre gave out ``max_per_day`` numbers from phones. The counts live in the database (``phone_code_sends``), so
every process of the server enforces one limit. The code goes out through the SMS outbox (``phone_sms``), in the
same transaction that stores it.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from config.schema import PhoneQueueSection
from contracts.http import Refused
from contracts.sqldb import Connection, Database
from queueing import virtual
from queueing.server.phone_sms import enqueue

HOUR_S = 3600.0
MAX_TRIES = 5


class BadCode(Refused):
    def __init__(self, message: str) -> None:
        super().__init__(422, "bad_code", message)


def too_many(wait: float, what: str) -> Refused:
    seconds = max(1, math.ceil(wait))
    return Refused(429, "rate_limited", f"{what}; try again in {seconds} s", headers={"Retry-After": str(seconds)})


def _code_digest(phone: str, code: str) -> str:
    return hashlib.sha256(f"{phone}:{code}".encode()).hexdigest()


def _phone_key(phone: str) -> str:
    return "phone:" + hashlib.sha256(phone.encode()).hexdigest()  # the limits table holds no phone number


def code_text(centre: str, code: str, ttl_s: int) -> str:
    return f"{code} là mã xác nhận lấy số thứ tự tại {centre[:60]}. Mã có hiệu lực {max(1, ttl_s // 60)} phút. " \
           "Không đưa mã này cho người khác."


@dataclass
class PhoneCodes:
    db: Database
    settings: PhoneQueueSection
    centre: str
    clock: Callable[[], float] = time.time

    def request(self, phone: str, service: str, address: str, today: str) -> None:
        """Store a new code for ``phone`` and queue its SMS.

        :raises HasActiveNumber, PhoneCapReached:
        :raises Refused: 429 past a limit (Retry-After says when the oldest counted code leaves the hour).
        """
        now = self.clock()
        code = f"{secrets.randbelow(10 ** 6):06d}"
        keys = {_phone_key(phone): self.settings.codes_per_phone_hour,
                f"address:{address}": self.settings.codes_per_address_hour}
        with self.db.transaction("phone_codes") as conn:
            virtual.check_allowed(conn, today, phone, self.settings.max_per_day)
            for key, limit in keys.items():
                wait = self._wait(conn, key, limit, now)
                if wait:
                    raise too_many(wait, "too many codes asked for from this phone or address")
            conn.execute("DELETE FROM phone_code_sends WHERE at < ?", [now - HOUR_S])
            conn.executemany("INSERT INTO phone_code_sends (key, at) VALUES (?, ?)", [(key, now) for key in keys])
            conn.execute("INSERT INTO phone_codes (phone, service, digest, expires, tries, sent) VALUES "
                         "(?, ?, ?, ?, 0, ?) ON CONFLICT (phone) DO UPDATE SET service = excluded.service, "
                         "digest = excluded.digest, expires = excluded.expires, tries = 0, sent = excluded.sent",
                         [phone, service, _code_digest(phone, code), now + self.settings.otp_ttl_s, now])
            enqueue(conn, request_id=f"code-{secrets.token_hex(8)}", day=today, phone=phone,
                    text=code_text(self.centre, code, self.settings.otp_ttl_s), kind="code", now=now,
                    expires=now + self.settings.otp_ttl_s)

    def _wait(self, conn: Connection, key: str, limit: int, now: float) -> float:
        """Seconds until ``key`` may have one more code (0: now)."""
        sent = [at for (at,) in conn.execute("SELECT at FROM phone_code_sends WHERE key = ? AND at >= ? "
                                             "ORDER BY at", [key, now - HOUR_S]).fetchall()]
        wait = sent[-limit] + HOUR_S - now if len(sent) >= limit else 0.0
        if key.startswith("phone:") and sent:
            wait = max(wait, sent[-1] + self.settings.resend_after_s - now)
        return max(0.0, wait)

    def redeem(self, phone: str, code: str, service: str) -> None:
        """Use up the phone's code. :raises BadCode: none pending, expired, for another service, or wrong (a
        wrong try is counted; the fifth voids the code)."""
        now = self.clock()
        with self.db.transaction("phone_codes") as conn:
            row = conn.execute("SELECT service, digest, expires, tries FROM phone_codes WHERE phone = ?",
                               [phone]).fetchone()
            if row is None or row[2] < now:
                conn.execute("DELETE FROM phone_codes WHERE phone = ?", [phone])
                problem = "no valid code for this phone; ask for a new one"
            elif not hmac.compare_digest(row[1], _code_digest(phone, code)) or row[0] != service:
                tries = row[3] + 1
                if tries >= MAX_TRIES:
                    conn.execute("DELETE FROM phone_codes WHERE phone = ?", [phone])
                    problem = f"wrong code {MAX_TRIES} times: it no longer works; ask for a new one"
                else:
                    conn.execute("UPDATE phone_codes SET tries = ? WHERE phone = ?", [tries, phone])
                    problem = f"wrong code; {MAX_TRIES - tries} tries left"
            else:
                conn.execute("DELETE FROM phone_codes WHERE phone = ?", [phone])
                return
        raise BadCode(problem)  # after the commit: the wrong try stays counted

    def forget_expired(self) -> None:
        """Upkeep: codes past their expiry and counts older than the hour."""
        now = self.clock()
        with self.db.transaction("phone_codes") as conn:
            conn.execute("DELETE FROM phone_codes WHERE expires < ?", [now])
            conn.execute("DELETE FROM phone_code_sends WHERE at < ?", [now - HOUR_S])
