"""The printed status slip ("In phiếu tra cứu"): same renderer and Vietnamese strategy as queue tickets."""

from __future__ import annotations

import datetime as dt
from typing import Any

from config.localtime import LOCAL_TZ
from config.schema import KioskConfig
from devices.escpos.document import QR, Align, Block, Cut, Divider, Text
from kiosk.i18n import tr
from kiosk.lookup_flow import local_date


def status_slip(status: dict[str, Any], config: KioskConfig, lang: str) -> list[Block]:
    """The QR carries the bare dossier code, which every kiosk's lookup accepts."""
    now = dt.datetime.now(LOCAL_TZ).strftime("%H:%M %d/%m/%Y")
    procedure = status["procedure_en"] if lang == "en" else status["procedure_vi"]
    lines: list[Block] = [
        Text(config.branch.name.upper(), Align.CENTER, bold=True),
        Divider(),
        Text(tr("slip.title", lang), Align.CENTER, bold=True),
        Text(procedure, Align.CENTER, bold=True),
        Text(tr("slip.code", lang, code=status["code"])),
        Text(tr("slip.status", lang, status=tr(f"status.{status['status']}", lang))),
        Text(tr("lookup.received", lang, date=local_date(status["received_at"]))),
        Text(tr("lookup.due", lang, date=local_date(status["due_date"]))),
    ]
    if status.get("missing"):
        lines.append(Text(tr("lookup.missing", lang, docs=status["missing"])))
    if status.get("pickup"):
        lines.append(Text(tr("lookup.pickup", lang, place=status["pickup"])))
    lines += [QR(status["code"]), Text(tr("slip.scan", lang), Align.CENTER),
              Text(tr("slip.printed_at", lang, time=now), Align.CENTER), Cut()]
    return lines
