"""A camera scanner on the look-up screen: the live preview with its aiming frame, fed by a video file, and the
code it reads reaching the look-up result; the camera is released once no scan step shows."""

from __future__ import annotations

import cv2

from bench.camera_decode import scene
from config.schema import ScannerSection
from tests.camera_video import SIZE, code_frame, write_video
from tests.support import assert_not_blank, backend_ready, wait_for

DEMO = "000.00.13.H26-251120-0003"


def test_lookup_shows_the_camera_preview_and_the_scan_reaches_the_result(kiosk, tmp_path):
    import random

    backend_ready(kiosk)
    core = kiosk.app.core
    hall = cv2.resize(scene(random.Random(7)), SIZE)  # 5 s of the hall, then a receipt held up to the camera
    card = code_frame(DEMO, side=220)
    video = write_video(tmp_path / "camera.avi", [hall] * 50 + [card] * 10)
    original = core.config
    core.replace_devices(original.model_copy(update={"scanner": ScannerSection(connection=f"camera:file:{video}")}))
    try:
        assert not core.scanner.watching, "the camera stays closed until a scan step shows"
        kiosk.tap(kiosk.screen.ids.lookup)
        lookup = kiosk.screen
        preview = lookup.ids.preview
        assert wait_for(kiosk, lambda: preview.active and preview._number > 0)
        kiosk.frames(3)
        assert preview.opacity == 1 and preview.hint.text == "Giữ yên mã QR trong khung"
        assert_not_blank(kiosk.screenshot("lookup-camera-preview"))
        assert wait_for(kiosk, lambda: lookup.state == "found")
        kiosk.frames(3)
        assert lookup.ids.procedure.text == "Đăng ký tạm trú"
        assert wait_for(kiosk, lambda: not preview.active and not core.scanner.watching), "released on the result"
        assert core.device_status()["scanner"] == "camera_idle"
    finally:
        core.replace_devices(original)
