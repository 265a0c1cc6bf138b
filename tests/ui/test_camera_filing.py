"""A camera scanner on the filing form: the applicant's questions show the live preview, a CCCD held up to the
camera (a video file) fills the form, and the camera is released on the first question a card cannot answer."""

from __future__ import annotations

import random

import cv2

from bench.camera_decode import scene
from config.schema import ScannerSection
from tests.camera_video import SIZE, code_frame, write_video
from tests.support import assert_not_blank, wait_for
from tests.ui.test_filing import CCCD, open_filing

WHITE = [1, 1, 1, 1]


def box(widget) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) in window pixels (screens nest relative layouts)."""
    left, bottom = widget.to_window(widget.x, widget.y)
    return left, bottom, left + widget.width, bottom + widget.height


def test_the_cccd_step_shows_the_camera_preview_and_a_card_from_the_camera_fills_the_form(kiosk, tmp_path):
    core = kiosk.app.core
    hall = cv2.resize(scene(random.Random(11)), SIZE)  # 3 s of the hall, then the citizen's card held up
    video = write_video(tmp_path / "camera.avi", [hall] * 30 + [code_frame(CCCD, side=360)] * 10)
    original = core.config
    core.replace_devices(original.model_copy(update={"scanner": ScannerSection(connection=f"camera:file:{video}")}))
    try:
        screen = open_filing(kiosk)
        preview = screen.ids.preview
        screen.intent("open_procedure", "HT05")
        kiosk.frames(2)
        assert not core.scanner.watching, "no camera on the catalogue or the procedure's page"
        kiosk.tap(screen.ids.start)
        assert screen.state == "form" and screen.step.can_scan
        assert wait_for(kiosk, lambda: preview.active and preview._number > 0), "the preview shows the camera"
        assert preview.hint.text == "Giữ yên mã QR trong khung"
        assert list(preview.hint.color) == WHITE, "the hint is white (outlined), not the theme's dark text"
        assert wait_for(kiosk, lambda: screen.ids.form_keys.text == "Lê Thị Hoa"), "the card filled the form"
        assert screen.message == "Đã điền 4 mục từ thẻ CCCD. Vui lòng kiểm tra lại."
        kiosk.frames(3)
        shot = kiosk.screenshot("filing-camera-cccd")
        assert_not_blank(shot)
        top_bar_bottom = 1920 - kiosk.screen.children[0].children[-1].height
        label, typed, keys = (box(screen.ids[name]) for name in ("step_label", "value", "form_keys"))
        picture, hint = box(preview), box(preview.hint)
        assert label[1] >= picture[3] and picture[1] >= typed[3] and typed[1] >= keys[3], "stacked, no overlap"
        assert picture[3] <= top_bar_bottom and keys[1] >= 0 and picture[2] - picture[0] == 1000
        assert picture[1] <= hint[1] and hint[3] <= picture[3] and preview.hint.texture_size[0] <= hint[2] - hint[0]
        assert preview.height >= 400 and preview.hint.font_size >= 30

        for _ in range(4):  # name, ID, date of birth, address came from the card
            kiosk.tap(screen.ids.next)
        assert screen.step.label == "Số điện thoại" and not screen.step.can_scan
        assert wait_for(kiosk, lambda: not preview.active and not core.scanner.watching), "released off the card"
        assert preview.height == 0
        kiosk.tap(screen.ids.prev)  # back to the address: the camera opens again
        assert wait_for(kiosk, lambda: preview.active and core.scanner.watching)
        kiosk.app.go_home()  # the citizen walks away mid-form
        assert wait_for(kiosk, lambda: not core.scanner.watching), "released when the form leaves the screen"
    finally:
        core.replace_devices(original)
