"""The demo technician PIN (its hash ships in config/default.toml): warned about once in the log at start, without
the PIN, and on the maintenance screen's status until technician.pin_hash changes."""

from __future__ import annotations

import logging
import queue

import pytest

from contracts.pin import hash_pin
from kiosk.core import KioskCore
from kiosk.doctor import DEFAULT_PIN
from kiosk.i18n import tr
from tests.support import PATIENCE_S


def started(config) -> tuple[KioskCore, queue.Queue]:
    """A started core, and the device status it reports once the start-up checks (on the device lane) have run."""
    core = KioskCore(config)
    statuses: queue.Queue = queue.Queue()
    core.events.subscribe("device_setup", lambda setup: core.request_device_status())
    core.events.subscribe("device_status", lambda status: statuses.put(status))
    core.start()
    core.open_device_setup()  # detection runs on the device lane after the PIN check: its answer comes after it
    return core, statuses


@pytest.fixture
def warnings(caplog):
    caplog.set_level(logging.WARNING, logger="kiosk.core")
    return caplog


def test_the_demo_pin_is_logged_once_at_start_without_the_pin_and_shown_to_technicians(kiosk_config, warnings):
    core, statuses = started(kiosk_config)
    try:
        status = statuses.get(timeout=PATIENCE_S)
    finally:
        core.close()
    assert status.demo_pin == tr("maint.demo_pin", "vi")
    assert status.demo_pin == "Mã PIN kỹ thuật viên mặc định — hãy đổi: python main.py config pin-hash"
    demo = [record for record in warnings.records if "demo PIN" in record.getMessage()]
    assert len(demo) == 1 and "python main.py config pin-hash" in demo[0].getMessage()
    assert DEFAULT_PIN not in warnings.text


def test_a_changed_pin_is_neither_logged_nor_shown(kiosk_config, warnings):
    technician = kiosk_config.technician.model_copy(update={"pin_hash": hash_pin("97531864", n=2**10)})
    core, statuses = started(kiosk_config.model_copy(update={"technician": technician}))
    try:
        status = statuses.get(timeout=PATIENCE_S)
    finally:
        core.close()
    assert status.demo_pin == ""
    assert "demo PIN" not in warnings.text
