"""Camera QR scanners: video files and image sequences through the real driver (OpenCV + zxing-cpp) to a scan."""

from __future__ import annotations

import numpy as np
import pytest

from bench.camera_decode import run
from config.loader import load_config
from devices.camera import CameraScanner, QrDecoder, Source, deblur, list_cameras, payload_bytes, usable
from devices.factory import open_scanner
from devices.scanners import UnavailableScanner
from devices.sim.scanner import MAX_PAYLOAD
from tests.camera_video import code_frame, write_sequence, write_video
from tests.support import FakeClock, eventually

CCCD = "001099012345|012345678|Nguyễn Văn An|01011990|Nam|Số 1 Hàng Trống, Hoàn Kiếm, Hà Nội|15082021"
DOSSIER = "000.00.13.H26-251120-0003"


class Seen:
    """What a scanner delivered, and how many frames it read (a test waits for frames, never for time)."""

    def __init__(self) -> None:
        self.payloads: list[bytes] = []
        self.frames = 0

    def payload(self, code: bytes) -> None:
        self.payloads.append(code)

    def frame(self, _frame: np.ndarray) -> None:
        self.frames += 1


def watched(scanner: CameraScanner) -> Seen:
    seen = Seen()
    scanner.start(seen.payload)
    scanner.watch(seen.frame)
    return seen


def test_a_video_file_reaches_a_scan_through_the_configured_driver(tmp_path):
    video = write_video(tmp_path / "card.avi", [code_frame(None)] * 3 + [code_frame(CCCD)] * 3)
    scanner = open_scanner(load_config(None, [f"scanner.connection=camera:file:{video}"]))
    assert isinstance(scanner, CameraScanner)
    seen = watched(scanner)
    try:
        assert eventually(lambda: seen.payloads) == [CCCD.encode("utf-8")]
        assert scanner.running and scanner.problem is None
    finally:
        scanner.stop()
    assert not scanner.watching


def test_an_image_sequence_is_a_source_too(tmp_path):
    pattern = write_sequence(tmp_path / "frames", [code_frame(None), code_frame(DOSSIER)])
    scanner = CameraScanner(f"camera:file:{pattern}")
    seen = watched(scanner)
    try:
        assert eventually(lambda: seen.payloads) == [DOSSIER.encode()]
    finally:
        scanner.stop()


def test_the_camera_stays_closed_until_a_scan_step_watches(tmp_path):
    video = write_video(tmp_path / "card.avi", [code_frame(DOSSIER)] * 2)
    scanner = CameraScanner(f"camera:file:{video}")
    got: list[bytes] = []
    scanner.start(got.append)
    assert not scanner.watching and not scanner.running
    scanner.watch()
    try:
        eventually(lambda: got)
    finally:
        scanner.unwatch()
    assert not scanner.watching and not scanner.running


def test_the_same_code_held_in_view_is_delivered_once(tmp_path):
    clock = FakeClock()  # stands still: every later read of the code is inside the debounce window
    video = write_video(tmp_path / "held.avi", [code_frame(DOSSIER)] * 5, fps=50)
    scanner = CameraScanner(f"camera:file:{video}", clock=clock)
    seen = watched(scanner)
    try:
        eventually(lambda: seen.frames >= 15, message="the file looped three times")
        assert seen.payloads == [DOSSIER.encode()]
        clock.advance(2.5)  # held past the window: read again, once
        eventually(lambda: len(seen.payloads) == 2)
    finally:
        scanner.stop()


class Replay:
    """A capture replaying ``frames`` (whatever a broken camera sends), then failing like an unplugged one."""

    def __init__(self, frames: list[object]) -> None:
        self._frames = list(frames)

    def isOpened(self) -> bool:  # noqa: N802 — OpenCV's name
        return True

    def read(self) -> tuple[bool, object]:
        return (True, self._frames.pop(0)) if self._frames else (False, None)

    def get(self, _prop: int) -> float:
        return 0.0

    def release(self) -> None:
        self._frames = []


def test_garbage_frames_are_skipped_and_the_next_code_is_read(tmp_path):
    garbage: list[object] = [None, np.zeros((0, 0, 3), np.uint8), np.ones((48, 64, 3), np.float32),
                             np.zeros((48, 64, 4), np.uint8), "not a frame",
                             np.random.default_rng(1).integers(0, 255, (480, 640, 3), dtype=np.uint8)]
    assert not any(usable(frame) for frame in garbage[:5])
    opened: list[Replay] = []

    def open_source(_source: Source) -> Replay:
        opened.append(Replay([*garbage, code_frame(DOSSIER)] if not opened else []))
        return opened[-1]

    scanner = CameraScanner("camera:/dev/video7", open_source=open_source)
    got: list[bytes] = []
    scanner.start(got.append)
    scanner.watch()
    try:
        assert eventually(lambda: got) == [DOSSIER.encode()]
        assert eventually(lambda: scanner.problem) == "camera:/dev/video7: no frames from the camera (unplugged?)"
        eventually(lambda: len(opened) >= 3, message="the driver opens the camera again after it stopped sending")
    finally:
        scanner.stop()


def test_a_camera_unplugged_mid_run_is_reported_and_used_again_when_back(tmp_path):
    clock = FakeClock()
    video = write_video(tmp_path / "card.avi", [code_frame(DOSSIER)] * 3)
    scanner = CameraScanner(f"camera:file:{video}", clock=clock)
    seen = watched(scanner)
    try:
        eventually(lambda: seen.payloads)
        video.rename(tmp_path / "away.avi")  # the source vanishes: the next reopen fails
        assert "cannot open the camera" in eventually(lambda: scanner.problem)
        assert not scanner.running
        (tmp_path / "away.avi").rename(video)
        clock.advance(5)
        eventually(lambda: scanner.problem is None and len(seen.payloads) == 2, message="read again after replug")
    finally:
        scanner.stop()


def test_a_missing_v4l2_camera_says_so_and_keeps_trying():
    scanner = CameraScanner("camera:/dev/video99")
    scanner.start(lambda _code: None)
    scanner.watch()
    try:
        assert eventually(lambda: scanner.problem).startswith("camera:/dev/video99: cannot open the camera")
        assert not scanner.running and scanner.watching
    finally:
        scanner.stop()
    assert list_cameras(["/dev/video99"]) == []


def test_the_largest_qr_arrives_whole_and_decoded_text_is_capped(tmp_path):
    big = "https://dichvucong.hanoi.gov.vn/?" + "x" * 2000  # version 37 or so: as large as a kiosk would see
    video = write_video(tmp_path / "big.avi", [code_frame(big, side=470)] * 2)
    scanner = CameraScanner(f"camera:file:{video}")
    got: list[bytes] = []
    scanner.start(got.append)
    scanner.watch()
    try:
        assert eventually(lambda: got) == [big.encode()]
    finally:
        scanner.stop()
    assert payload_bytes("Đ" * MAX_PAYLOAD) == ("Đ" * (MAX_PAYLOAD // 2)).encode()
    assert payload_bytes(" \x00\r\n") is None


@pytest.mark.parametrize("connection", ["camera:", "camera:file:", "camera:/dev/sda", "camera:ftp://x/y"])
def test_a_connection_that_is_no_camera_is_refused_with_the_forms(connection):
    scanner = open_scanner(load_config(None, [f"scanner.connection={connection}"]))
    assert isinstance(scanner, UnavailableScanner)
    with pytest.raises(OSError, match="camera:/dev/videoN, camera:file:PATH or camera:rtsp://"):
        scanner.start(lambda _code: None)


@pytest.mark.parametrize("frame", [np.full((720, 1280), 128, np.uint8), np.zeros((1, 1, 3), np.uint8),
                                   np.zeros((40, 2000), np.uint8)], ids=["blank wall", "one pixel", "a sliver"])
def test_frames_with_nothing_to_deblur_read_nothing(frame):
    assert QrDecoder().decode(frame) == []
    assert deblur(frame if frame.ndim == 2 else frame[:, :, 0]) == []


def test_decoding_meets_its_goals_on_a_bounded_bench_run():
    """bench/camera_decode.py on 60 of its frames: every read right, ≥ 98 % of them, the blurred one deblurred."""
    tallies, coded, empty = run(60, max_seconds=180)
    baseline, undeblurred, pipeline = tallies.values()
    assert coded + empty == 60 and empty > 0
    assert pipeline.false == baseline.false == undeblurred.false == 0
    assert pipeline.decoded >= 0.98 * coded
    assert pipeline.decoded > undeblurred.decoded >= baseline.decoded  # frame 22: low light and motion blur
    assert pipeline.held >= pipeline.decoded
