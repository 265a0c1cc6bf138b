"""Camera QR scanners: frames from OpenCV (V4L2, a video file or image sequence, RTSP), decoded by zxing-cpp.

``camera:/dev/video0`` is a V4L2 camera, ``camera:file:PATH`` a video file or an image sequence in OpenCV's
printf form (``frames/%03d.png``; what the tests use), ``camera:rtsp://…`` a network camera. A camera sees a
corridor, not just codes, so it is opened only while a scan step is on screen: :meth:`CameraScanner.start` takes
the callback like every scanner, :meth:`CameraScanner.watch` opens the camera and :meth:`CameraScanner.unwatch`
releases it (the light goes off). One worker thread reads a frame, hands it to the preview, and decodes it; the
decoded text goes out with the same debounce and size cap as the serial and HID scanners.

When the camera fails (unplugged, a network camera gone), the worker says why in :attr:`CameraScanner.problem`
and opens it again with a backoff capped at ``RETRY_MAX_S``. A file source that ends starts again, as a camera
pointed at the same scene would keep seeing it; it is played at its own frame rate.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import zxingcpp

from devices.scanners import Debouncer, ProblemLog
from devices.sim.scanner import MAX_PAYLOAD

log = logging.getLogger(__name__)
RETRY_MIN_S, RETRY_MAX_S = 0.1, 2.0
FILE_FPS = 10.0  # an image sequence (or a video without a rate) plays at this rate
READ_TIMEOUT_MS = 2000  # a V4L2 camera unplugged mid-read answers within this
Frame = np.ndarray  # BGR, as OpenCV delivers it


class Capture(Protocol):
    """The part of ``cv2.VideoCapture`` the driver uses (tests and the technician's test view pass their own)."""

    def isOpened(self) -> bool: ...  # noqa: N802 — OpenCV's name
    def read(self) -> tuple[bool, Any]: ...
    def get(self, prop: int) -> float: ...
    def release(self) -> None: ...


@dataclass(frozen=True)
class Source:
    """A parsed ``camera:`` connection: what to hand OpenCV, with which backend, and whether it is a file."""

    target: str
    backend: int
    is_file: bool

    @classmethod
    def parse(cls, connection: str) -> Source:
        rest = connection.removeprefix("camera:")
        if rest.startswith("file:") and rest[5:]:
            return cls(rest[5:], cv2.CAP_IMAGES if "%" in rest else cv2.CAP_ANY, True)
        if rest.startswith("/dev/video"):
            return cls(rest, cv2.CAP_V4L2, False)
        if rest.startswith(("rtsp://", "rtsps://", "http://", "https://")):
            return cls(rest, cv2.CAP_FFMPEG, False)
        raise ValueError(f"{connection!r}: a camera is camera:/dev/videoN, camera:file:PATH or camera:rtsp://HOST/…")


def open_capture(source: Source) -> Capture:
    """Open the source with OpenCV; the caller checks ``isOpened()``."""
    capture = cv2.VideoCapture(source.target, source.backend)
    if not source.is_file:
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # decode the newest frame, not one queued a second ago
        capture.set(cv2.CAP_PROP_READ_TIMEOUT_MSEC, READ_TIMEOUT_MS)
    return capture


class QrDecoder:
    """zxing-cpp on the grayscale frame; when that reads nothing, a motion-blurred code is deblurred and a located one
    gets a few harder looks.

    Only QR codes are looked for: every payload the kiosk reads is a QR, and 1D decoders run on a corridor scene
    are where false reads come from. A frame zxing-cpp cannot read is, most often, a card moved while held up:
    3–9 px of motion blur across modules of a few pixels. When the busiest patch of the frame (where zxing-cpp
    located a symbol, else where edges run densest both ways) is smeared in one direction, that patch is
    Wiener-deconvolved along the smear (:func:`deblur`). A frame where zxing-cpp located a symbol it could not
    read (glare, low light) then gets retries on the symbol's surroundings: contrast-equalised, sharpened,
    enlarged, fixed-threshold. A sharp empty frame, the commonest frame there is, costs one pass and the smear
    test (about 2 ms more than the pass).
    bench/camera_decode.py measures this (and ``deblur=False``) against zxing-cpp alone on the raw frame.
    """

    def __init__(self, *, deblur: bool = True) -> None:
        self._clahe = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8))
        self._deblur = deblur

    def decode(self, frame: Frame) -> list[str]:
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        found = zxingcpp.read_barcodes(gray, formats=QR, return_errors=True)
        texts = _texts(found)
        if texts:
            return texts
        if self._deblur:
            texts = deblur(gray, _centre(found[0].position) if found else None)
            if texts or not found:
                return texts
        elif not found:
            return []
        symbol = _around(gray, found[0].position)
        for retry in (self._clahe.apply, _sharpen, _enlarge):
            texts = _texts(zxingcpp.read_barcodes(retry(symbol), formats=QR))
            if texts:
                return texts
        return _texts(zxingcpp.read_barcodes(symbol, formats=QR, binarizer=zxingcpp.Binarizer.FixedThreshold))


QR = zxingcpp.BarcodeFormat.QRCode
PATCH = 512  # deblurred square: a 200–400 px code with room for a centre guessed a little off (and a fast DFT size)
SMEARED = 0.5  # smallest/largest gradient energy below this: smeared one way (unblurred codes in the bench: ≥ 0.7)
BLUR_PX = (9, 7)  # smear lengths tried; a longer guess than the true smear still reads, a shorter one rarely
MIN_SIDE = 64  # a frame smaller than this holds no code worth deblurring (and is too small to look for one)
NOISE = 0.01  # Wiener noise-to-signal: lower rings on sensor noise, higher leaves the smear


def _texts(results: list[Any]) -> list[str]:
    return [result.text for result in results if result.valid and result.text]


def _corners(position: Any) -> tuple[list[int], list[int]]:
    """The x and y of a located symbol's four corners."""
    corners = (position.top_left, position.top_right, position.bottom_right, position.bottom_left)
    return [p.x for p in corners], [p.y for p in corners]


def _centre(position: Any) -> tuple[int, int]:
    xs, ys = _corners(position)
    return sum(xs) // 4, sum(ys) // 4


def _around(gray: Frame, position: Any) -> Frame:
    """The located symbol with a margin of a quarter of its size (a quiet zone and a corner misplaced), so that
    the retries cost what the symbol's size costs, not the frame's."""
    xs, ys = _corners(position)
    margin = max(max(xs) - min(xs), max(ys) - min(ys), 64) // 4
    return gray[max(0, min(ys) - margin):max(ys) + margin, max(0, min(xs) - margin):max(xs) + margin]


def _busiest(gray: Frame) -> tuple[int, int]:
    """Where edges run densest in both directions (a QR, not a line of text), on a quarter-size frame."""
    small = cv2.resize(gray, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    across = cv2.boxFilter(np.abs(cv2.Sobel(small, cv2.CV_32F, 1, 0)), -1, (15, 15))
    down = cv2.boxFilter(np.abs(cv2.Sobel(small, cv2.CV_32F, 0, 1)), -1, (15, 15))
    x, y = cv2.minMaxLoc(np.minimum(across, down))[3]
    return x * 4, y * 4


def _smear(patch: Frame) -> tuple[float, float]:
    """The smear's direction (degrees, counter-clockwise from the x axis, image y down) and how one-way it is.

    Motion blur flattens the gradients along its direction: the structure tensor's weakest eigenvector is the
    smear, and the ratio of its eigenvalues (1 for a sharp code, which has edges every way) says how strong.
    """
    gx = cv2.Sobel(patch, cv2.CV_32F, 1, 0).ravel()
    gy = cv2.Sobel(patch, cv2.CV_32F, 0, 1).ravel()
    xx, xy, yy = float(gx @ gx), float(gx @ gy), float(gy @ gy)
    if xx + yy < patch.size:  # a blank wall or a covered lens: nothing smeared to deblur
        return 0.0, 1.0
    spread = float(np.hypot(xx - yy, 2 * xy))
    strongest = 0.5 * np.arctan2(2 * xy, xx - yy)
    return float(np.degrees(np.arctan2(-np.cos(strongest), -np.sin(strongest))) % 180), \
        (xx + yy - spread) / (xx + yy + spread)


def _deconvolved(patch: Frame, angle: float) -> Iterator[Frame]:
    """``patch`` Wiener-deconvolved from a linear smear at ``angle``° of each length in ``BLUR_PX``, in turn.

    The smear's transfer function is a sinc across the smear; the patch's spectrum is taken once for all lengths.
    """
    height, width = patch.shape
    theta = np.radians(angle)
    freq = ((np.fft.fftfreq(width) * np.cos(theta)).astype(np.float32)[None, :]
            - (np.fft.fftfreq(height) * np.sin(theta)).astype(np.float32)[:, None])
    base = np.sin(np.float32(np.pi) * freq)
    flat = np.abs(base) < 1e-6  # where the smear passes everything (sin(πLf)/(L·sin(πf)) → 1)
    base[flat] = 1
    spectrum = cv2.dft(patch.astype(np.float32), flags=cv2.DFT_COMPLEX_OUTPUT).view(np.complex64)[..., 0]
    for length in BLUR_PX:
        transfer = np.sin(np.float32(np.pi * length) * freq) / (np.float32(length) * base)
        transfer[flat] = 1
        filtered = spectrum * (transfer / (transfer * transfer + np.float32(NOISE)))
        sharp = cv2.idft(filtered.view(np.float32).reshape(height, width, 2),
                         flags=cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE)
        yield np.clip(sharp, 0, 255).astype(np.uint8)


def deblur(gray: Frame, centre: tuple[int, int] | None = None) -> list[str]:
    """Texts read from the patch around ``centre`` (else the busiest patch) deconvolved, if it is smeared one way."""
    height, width = gray.shape
    if min(height, width) < MIN_SIDE:
        return []
    x, y = centre or _busiest(gray)
    left = min(max(0, x - PATCH // 2), max(0, width - PATCH))
    top = min(max(0, y - PATCH // 2), max(0, height - PATCH))
    patch = gray[top:top + PATCH, left:left + PATCH]
    angle, isotropy = _smear(patch)
    if isotropy >= SMEARED:
        return []
    for sharp in _deconvolved(patch, angle):
        texts = _texts(zxingcpp.read_barcodes(sharp, formats=QR))
        if texts:
            return texts
    return []


def _sharpen(gray: Frame) -> Frame:
    return cv2.addWeighted(gray, 2.0, cv2.GaussianBlur(gray, (0, 0), 2), -1.0, 0)


def _enlarge(gray: Frame) -> Frame:
    return cv2.resize(gray, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC)


def payload_bytes(text: str) -> bytes | None:
    """A decoded QR as the bytes every scanner delivers: UTF-8, capped at ``MAX_PAYLOAD``; None when empty."""
    data = text.encode("utf-8")[:MAX_PAYLOAD]
    return data if data.strip(b"\x00 \r\n") else None


def usable(frame: Any) -> bool:
    """A frame the decoder can take: a non-empty 8-bit grayscale or BGR image (cameras do send garbage)."""
    return (isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.size > 0
            and (frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 3)))


def preview_rgb(frame: Frame, max_width: int) -> tuple[int, int, bytes]:
    """A frame for a preview texture: at most ``max_width`` wide, RGB, bottom row first (OpenGL's order)."""
    height, width = frame.shape[:2]
    if width > max_width:
        frame = cv2.resize(frame, (max_width, round(height * max_width / width)), interpolation=cv2.INTER_AREA)
    code = cv2.COLOR_GRAY2RGB if frame.ndim == 2 else cv2.COLOR_BGR2RGB
    rgb = cv2.flip(cv2.cvtColor(frame, code), 0)
    return rgb.shape[1], rgb.shape[0], rgb.tobytes()


class CameraScanner(ProblemLog):
    """A camera as a QR scanner; ``running`` is true while the camera is open and delivering frames."""

    RECOVERED = "frames again"

    def __init__(self, connection: str, *, debounce_s: float = 2.0, clock: Callable[[], float] = time.monotonic,
                 open_source: Callable[[Source], Capture] = open_capture) -> None:
        self.name = connection
        self.problem: str | None = None  # why the camera is not delivering frames, for technicians
        self._source = Source.parse(connection)
        self._open = open_source
        self._debounce = Debouncer(debounce_s, clock)
        self._decoder = QrDecoder()
        self._on_payload: Callable[[bytes], None] | None = None
        self._on_frame: Callable[[Frame], None] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._open_now = False

    @property
    def running(self) -> bool:
        return self._open_now

    @property
    def watching(self) -> bool:
        return self._thread is not None

    def start(self, on_payload: Callable[[bytes], None]) -> None:
        """Remember where scans go; the camera itself opens only on :meth:`watch`."""
        self._on_payload = on_payload

    def stop(self) -> None:
        self.unwatch()
        self._on_payload = None

    def watch(self, on_frame: Callable[[Frame], None] | None = None) -> None:
        """Open the camera and read it on a worker; every frame read goes to ``on_frame`` (a preview) first."""
        self._on_frame = on_frame
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="camera-scanner", daemon=True)
        self._thread.start()

    def unwatch(self) -> None:
        """Release the camera (returns once the worker let go of it, or after a frame's timeout)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(READ_TIMEOUT_MS / 1000 + 1)
        self._on_frame = None

    def _run(self) -> None:
        delay = RETRY_MIN_S
        while not self._stop.is_set():
            capture = self._open(self._source)
            if not capture.isOpened():
                capture.release()
                self._set_problem(f"{self.name}: cannot open the camera (not connected, or no permission)")
                self._stop.wait(delay)
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            delay = RETRY_MIN_S
            try:
                frames = self._read(capture)
            finally:
                self._open_now = False
                capture.release()
            if frames == 0 or not self._source.is_file:  # a file that played to its end is no fault
                self._set_problem(f"{self.name}: no frames from the camera (unplugged?)")
            self._stop.wait(RETRY_MIN_S)  # a camera that fails at once is not reopened in a tight loop

    def _read(self, capture: Capture) -> int:
        """Read and decode until the source fails or :meth:`unwatch`; returns how many frames were read."""
        interval = 1 / (capture.get(cv2.CAP_PROP_FPS) or FILE_FPS) if self._source.is_file else 0.0
        frames, due = 0, time.monotonic()
        while not self._stop.is_set():
            ok, frame = capture.read()
            if not ok:
                return frames
            frames += 1
            self._open_now = True
            self._set_problem(None)
            if usable(frame):
                self._handle(frame)
            if interval:
                due += interval
                self._stop.wait(max(0.0, due - time.monotonic()))
        return frames

    def _handle(self, frame: Frame) -> None:
        on_frame, on_payload = self._on_frame, self._on_payload
        try:
            if on_frame is not None:
                on_frame(frame)
            for text in self._decoder.decode(frame):
                code = payload_bytes(text)
                if code is not None and on_payload is not None and self._debounce.fresh(code):
                    on_payload(code)
        except Exception:  # noqa: BLE001 — one bad frame or a faulty consumer must not stop the camera
            log.exception("camera frame handling failed")



def list_cameras(paths: list[str] | None = None) -> list[str]:
    """``/dev/video*`` devices OpenCV can open and read a frame from (metadata nodes and busy cameras are not)."""
    found = []
    for path in paths if paths is not None else sorted(str(p) for p in Path("/dev").glob("video*")):
        capture = open_capture(Source(path, cv2.CAP_V4L2, False))
        try:
            if capture.isOpened() and capture.read()[0]:
                found.append(path)
        finally:
            capture.release()
    return found
