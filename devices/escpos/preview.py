"""An ESC/POS interpreter: a byte stream onto a picture of the paper (``preview_image``, ``preview_png``) and
the list of what was printed (``printed_items``).

Used by the printer simulator (a ``.png`` beside every spooled ``.bin``) and by the tests, which read text and
QR codes back from it. It understands what our renderer and common drivers send: ESC @, ESC a, ESC E, ESC -,
ESC !, GS !, ESC M, ESC t (the profile's Vietnamese slot maps to its code page; text is decoded, combining tone
marks included, then NFC), LF, ESC d, ESC J, ESC 2/3, GS v 0 raster, GS ( k QR (store + print), GS V cut, and
skips status queries (DLE EOT, GS r) and other known commands by their length. Unknown bytes are skipped; every
step consumes at least one byte, so any input ends, and truncated commands simply stop the job.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass, replace
from typing import Literal

import qrcode
from PIL import Image

from devices.escpos.paper import Paper, TextStyle, cell_mask, cell_size, clusters, qr_mask
from devices.escpos.profiles import PrinterProfile

ESC, GS, DLE, FS = 0x1B, 0x1D, 0x10, 0x1C
LF, CR, HT, FF = 0x0A, 0x0D, 0x09, 0x0C
DEFAULT_LINE_DOTS = 34
DEFAULT_CODEC = "cp437"
CODE_PAGES = {
    0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865", 16: "cp1252", 17: "cp866", 18: "cp852", 19: "cp858"
}
"""Epson's ESC t numbering for the pages most printers share; the Vietnamese slot comes from the profile."""
QR_LEVELS = {
    48: qrcode.constants.ERROR_CORRECT_L,
    49: qrcode.constants.ERROR_CORRECT_M,
    50: qrcode.constants.ERROR_CORRECT_Q,
    51: qrcode.constants.ERROR_CORRECT_H,
}
# Parameter byte counts of commands that are skipped (or only change state we do not draw).
ESC_SKIP = {b: 1 for b in b" %=?GIRTUVefru{"} | {b: 2 for b in b"$\\Bc"} | {ord("p"): 3} | {b: 0 for b in b"<LSim"}
GS_SKIP = {b: 1 for b in b"/BEHINTabfhrw"} | {b: 2 for b in b"$LPW\\"} | {ord(":"): 0}
FS_SKIP = {b: 1 for b in b"!-CW"} | {ord("p"): 2, ord("S"): 2, ord("&"): 0, ord("."): 0}


@dataclass(frozen=True)
class Printed:
    """One thing that reached the paper, in order: what tests and tools check instead of pixels."""

    kind: Literal["text", "raster", "qr", "cut"]
    text: str = ""
    size: tuple[int, int] = (0, 0)


@dataclass
class _Run:
    data: bytearray
    style: TextStyle
    codec: str


class _Interpreter:
    def __init__(self, data: bytes, profile: PrinterProfile) -> None:
        self.data = data
        self.profile = profile
        self.paper = Paper(profile.dots)
        self.printed: list[Printed] = []
        self.reset()
        self.qr_data = b""
        self.qr_module = 3
        self.qr_level = QR_LEVELS[48]

    def reset(self) -> None:
        self.style = TextStyle()
        self.align = 0
        self.codec = DEFAULT_CODEC
        self.line_dots = DEFAULT_LINE_DOTS
        self.runs: list[_Run] = []

    def run(self) -> _Interpreter:
        pos = 0
        while pos < len(self.data) and not self.paper.full:
            pos = self.step(pos)
        self.print_line(advance=bool(self.runs))
        return self

    def byte(self, pos: int) -> int:
        """The byte at ``pos``, or -1 past the end (a truncated command)."""
        return self.data[pos] if pos < len(self.data) else -1

    def step(self, pos: int) -> int:
        byte = self.data[pos]
        if byte == ESC:
            return self.esc(pos + 1)
        if byte == GS:
            return self.gs(pos + 1)
        if byte == DLE:
            # DLE EOT n / DLE ENQ n are queries; DLE DC4 fn m t a real-time pulse: nothing to print.
            return pos + (5 if self.byte(pos + 1) == 0x14 else 3)
        if byte == FS:
            return self.fs(pos + 1)
        if byte in (LF, FF):
            self.print_line(advance=True)
        elif byte == HT:
            self.text(b" " * (8 - self.columns_used() % 8))
        elif byte >= 0x20:
            self.text(self.data[pos : pos + 1])
        return pos + 1

    def esc(self, pos: int) -> int:
        cmd, arg = self.byte(pos), self.byte(pos + 1)
        if cmd == ord("@"):
            self.reset()
            return pos + 1
        if cmd == -1 or (arg == -1 and cmd in b"aE-!tdJ3M"):
            return len(self.data)
        if cmd == ord("a"):
            self.align = arg % 48 if arg % 48 <= 2 else 0
        elif cmd == ord("E"):
            self.style = replace(self.style, bold=bool(arg & 1))
        elif cmd == ord("-"):
            self.style = replace(self.style, underline=bool(arg % 48))
        elif cmd == ord("!"):
            self.style = TextStyle(
                bold=bool(arg & 8),
                underline=bool(arg & 128),
                width=2 if arg & 32 else 1,
                height=2 if arg & 16 else 1,
                font_b=bool(arg & 1),
            )
        elif cmd == ord("M"):
            self.style = replace(self.style, font_b=bool(arg & 1))
        elif cmd == ord("t"):
            self.codec = self.code_page(arg)
        elif cmd == ord("d"):
            self.print_line(advance=True)
            self.paper.feed(self.line_dots * max(0, arg - 1))
        elif cmd == ord("J"):
            self.print_line(advance=False)
            self.paper.feed(arg)
        elif cmd == ord("3"):
            self.line_dots = arg
        elif cmd == ord("2"):
            self.line_dots = DEFAULT_LINE_DOTS
            return pos + 1
        elif cmd == ord("*"):
            return self.skip_bit_image(pos + 1)
        elif cmd == ord("D"):
            end = self.data.find(b"\x00", pos + 1, pos + 34)
            return pos + 34 if end == -1 else end + 1
        else:
            return pos + 1 + ESC_SKIP.get(cmd, 0)
        return pos + 2

    def gs(self, pos: int) -> int:
        cmd = self.byte(pos)
        if cmd == ord("!"):
            arg = self.byte(pos + 1)
            if arg >= 0 and (arg >> 4) < 8 and (arg & 15) < 8:
                self.style = replace(self.style, width=(arg >> 4) + 1, height=(arg & 15) + 1)
            return pos + 2
        if cmd == ord("V"):
            mode = self.byte(pos + 1)
            self.print_line(advance=bool(self.runs))
            self.printed.append(Printed("cut"))
            self.paper.cut_line()
            return pos + (3 if mode in (65, 66, 97, 98, 103, 104) else 2)
        if cmd == ord("v") and self.byte(pos + 1) == ord("0"):
            return self.raster(pos + 2)
        if cmd == ord("("):
            return self.extended(pos + 1)
        if cmd == ord("k"):
            return self.skip_barcode(pos + 1)
        if cmd == ord("*"):
            return pos + 3 + max(0, self.byte(pos + 1)) * max(0, self.byte(pos + 2)) * 8
        return pos + 1 + GS_SKIP.get(cmd, 0)

    def fs(self, pos: int) -> int:
        cmd = self.byte(pos)
        if cmd == ord("("):
            return self.extended(pos + 1, qr_allowed=False)
        return pos + 1 + FS_SKIP.get(cmd, 0)

    def code_page(self, number: int) -> str:
        vietnamese = self.profile.vietnamese
        if vietnamese is not None and number == vietnamese.esc_t:
            return vietnamese.codepage
        return CODE_PAGES.get(number, DEFAULT_CODEC)

    # -- text -------------------------------------------------------------------------------------------

    def text(self, chunk: bytes) -> None:
        if self.runs and self.runs[-1].style == self.style and self.runs[-1].codec == self.codec:
            self.runs[-1].data.extend(chunk)
        else:
            self.runs.append(_Run(bytearray(chunk), self.style, self.codec))

    def columns_used(self) -> int:
        return sum(len(clusters(self.decode(run))) for run in self.runs)

    @staticmethod
    def decode(run: _Run) -> str:
        return unicodedata.normalize("NFC", run.data.decode(run.codec, errors="replace"))

    def print_line(self, *, advance: bool) -> None:
        """Print the buffered text like the printer does at LF: wrapped at the paper edge, aligned, then fed."""
        cells = [(cluster, run.style) for run in self.runs for cluster in clusters(self.decode(run))]
        self.runs = []
        if not cells:
            if advance:
                self.paper.feed(self.line_dots)
            return
        line: list[tuple[str, TextStyle]] = []
        width = 0
        for cluster, style in cells:
            cell_width = cell_size(style)[0]
            if line and width + cell_width > self.paper.dots:
                self.draw_line(line, width)
                line, width = [], 0
            line.append((cluster, style))
            width += cell_width
        self.draw_line(line, width)

    def draw_line(self, line: list[tuple[str, TextStyle]], width: int) -> None:
        self.printed.append(Printed("text", "".join(cluster for cluster, _ in line)))
        height = max(cell_size(style)[1] for _, style in line)
        strip = Image.new("1", (max(1, min(width, self.paper.dots)), height), 0)
        x = 0
        for cluster, style in line:
            mask = cell_mask(cluster, style)
            strip.paste(mask, (x, height - mask.height))
            x += mask.width
        self.paper.place(strip, self.x_for(strip.width), advance=max(self.line_dots, height))

    def x_for(self, width: int) -> int:
        free = max(0, self.paper.dots - width)
        return {0: 0, 1: free // 2, 2: free}[self.align]

    # -- images and codes -------------------------------------------------------------------------------

    def raster(self, pos: int) -> int:
        """GS v 0 m xL xH yL yH d…: 1 bits are ink; ``m`` bit 0 doubles width, bit 1 doubles height."""
        header = self.data[pos : pos + 5]
        if len(header) < 5:
            return len(self.data)
        mode, width_bytes, rows = header[0], header[1] + 256 * header[2], header[3] + 256 * header[4]
        start = pos + 5
        size = width_bytes * rows
        body = self.data[start : start + size]
        if width_bytes and rows:
            rows_present = len(body) // width_bytes
            if rows_present:
                self.print_line(advance=bool(self.runs))
                self.place_raster(body[: rows_present * width_bytes], width_bytes, rows_present, mode)
        return start + size

    def place_raster(self, body: bytes, width_bytes: int, rows: int, mode: int) -> None:
        mask = Image.frombytes("1", (width_bytes * 8, rows), body)
        scale_x, scale_y = (2 if mode & 1 else 1), (2 if mode & 2 else 1)
        if scale_x != 1 or scale_y != 1:
            mask = mask.resize((mask.width * scale_x, mask.height * scale_y), Image.Resampling.NEAREST)
        if mask.width > self.paper.dots:
            mask = mask.crop((0, 0, self.paper.dots, mask.height))
        self.printed.append(Printed("raster", size=mask.size))
        self.paper.place(mask, self.x_for(mask.width))

    def extended(self, pos: int, *, qr_allowed: bool = True) -> int:
        """GS ( fn pL pH parameters…; only GS ( k with cn = 49 (QR) is acted on."""
        header = self.data[pos : pos + 3]
        if len(header) < 3:
            return len(self.data)
        fn, length = header[0], header[1] + 256 * header[2]
        params = self.data[pos + 3 : pos + 3 + length]
        if qr_allowed and fn == ord("k") and len(params) >= 2 and params[0] == 49:
            self.qr(params[1], params[2:])
        return pos + 3 + length

    def qr(self, function: int, args: bytes) -> None:
        if function == 67 and args:
            self.qr_module = min(16, max(1, args[0]))
        elif function == 69 and args:
            self.qr_level = QR_LEVELS.get(args[0], self.qr_level)
        elif function == 80:
            self.qr_data = bytes(args[1:])
        elif function == 81:
            mask = qr_mask(self.qr_data, self.qr_module, self.qr_level)
            if mask is not None and mask.width <= self.paper.dots:
                self.print_line(advance=bool(self.runs))
                self.printed.append(Printed("qr", self.qr_data.decode("utf-8", errors="replace"), mask.size))
                self.paper.place(mask, self.x_for(mask.width))

    def skip_bit_image(self, pos: int) -> int:
        """ESC * m nL nH d…: column images (8 or 24 dots high) are skipped by their length."""
        mode, count = self.byte(pos), self.byte(pos + 1) + 256 * max(0, self.byte(pos + 2))
        if min(mode, count) < 0:
            return len(self.data)
        return pos + 3 + count * (3 if mode in (32, 33) else 1)

    def skip_barcode(self, pos: int) -> int:
        """GS k m …: NUL-terminated for m <= 6, length-prefixed for m >= 65."""
        kind = self.byte(pos)
        if 0 <= kind <= 6:
            end = self.data.find(b"\x00", pos + 1)
            return len(self.data) if end == -1 else end + 1
        return pos + 2 + max(0, self.byte(pos + 1))


def preview_image(data: bytes, profile: PrinterProfile) -> Image.Image:
    """The paper as it would come out of a printer with ``profile``: mode ``L``, ``profile.dots`` wide."""
    return _Interpreter(bytes(data), profile).run().paper.image()


def printed_items(data: bytes, profile: PrinterProfile) -> list[Printed]:
    """What the stream prints, in order: text lines as decoded strings (NFC), raster and QR sizes, cuts."""
    return _Interpreter(bytes(data), profile).run().printed


def preview_png(data: bytes, profile: PrinterProfile) -> bytes:
    buffer = io.BytesIO()
    preview_image(data, profile).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
