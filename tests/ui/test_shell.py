"""The app shell: home screen, language switch, navigation, idle timeout, technician entry — by real touches."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from PIL import Image, ImageStat

from kiosk.i18n import tr
from tests.conftest import ROOT
from tests.ui.conftest import SCREENSHOTS


def assert_not_blank(path) -> None:
    image = Image.open(path).convert("L")
    assert image.size[0] > 100
    spread = ImageStat.Stat(image).stddev[0]
    colours = len(image.getcolors(maxcolors=1 << 16) or range(1 << 16))
    assert spread > 10 and colours > 20, f"{path.name} looks blank (stddev {spread:.1f}, {colours} colours)"


def test_home_shows_the_four_tasks_in_vietnamese(kiosk):
    home = kiosk.screen
    assert home.name == "home"
    titles = [home.ids[name].title for name in ("queue", "lookup", "submit", "survey")]
    assert titles == ["Lấy số thứ tự", "Tra cứu hồ sơ", "Nộp hồ sơ", "Đánh giá dịch vụ"]
    assert_not_blank(kiosk.screenshot("home-vi"))


def test_tiles_are_big_touch_targets(kiosk):
    for name in ("queue", "lookup", "submit", "survey", "language"):
        widget = kiosk.screen.ids[name]
        assert min(widget.size) >= 120, f"{name} is only {widget.size}"


def test_language_switch_changes_every_label_and_session_end_restores_vietnamese(kiosk):
    kiosk.tap(kiosk.screen.ids.language)
    assert kiosk.app.lang == "en"
    assert kiosk.screen.ids.queue.title == "Take a queue number"
    assert_not_blank(kiosk.screenshot("home-en"))
    kiosk.app.go_home()
    kiosk.frames(2)
    assert kiosk.app.lang == "vi"
    assert kiosk.screen.ids.queue.title == tr("home.take_number", "vi")


def test_idle_warning_then_reset_to_home_wipes_session(kiosk):
    kiosk.app.go("pin")
    kiosk.app.core.session.data["cccd"] = "001099012345"
    kiosk.clock.advance(kiosk.app.core.config.session.idle_warning_s + 1)
    kiosk.wait(0.4)
    overlay = kiosk.app.idle_overlay
    assert overlay.opacity == 1 and overlay.seconds > 0
    kiosk.screenshot("idle-warning")
    kiosk.clock.advance(kiosk.app.core.config.session.idle_reset_s)
    kiosk.wait(0.4)
    assert kiosk.screen.name == "home"
    assert kiosk.app.core.session.data == {}
    assert overlay.opacity == 0


def test_more_time_dismisses_the_warning(kiosk):
    kiosk.app.go("pin")
    kiosk.clock.advance(kiosk.app.core.config.session.idle_warning_s + 2)
    kiosk.wait(0.4)
    more_time = next(w for w in kiosk.app.idle_overlay.walk() if getattr(w, "text", "") == tr("idle.more_time", "vi"))
    kiosk.tap(more_time)
    kiosk.wait(0.4)
    assert kiosk.app.idle_overlay.opacity == 0
    assert kiosk.screen.name == "pin"


def test_hidden_corner_hold_opens_pin_pad_and_wrong_pin_says_attempts_left(kiosk):
    corner = next(w for w in kiosk.app.root.children if type(w).__name__ == "HiddenCorner")
    kiosk.hold(corner, 3.3)
    assert kiosk.screen.name == "pin"
    pin = kiosk.screen
    keys = {w.text: w for w in pin.ids["keys"].children}
    for digit in "1111":
        kiosk.tap(keys[digit])
    assert pin.entered == "1111"
    kiosk.tap(pin.ids.enter)
    assert "Sai mã PIN" in pin.message
    assert kiosk.screen.name == "pin"
    kiosk.screenshot("pin-wrong")


def test_right_pin_opens_maintenance_with_masked_config(kiosk):
    kiosk.app.go("pin")
    kiosk.frames(2)
    pin = kiosk.screen
    keys = {w.text: w for w in pin.ids["keys"].children}
    for digit in "246810":
        kiosk.tap(keys[digit])
    kiosk.tap(pin.ids.enter)
    assert kiosk.screen.name == "maintenance"
    rows = dict((row["key"], row["value"]) for row in kiosk.screen.config_rows)
    assert rows["technician.pin_hash"] == "••••••"
    assert rows["printer.kind"] == "sim"
    assert kiosk.screen.printer_status == "ok"
    assert_not_blank(kiosk.screenshot("maintenance"))
    kiosk.tap(kiosk.screen.ids.exit)
    assert kiosk.screen.name == "home"


@pytest.mark.parametrize("size", [(1920, 1080), (768, 1366), (1080, 1920)])
def test_home_fits_each_supported_screen_size(tmp_path, size):
    out = SCREENSHOTS / f"home-{size[0]}x{size[1]}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "tests.ui.snapshot", f"{size[0]}x{size[1]}", str(out), str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    geometry = json.loads(result.stdout.strip().splitlines()[-1])
    assert geometry["window"] == list(size)
    for name, (x, y, w, h) in geometry["boxes"].items():
        assert x >= 0 and y >= 0 and x + w <= size[0] + 1 and y + h <= size[1] + 1, name
        assert min(w, h) >= 60, f"{name} is only {w}x{h} at {size}"
    assert_not_blank(out)


def test_watchdog_is_fed_by_the_ui_loop_and_stops_when_it_freezes(kiosk, tmp_path, monkeypatch):
    import socket as sk

    from kiosk.watchdog import Watchdog

    path = tmp_path / "notify.sock"
    sock = sk.socket(sk.AF_UNIX, sk.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    kiosk.app.core.watchdog = Watchdog(min_interval_s=0.1)
    kiosk.wait(0.6)  # UI loop running: its ticks feed the watchdog

    def drain() -> list[bytes]:
        out = []
        while True:
            try:
                out.append(sock.recv(64))
            except BlockingIOError:
                return out

    assert b"WATCHDOG=1" in drain()
    import time as _time

    _time.sleep(0.6)  # UI loop frozen: no frames, no ticks
    assert drain() == []
    sock.close()


def test_accessibility_button_cycles_large_text_and_high_contrast_and_resets_for_the_next_citizen(kiosk):
    from screens.theme import HIGH_CONTRAST, STANDARD

    normal_size = kiosk.screen.ids.queue.children[2].font_size
    kiosk.tap(kiosk.screen.ids.a11y)
    assert kiosk.app.text_scale > 1 and kiosk.app.theme is STANDARD
    kiosk.frames(3)
    assert kiosk.screen.ids.queue.children[2].font_size > normal_size
    assert_not_blank(kiosk.screenshot("home-large-text"))
    kiosk.tap(kiosk.screen.ids.a11y)
    assert kiosk.app.theme is HIGH_CONTRAST
    kiosk.wait(0.2)
    greeting = next(w for w in kiosk.screen.walk() if getattr(w, "text", "") == "Xin chào! Bạn cần làm gì hôm nay?")
    assert tuple(greeting.color) == HIGH_CONTRAST.text
    assert_not_blank(kiosk.screenshot("home-high-contrast"))
    kiosk.app.go("survey")
    kiosk.frames(3)
    assert_not_blank(kiosk.screenshot("survey-high-contrast"))
    kiosk.app.go_home()
    kiosk.wait(0.2)
    assert kiosk.app.theme is STANDARD and kiosk.app.text_scale == 1.0
