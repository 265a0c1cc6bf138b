"""Kiosk presence is shared by the server's processes through the database: a kiosk heard on one process and
reporting on another is judged on both contacts (``queueing.server.kiosks.Presence``), written at most every
``WRITE_EVERY`` per kiosk and process."""

from __future__ import annotations

from datetime import timedelta

import pytest

from queueing.db import connect
from queueing.server.kiosks import Presence
from tests.stores import store_target
from tests.support import TUESDAY_9AM

pytestmark = pytest.mark.stores


@pytest.fixture
def db(tmp_path):
    database = connect(store_target(tmp_path / "queue.db"))
    yield database
    database.close()


def test_a_ticket_back_dated_into_a_stretch_seen_by_another_process_is_late(db):
    a, b = Presence(db), Presence(db)  # two server processes on one database
    t0 = TUESDAY_9AM
    for second in range(0, 181, 5):  # online on process A for three minutes
        a.seen("K1", t0 + timedelta(seconds=second))
    back = t0 + timedelta(minutes=5)  # two minutes of silence, then the kiosk reaches process B
    b.seen("K1", back)
    # a ticket "issued offline" at minute 1, while A heard the kiosk for two more minutes: pushed to the end
    assert b.late("K1", t0 + timedelta(minutes=1), back)
    # one issued in the silence is honest: it joins the line by its time
    assert not b.late("K1", t0 + timedelta(minutes=4), back)
    # a kiosk nobody heard before is believed
    assert not b.late("K2", t0 + timedelta(minutes=1), back)


def test_contacts_are_written_at_most_every_few_seconds_per_process(db):
    presence = Presence(db)
    t0 = TUESDAY_9AM
    for second in range(0, 9):
        presence.seen("K1", t0 + timedelta(seconds=second))
    assert db.query("SELECT last FROM kiosk_presence WHERE kiosk = 'K1'") == [(t0.isoformat(),)]
    presence.seen("K1", t0 + Presence.WRITE_EVERY)
    assert db.query("SELECT last FROM kiosk_presence WHERE kiosk = 'K1'") == [
        ((t0 + Presence.WRITE_EVERY).isoformat(),)]
