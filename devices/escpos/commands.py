"""Building blocks every strategy shares: the recording printer, sizes chosen for the paper, band and cut commands.

Commands come from python-escpos's ``Dummy`` printer so their bytes are the library's well-tested ones.
"""

from __future__ import annotations

from escpos.printer import Dummy

from devices.escpos.bands import Band
from devices.escpos.document import QR, BigNumber, Cut
from devices.escpos.profiles import PrinterProfile

ESC = b"\x1b"
INIT = ESC + b"@"
BAND_GAP_DOTS = 8
"""Space after a raster band; bands are cropped to the ink, the printer's line spacing does not apply to them."""
QR_QUIET_DOTS = 24
TEAR_OFF_LINES = 4


def big_number_size(block: BigNumber, profile: PrinterProfile) -> int:
    """The queue number's multiplier: as large as fits, at most 6x on 80 mm and 4x on 58 mm paper."""
    if block.size is not None:
        return block.size
    fits = profile.dots // (12 * max(1, len(block.text)))
    return max(1, min(8, profile.dots // 96, fits))


def qr_module(block: QR, profile: PrinterProfile) -> int:
    """Module size in dots: ~0.75 mm on 80 mm, ~0.5 mm on 58 mm; even, so a raster QR can be sent at half size."""
    if block.size is not None:
        return block.size
    return 6 if profile.dots >= 512 else 4


def new_printer(profile: PrinterProfile) -> Dummy:
    """A recording python-escpos printer told the paper width (without it ``image()`` prints to stdout)."""
    printer = Dummy()
    data = dict(printer.profile.profile_data)
    data["media"] = {"dpi": 203, "width": {"mm": profile.paper_width_mm, "pixels": profile.dots}}
    printer.profile.profile_data = data
    return printer


def send_band(printer: Dummy, band: Band) -> None:
    printer.image(
        band.image,
        high_density_horizontal=band.scale_x == 1,
        high_density_vertical=band.scale_y == 1,
    )


def cut(printer: Dummy, profile: PrinterProfile, block: Cut) -> None:
    if profile.cutter:
        printer.cut(mode="PART" if block.partial else "FULL")
    else:
        printer.print_and_feed(TEAR_OFF_LINES)
