"""The printed dossier receipt ("Biên nhận hồ sơ"): what was filed, the code to look it up, the fee and how to pay.

One receipt lists every dossier of a bundle. Each carries its lookup QR (the bare code, which every kiosk's lookup
accepts) and, when a fee is due and the backend is reachable, a VietQR the citizen's banking app pays with the
amount and the dossier code already filled in. Offline, the local reference takes the code's place. Under the
applicant it says how the result comes back (at the counter, by post to the address given, electronic copy only)
and, when the citizen asked for status SMS, the number masked (``091****678``): a receipt left on the counter
gives away no phone number.
"""

from __future__ import annotations

from config.schema import KioskConfig
from devices.escpos.document import QR, Align, Block, Cut, Divider, Text
from kiosk.filing_delivery import Delivery
from kiosk.filing_flow import FilingReceipt
from kiosk.i18n import tr


def money(amount: int) -> str:
    """50000 → "50.000 đ" (Vietnamese thousands separator)."""
    return f"{amount:,}".replace(",", ".") + " đ"


def delivery_lines(delivery: Delivery, lang: str) -> list[Block]:
    """"Nhận kết quả: Tại quầy" (or "Qua bưu điện: <address>", or "Bản điện tử"), and the masked SMS number."""
    if delivery.method == "post":
        lines: list[Block] = [Text(tr("receipt.delivery_post", lang, address=delivery.address), bold=True)]
    else:
        lines = [Text(tr("receipt.delivery", lang, method=tr(f"delivery.{delivery.method}", lang)), bold=True)]
    if delivery.sms:
        lines.append(Text(tr("receipt.sms", lang, phone=delivery.masked_phone)))
    return lines


def receipt_document(receipt: FilingReceipt, config: KioskConfig, lang: str) -> list[Block]:
    name_key = "name_en" if lang == "en" else "name_vi"
    result_key = "result_en" if lang == "en" else "result_vi"
    lines: list[Block] = [Text(config.branch.name.upper(), Align.CENTER, bold=True), Divider(),
                          Text(tr("receipt.title", lang), Align.CENTER, bold=True, width=2, height=2)]
    if receipt.applicant:
        lines.append(Text(tr("receipt.applicant", lang, name=receipt.applicant)))
    lines += delivery_lines(receipt.delivery, lang)
    for item in receipt.items:
        proc = item.procedure
        lines += [Divider(), Text(proc[name_key], Align.CENTER, bold=True),
                  Text(tr("receipt.code" if item.delivered else "receipt.local_ref", lang, code=item.reference),
                       bold=True),
                  QR(item.reference), Text(tr("slip.scan", lang), Align.CENTER),
                  Text(tr("receipt.received", lang, time=item.received_at.strftime("%H:%M %d/%m/%Y"))),
                  Text(tr("receipt.due", lang, date=item.due.strftime("%d/%m/%Y")))]
        if proc.get(result_key) and receipt.delivery.method == "counter":  # where to collect it
            lines.append(Text(tr("receipt.result_at", lang, place=proc[result_key])))
        if proc.get("documents"):
            lines.append(Text(tr("receipt.bring", lang), bold=True))
            lines += [Text(f"- {doc}") for doc in proc["documents"]]
        if item.fee:
            lines.append(Text(tr("receipt.fee", lang, amount=money(item.fee)), bold=True))
            if item.vietqr:
                lines += [QR(item.vietqr), Text(tr("receipt.pay_qr", lang), Align.CENTER)]
            else:
                lines.append(Text(tr("receipt.pay_later", lang)))
        else:
            lines.append(Text(tr("receipt.no_fee", lang)))
    if receipt.offline:
        lines += [Divider(), Text(tr("receipt.offline", lang), bold=True)]
    lines += [Divider(), Text(tr("receipt.footer", lang), Align.CENTER), Cut()]
    return lines
