"""The phone queue's upkeep: skip numbers not checked in after their grace, and queue the SMS their holders get.

Run after every call and check-in in this process, and by the SMS sender's thread every second (so calls made by
another process, and the grace running out with no call, are noticed too). Each run is one transaction under the
queue's lock: a holder's ``notified`` flag changes with the message queued for them, so each message is queued once
whichever process runs first.

- "Near": a number from a phone (virtual or checked in) with ``notify_ahead`` people or fewer before it in its line,
  counting the virtual numbers before it too, gets one SMS (again after a re-queue).
- "Skipped": a number skipped for not checking in gets one SMS saying it may be re-queued once.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from config.schema import PhoneQueueSection
from queueing import virtual
from queueing.engine import QUEUE_LOCK, QueueEngine
from queueing.server.phone_sms import enqueue


def near_text(centre: str, number: str, ahead: int, checked_in: bool) -> str:
    where = "Mời quý khách chú ý bảng gọi số." if checked_in else \
        "Mời quý khách đến và quét mã QR tại kiosk để xác nhận có mặt."
    return f"{centre[:60]}: số {number} sắp đến lượt, còn {ahead} người phía trước. {where}"


def skipped_text(centre: str, number: str) -> str:
    return f"{centre[:60]}: số {number} đã bị bỏ qua vì chưa xác nhận có mặt. Quý khách có thể xếp lại hàng " \
           "một lần trên trang theo dõi số."


@dataclass
class PhoneNotices:
    engine: QueueEngine
    settings: PhoneQueueSection
    centre: str
    today: Callable[[], str]
    clock: Callable[[], float] = time.time

    def upkeep(self) -> int:
        """Skip the numbers whose grace ran out, then queue the due messages; returns how many were queued."""
        self.engine.skip_unchecked(timedelta(minutes=self.settings.grace_min))
        return self.notify()

    def notify(self) -> int:
        """Queue the messages due now; the candidates are read first, so a quiet run takes no write lock."""
        day = self.today()
        with self.engine.db.reading() as conn:
            near = [(row, ahead) for service in self.engine.services
                    for ahead, row in enumerate(virtual.line_head(conn, day, service, self.settings.notify_ahead + 1))
                    if row["phone"] and not row["notified"]]
            skipped = conn.execute(
                "SELECT id, number, phone FROM tickets WHERE day = ? AND phone IS NOT NULL AND state = 'no_show' "
                "AND skip_reason = ? AND notified < ?", [day, virtual.NOT_CHECKED_IN, virtual.SKIP_NOTIFIED]).fetchall()
        messages = [(row["id"], virtual.NEAR_NOTIFIED, row["phone"], "near",
                     near_text(self.centre, row["number"], ahead, row["state"] == "waiting")) for row, ahead in near]
        messages += [(ticket_id, virtual.SKIP_NOTIFIED, phone, "skipped", skipped_text(self.centre, number))
                     for ticket_id, number, phone in skipped]
        if not messages:
            return 0
        queued, now = 0, self.clock()
        with self.engine.db.transaction(QUEUE_LOCK) as conn:
            for ticket_id, stage, phone, kind, text in messages:
                # the flag moves with the message: another process that read the same candidates queues nothing
                if conn.execute("UPDATE tickets SET notified = ? WHERE id = ? AND notified < ?",
                                [stage, ticket_id, stage]).rowcount == 1:
                    enqueue(conn, request_id=f"{kind}-{secrets.token_hex(8)}", day=day, phone=phone, text=text,
                            kind=kind, now=now)
                    queued += 1
        return queued
