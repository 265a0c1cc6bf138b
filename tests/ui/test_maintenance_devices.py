"""Device setup on the maintenance screen, by touch: test print, test scan, live status, save and apply."""

from __future__ import annotations

import pytest

from config.loader import load_config
from devices.sim.printer import set_fault
from devices.sim.scanner import send_payload
from kiosk.i18n import tr
from tests.support import assert_not_blank

SITE_TEXT = '# written by the installer — keep this comment\n[kiosk]\nname = "Kiosk tầng 1"\n'


def open_maintenance(kiosk):
    kiosk.app.go("pin")
    kiosk.frames(2)
    keys = {w.text: w for w in kiosk.screen.ids["keys"].children}
    for digit in "246810":
        kiosk.tap(keys[digit])
    kiosk.tap(kiosk.screen.ids.enter)
    kiosk.until(lambda: kiosk.screen.name == "maintenance", "the maintenance screen")
    screen = kiosk.screen
    kiosk.until(lambda: screen.setup_ready, "the detected devices")
    return screen


def choose(kiosk, setting, text: str) -> None:
    """Open the setting's drop-down with a touch and touch the option."""
    spinner = setting.ids.spinner
    kiosk.tap(spinner)
    option = next(w for w in spinner._dropdown.container.children if w.text == text)
    kiosk.tap(option)
    assert spinner.text == text


@pytest.fixture
def site(kiosk):
    """A site config the installer wrote; the devices in use are restored afterwards for the other UI tests."""
    core = kiosk.app.core
    original = core.config
    path = core.config.data_dir / "site.toml"
    path.write_text(SITE_TEXT, encoding="utf-8")
    yield path
    core.replace_devices(original)
    for leftover in (path, path.with_name("site.toml.bak")):
        leftover.unlink(missing_ok=True)


def test_test_print_then_save_a_new_paper_width_applies_it_without_restart(kiosk, site):
    from devices.escpos.render import render
    from devices.escpos.sample import sample_ticket
    from kiosk.tickets import printer_profile

    core = kiosk.app.core
    screen = open_maintenance(kiosk)
    assert screen.site_path == str(site)
    assert screen.printer_choice == "sim: · simulator" and screen.width_choice == "80"
    jobs_before = len(core.printer.jobs())
    kiosk.tap(screen.ids.test_print)
    kiosk.until(lambda: screen.message == tr("maint.print_ok", "vi"))
    job = core.printer.jobs()[-1].read_bytes()
    assert len(core.printer.jobs()) == jobs_before + 1
    assert job.startswith(b"\x1b@") and b"\x1dV" in job  # initialise … cut

    choose(kiosk, screen.ids.paper_width, "58")
    kiosk.tap(screen.ids.save)  # written and applied on a worker
    kiosk.until(lambda: screen.message == tr("maint.saved", "vi", path=str(site)), "the saved message")
    saved = load_config(site)
    assert saved.printer.paper_width_mm == 58 and saved.kiosk.name == "Kiosk tầng 1"
    assert "keep this comment" in site.read_text(encoding="utf-8")
    assert site.with_name("site.toml.bak").read_text(encoding="utf-8") == SITE_TEXT
    assert not site.with_name("site.toml.tmp").exists()
    assert core.config.printer.paper_width_mm == 58  # applied: no restart
    rows = dict((row["key"], row["value"]) for row in screen.config_rows)
    assert rows["printer.paper_width_mm"] == "58"

    kiosk.tap(screen.ids.test_print)
    kiosk.until(lambda: len(core.printer.jobs()) == jobs_before + 2)
    assert core.printer.jobs()[-1].read_bytes() == render(sample_ticket(), printer_profile(core.config))
    kiosk.until(lambda: screen.message == tr("maint.print_ok", "vi"))
    assert_not_blank(kiosk.screenshot("maintenance-devices"))


def test_test_scan_shows_the_parsed_payload_instead_of_acting_on_it(kiosk, site):
    screen = open_maintenance(kiosk)
    kiosk.tap(screen.ids.test_scan)
    assert screen.message.startswith("Hãy đưa một mã QR")
    send_payload(*kiosk.app.core.scanner.address, b"000.00.13.H26-251120-0001\r\n")
    kiosk.until(lambda: "dossier" in screen.message)
    assert kiosk.screen.name == "maintenance"  # not routed to the lookup screen
    assert "000.00.13.H26-251120-0001" in screen.message
    kiosk.screenshot("maintenance-test-scan")


def test_live_status_follows_the_printer_while_the_screen_is_open(kiosk, site):
    core = kiosk.app.core
    screen = open_maintenance(kiosk)
    assert screen.printer_status == "ok"
    set_fault(core.config.spool_dir, "paper_out")
    try:
        kiosk.until(lambda: screen.printer_status == "paper_out", "the next status poll")
        assert screen.ids.printer.value == tr("status.paper_out", "vi")
    finally:
        set_fault(core.config.spool_dir, None)
    kiosk.until(lambda: screen.printer_status == "ok", "the next status poll")
