"""What goes on a printed queue ticket, as a printer-independent document (``devices.escpos``).

The layout is decided here, in the citizen's language; how each line reaches paper (CP1258 text, raster bands,
native QR) is decided by the renderer from the printer profile. ``printer_profile`` applies the configured paper
width to the configured model, so ``--set printer.paper_width_mm=58`` works with any profile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from config.schema import KioskConfig
from devices.escpos.document import QR, Align, BigNumber, Block, Cut, Divider, Text
from devices.escpos.profiles import PrinterProfile, load_profile
from kiosk.i18n import tr

PAPER_GEOMETRY = {58: (384, 32), 80: (576, 48)}  # dots, font-A columns


@dataclass(frozen=True)
class TicketPrint:
    """The fields a ticket shows; ``service_name`` is already in the citizen's language."""

    number: str
    service_name: str
    issued_at: datetime
    people_ahead: int
    estimated_wait_s: int
    tracking_url: str
    priority: str | None = None


def printer_profile(config: KioskConfig) -> PrinterProfile:
    profile = load_profile(config.printer.profile)
    width = config.printer.paper_width_mm
    if profile.paper_width_mm == width:
        return profile
    dots, columns = PAPER_GEOMETRY[width]
    return profile.model_copy(update={"paper_width_mm": width, "dots": dots, "columns": columns})


def ticket_document(ticket: TicketPrint, config: KioskConfig, lang: str) -> list[Block]:
    branch = config.branch
    lines: list[Block] = [Text(branch.name.upper(), Align.CENTER, bold=True)]
    if branch.unit:
        lines.append(Text(branch.unit, Align.CENTER))
    lines += [Divider(), Text(ticket.service_name, Align.CENTER, bold=True, width=2, height=2),
              BigNumber(ticket.number)]
    if ticket.priority:
        lines.append(Text(tr("print.priority", lang, label=tr(f"priority.{ticket.priority}", lang)), Align.CENTER,
                          bold=True))
    lines += [
        Text(tr("print.issued_at", lang, time=ticket.issued_at.strftime("%H:%M %d/%m/%Y")), Align.CENTER),
        Text(tr("print.waiting", lang, count=ticket.people_ahead), Align.CENTER),
    ]
    if ticket.people_ahead:
        minutes = max(1, math.ceil(ticket.estimated_wait_s / 60))
        lines.append(Text(tr("print.wait", lang, minutes=minutes), Align.CENTER))
    lines += [
        QR(ticket.tracking_url),
        Text(tr("print.scan", lang), Align.CENTER),
        Text(tr("print.footer", lang), Align.CENTER),
        Cut(),
    ]
    return lines
