"""The app shell: home screen, language switch, navigation, idle timeout, technician entry — by real touches."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kiosk.i18n import tr
from tests.support import ROOT, FakeClock, assert_not_blank
from tests.ui.driver import SCREENSHOTS


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
    overlay = kiosk.app.idle_overlay
    kiosk.until(lambda: overlay.opacity == 1, "the idle warning")  # the next UI tick reads the moved clock
    assert overlay.seconds > 0
    kiosk.screenshot("idle-warning")
    kiosk.clock.advance(kiosk.app.core.config.session.idle_reset_s)
    kiosk.until(lambda: kiosk.screen.name == "home", "the reset to the home screen")
    assert kiosk.app.core.session.data == {}
    assert overlay.opacity == 0


def test_more_time_dismisses_the_warning(kiosk):
    kiosk.app.go("pin")
    kiosk.clock.advance(kiosk.app.core.config.session.idle_warning_s + 2)
    kiosk.until(lambda: kiosk.app.idle_overlay.opacity == 1, "the idle warning")
    more_time = next(w for w in kiosk.app.idle_overlay.walk() if getattr(w, "text", "") == tr("idle.more_time", "vi"))
    kiosk.tap(more_time)
    kiosk.until(lambda: kiosk.app.idle_overlay.opacity == 0, "the warning to close")
    assert kiosk.screen.name == "pin"


def test_hidden_corner_hold_opens_pin_pad_and_wrong_pin_says_attempts_left(kiosk):
    corner = next(w for w in kiosk.app.root.children if type(w).__name__ == "HiddenCorner")
    kiosk.hold(corner, until=lambda: kiosk.screen.name == "pin")
    pin = kiosk.screen
    keys = {w.text: w for w in pin.ids["keys"].children}
    for digit in "1111":
        kiosk.tap(keys[digit])
    assert pin.entered == "1111"
    kiosk.tap(pin.ids.enter)  # checked on a worker: the answer shows when it comes
    kiosk.until(lambda: "Sai mã PIN" in pin.message, "the wrong-PIN message")
    assert kiosk.screen.name == "pin"
    kiosk.screenshot("pin-wrong")


def test_a_double_tap_on_enter_checks_the_pin_once(kiosk):
    from kivy.tests.common import UnitTestTouch

    kiosk.app.go("pin")
    kiosk.frames(2)
    pin = kiosk.screen
    keys = {w.text: w for w in pin.ids["keys"].children}

    def enter(digits: str, taps: int) -> str:
        for digit in digits:
            kiosk.tap(keys[digit])
        x, y = pin.ids.enter.to_window(*pin.ids.enter.center)
        for _ in range(taps):  # no frame between the taps: the first answer cannot have arrived
            touch = UnitTestTouch(x, y)
            touch.touch_down()
            touch.touch_up()
        kiosk.until(lambda: pin.message, "the PIN's answer")
        answer, pin.message = pin.message, ""
        return answer

    first = enter("1111", taps=1)
    attempts_left = int("".join(ch for ch in first if ch.isdigit()))
    assert enter("2222", taps=2) == tr("pin.wrong", "vi", attempts=attempts_left - 1)  # one attempt, not two
    for digit in "246810":  # the right PIN resets the count for the tests after this one
        kiosk.tap(keys[digit])
    kiosk.tap(pin.ids.enter)
    kiosk.until(lambda: kiosk.screen.name == "maintenance", "the maintenance screen")


def test_right_pin_opens_maintenance_with_masked_config(kiosk):
    kiosk.app.go("pin")
    kiosk.frames(2)
    pin = kiosk.screen
    keys = {w.text: w for w in pin.ids["keys"].children}
    for digit in "246810":
        kiosk.tap(keys[digit])
    kiosk.tap(pin.ids.enter)
    kiosk.until(lambda: kiosk.screen.name == "maintenance", "the maintenance screen")
    rows = dict((row["key"], row["value"]) for row in kiosk.screen.config_rows)
    assert rows["technician.pin_hash"] == "••••••"
    assert rows["printer.kind"] == "sim"
    kiosk.until(lambda: kiosk.screen.printer_status == "ok", "the printer's status")
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
    watchdog_clock = FakeClock()
    kiosk.app.core.watchdog = Watchdog(min_interval_s=5.0, clock=watchdog_clock)

    def drain() -> list[bytes]:
        out = []
        while True:
            try:
                out.append(sock.recv(64))
            except BlockingIOError:
                return out

    kiosk.until(lambda: b"WATCHDOG=1" in drain(), "a ping from the UI loop's tick")
    watchdog_clock.advance(60)  # UI loop frozen: a minute passes without a frame, so without a tick
    assert drain() == []
    kiosk.until(lambda: b"WATCHDOG=1" in drain(), "a ping once frames run again")
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
    kiosk.frames(3)
    greeting = next(w for w in kiosk.screen.walk() if getattr(w, "text", "") == "Xin chào! Bạn cần làm gì hôm nay?")
    assert tuple(greeting.color) == HIGH_CONTRAST.text
    assert_not_blank(kiosk.screenshot("home-high-contrast"))
    kiosk.app.go("survey")
    kiosk.frames(3)
    assert_not_blank(kiosk.screenshot("survey-high-contrast"))
    kiosk.app.go_home()
    kiosk.until(lambda: kiosk.app.theme is STANDARD and kiosk.app.text_scale == 1.0, "the standard look again")
