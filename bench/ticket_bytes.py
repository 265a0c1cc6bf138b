"""Bytes per queue ticket and serial transfer time for each Vietnamese printing strategy, on 58 and 80 mm paper.

The ticket is ``devices.escpos.sample.sample_ticket()`` (header, service, big number, times, waiting count, QR,
footer, cut). Code-page figures use the generic profiles with CP1258 added at ``ESC t 52``; hybrid is shown with
the printer's native QR and with a raster QR (for printers without ``GS ( k``). Transfer time is
bytes ÷ (baud / 10): 8 data bits plus start and stop bit, no flow-control pauses. The ratio is against the whole
ticket sent as one image. Usage: ``python bench/ticket_bytes.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devices.escpos.profiles import PrinterProfile, VietnameseCodepage, load_profile  # noqa: E402
from devices.escpos.render import Strategy, render  # noqa: E402
from devices.escpos.sample import sample_ticket  # noqa: E402

BAUD_RATES = (9_600, 115_200)
CP1258_AT_52 = VietnameseCodepage(codepage="cp1258", esc_t=52)


def cases(base: PrinterProfile) -> list[tuple[str, PrinterProfile, Strategy]]:
    return [
        ("whole ticket as one image", base, Strategy.RASTER),
        ("CP1258 text + native QR", base.model_copy(update={"vietnamese": CP1258_AT_52}), Strategy.CODEPAGE),
        ("hybrid, native QR", base, Strategy.HYBRID),
        ("hybrid, raster QR", base.model_copy(update={"native_qr": False}), Strategy.HYBRID),
    ]


def main() -> None:
    print(f"| paper | strategy | bytes | {' | '.join(f'{b:,} baud' for b in BAUD_RATES)} | vs full raster |")
    print("|---|---|---:|" + "---:|" * len(BAUD_RATES) + "---:|")
    for name in ("generic-80", "generic-58"):
        base = load_profile(name)
        rows = [(label, len(render(sample_ticket(), p, strategy))) for label, p, strategy in cases(base)]
        baseline = rows[0][1]
        for index, (label, size) in enumerate(rows):
            times = " | ".join(f"{size / (baud / 10):.2f} s" for baud in BAUD_RATES)
            ratio = "1 (baseline)" if index == 0 else f"{baseline / size:.0f}x smaller"
            print(f"| {base.paper_width_mm} mm ({base.dots} dots) | {label} | {size:,} | {times} | {ratio} |")


if __name__ == "__main__":
    main()
