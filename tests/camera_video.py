"""Short videos and image sequences with QR codes in them: what camera-scanner tests point ``camera:file:`` at."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from bench.camera_decode import qr_image

SIZE = (640, 480)  # width, height: a cheap USB camera's


def code_frame(text: str | None, *, side: int = 300) -> np.ndarray:
    """A BGR frame: a light wall with the QR for ``text`` held in the middle (no QR when ``text`` is None)."""
    width, height = SIZE
    frame = np.full((height, width, 3), 200, np.uint8)
    if text is not None:
        code = cv2.resize(qr_image(text), (side, side), interpolation=cv2.INTER_NEAREST)
        top, left = (height - side) // 2, (width - side) // 2
        frame[top:top + side, left:left + side] = code[:, :, None]
    return frame


def write_video(path: Path, frames: Sequence[np.ndarray], fps: float = 10.0) -> Path:
    """Motion-JPEG in AVI: OpenCV writes and reads it with no codec beyond its own."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, SIZE)
    assert writer.isOpened(), "OpenCV cannot write MJPG/AVI here"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def write_sequence(folder: Path, frames: Sequence[np.ndarray]) -> str:
    """PNG files 000.png, 001.png … and the printf pattern OpenCV reads them back with."""
    folder.mkdir(parents=True, exist_ok=True)
    for number, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{number:03d}.png"), frame)
    return str(folder / "%03d.png")
