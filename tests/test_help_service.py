"""The home screen's "Cần hỗ trợ" button: which service its priority ticket is for."""

from __future__ import annotations


def test_help_tickets_go_to_the_help_desk_or_the_first_service_when_there_is_none(kiosk_config):
    from kiosk.cli.embedded import open_backend
    from kiosk.core import KioskCore

    with_desk = KioskCore(kiosk_config, backend=open_backend)
    services = [s for s in kiosk_config.queue.services if s.code != "HD"]
    without = KioskCore(kiosk_config.model_copy(update={"queue": kiosk_config.queue.model_copy(
        update={"services": services})}))
    try:
        assert with_desk.help_service() == "HD"
        assert without.help_service() == services[0].code
    finally:
        with_desk.close()
        without.close()
