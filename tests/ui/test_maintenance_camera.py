"""The technician's camera tools and the demo-PIN banner on the maintenance screen, by touch."""

from __future__ import annotations

import random

import cv2

from bench.camera_decode import scene
from config.schema import ScannerSection
from kiosk.i18n import tr
from tests.camera_video import SIZE, code_frame, write_video
from tests.support import assert_not_blank
from tests.ui.test_filing import CCCD
from tests.ui.test_maintenance_devices import open_maintenance

BANNER = "Mã PIN kỹ thuật viên mặc định — hãy đổi: python main.py config pin-hash"


def test_the_demo_pin_banner_shows_and_a_scanner_that_is_no_camera_has_no_test_view(kiosk):
    core = kiosk.app.core
    screen = open_maintenance(kiosk)  # the UI tests run on config/default.toml's demo PIN
    banner = screen.ids.demo_pin
    kiosk.until(lambda: banner.text == BANNER and banner.height > 0, "the banner")
    kiosk.frames(2)
    assert banner.opacity == 1 and banner.texture_size[0] <= banner.width and banner.top <= screen.top
    assert screen.ids.cameras.text == tr("maint.no_cameras", "vi")  # no /dev/video* here
    kiosk.tap(screen.ids.camera_test)
    assert screen.message == tr("maint.camera_not_configured", "vi", scanner=core.config.scanner.connection)
    assert screen.ids.parts.current == "setup"
    assert_not_blank(kiosk.screenshot("maintenance-demo-pin"))


def test_the_camera_test_view_shows_the_preview_and_a_card_only_by_kind_and_validity(kiosk, tmp_path):
    core = kiosk.app.core
    hall = cv2.resize(scene(random.Random(5)), SIZE)
    video = write_video(tmp_path / "camera.avi", [hall] * 20 + [code_frame(CCCD, side=360)] * 10)
    original = core.config
    core.replace_devices(original.model_copy(update={"scanner": ScannerSection(connection=f"camera:file:{video}")}))
    try:
        screen = open_maintenance(kiosk)
        assert not core.scanner.watching, "closed on the setup page"
        kiosk.tap(screen.ids.camera_test)
        assert screen.ids.parts.current == "camera" and screen.ids.demo_pin.text == BANNER
        preview, scanned = screen.ids.camera_preview, screen.ids.camera_scan
        kiosk.until(lambda: preview.active and preview._number > 0, "the preview")
        assert scanned.text == tr("maint.camera_scan_wait", "vi")
        kiosk.until(lambda: "kind: cccd" in scanned.text, "the card read by the camera")
        assert "valid: true" in scanned.text and "•••••••••345" in scanned.text
        for personal in ("Lê Thị Hoa", "001190012345", "Hàng Gai", "1990"):
            assert personal not in scanned.text
        assert kiosk.screen.name == "maintenance"  # a test scan is shown, not acted on
        assert_not_blank(kiosk.screenshot("maintenance-camera-test"))
        kiosk.tap(screen.ids.camera_close)
        kiosk.until(lambda: not preview.active and not core.scanner.watching, "the camera released")
        assert screen.ids.parts.current == "setup" and screen.message == ""
    finally:
        core.replace_devices(original)
