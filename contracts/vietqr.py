"""VietQR: the EMVCo merchant-presented QR that Vietnamese banks scan to pay (NAPAS 247 transfer).

TLV text: two-digit tag, two-digit length, value. Tag 38 holds the NAPAS GUID ``A000000727`` and, nested in 01,
the bank BIN (00) and account (01); 02 is the service (QRIBFTTA to an account, QRIBFTTC to a card). 54 is the
amount in đồng, 62/08 the transfer message, 63 a CRC-16/CCITT-FALSE over everything before its value.
Banks accept only unaccented ASCII in the message, at most 25 characters.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Any

NAPAS_GUID = "A000000727"
MAX_MESSAGE = 25
BANKS = {
    "970436": "Vietcombank", "970415": "VietinBank", "970418": "BIDV", "970405": "Agribank", "970422": "MB",
    "970407": "Techcombank", "970416": "ACB", "970432": "VPBank", "970423": "TPBank", "970403": "Sacombank",
    "970437": "HDBank", "970441": "VIB", "970443": "SHB", "970431": "Eximbank", "970426": "MSB",
    "970448": "OCB", "970440": "SeABank", "970449": "LPBank", "970425": "ABBANK", "970428": "Nam A Bank",
    "970412": "PVcomBank", "970419": "NCB", "970454": "Viet Capital Bank", "970429": "SCB",
    "970409": "Bac A Bank", "970427": "VietABank", "970452": "KienlongBank", "970438": "BaoVietBank",
}


def crc16_ccitt(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), as EMVCo specifies."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def _tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def ascii_message(text: str) -> str:
    """Strip Vietnamese accents (đ → d) and anything banks reject; at most 25 characters."""
    plain = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(ch for ch in plain if unicodedata.category(ch) != "Mn")
    return re.sub(r"[^A-Za-z0-9 .\-]", " ", plain).strip()[:MAX_MESSAGE].strip()


def fee_message(dossier_code: str) -> str:
    """The transfer message for a dossier fee, whole within the 25 characters a VietQR message may hold.

    "000.00.13.H26-261126-0001" is itself 25 characters, so a prefix would cut off the sequence number the
    reconciliation needs; dots go and hyphens become spaces: "LP 0000013H26 261126 0001".
    """
    return ascii_message("LP " + dossier_code.replace(".", "").replace("-", " "))


def build_vietqr(bank_bin: str, account: str, amount: int | None, message: str | None, *,
                 service: str = "QRIBFTTA") -> str:
    if not re.fullmatch(r"[0-9]{6}", bank_bin):
        raise ValueError("bank BIN must be 6 digits")
    if not re.fullmatch(r"[0-9A-Za-z]{1,19}", account):
        raise ValueError("account must be 1-19 letters or digits")
    beneficiary = _tlv("00", bank_bin) + _tlv("01", account)
    merchant = _tlv("00", NAPAS_GUID) + _tlv("01", beneficiary) + _tlv("02", service)
    body = _tlv("00", "01") + _tlv("01", "12" if amount else "11") + _tlv("38", merchant) + _tlv("53", "704")
    if amount:
        if amount < 0:
            raise ValueError("amount must be positive")
        body += _tlv("54", str(int(amount)))
    body += _tlv("58", "VN")
    if message and ascii_message(message):
        body += _tlv("62", _tlv("08", ascii_message(message)))
    body += "6304"
    return body + f"{crc16_ccitt(body.encode('ascii')):04X}"


def parse_tlv(text: str) -> tuple[dict[str, str], bool]:
    """Top-level tags and whether the whole string parsed cleanly."""
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        tag, length = text[pos:pos + 2], text[pos + 2:pos + 4]
        # ASCII digits only: str.isdigit() also accepts "¹" or "²", which int() then refuses
        if len(tag) < 2 or not (length.isascii() and length.isdigit()) or pos + 4 + int(length) > len(text):
            return fields, False
        fields.setdefault(tag, text[pos + 4:pos + 4 + int(length)])
        pos += 4 + int(length)
    return fields, True


def looks_like_vietqr(text: str) -> bool:
    return text.startswith("000201") and NAPAS_GUID in text.upper()


def _amount(text: str | None) -> int | None:
    """Whole đồng; "50000", "50000.0" and "50000.00" are all 50,000."""
    if text and re.fullmatch(r"[0-9]{1,13}(\.[0-9]{1,2})?", text.strip()):
        return int(Decimal(text.strip()))
    return None


def parse_vietqr(text: str) -> dict[str, Any]:
    text = text.strip()
    fields, clean = parse_tlv(text)
    merchant, _ = parse_tlv(fields.get("38", ""))
    beneficiary, _ = parse_tlv(merchant.get("01", ""))
    extra, _ = parse_tlv(fields.get("62", ""))
    crc_ok = False
    crc_at = text.rfind("6304")
    if clean and crc_at >= 0 and crc_at + 8 == len(text):
        crc_ok = f"{crc16_ccitt(text[:crc_at + 4].encode('utf-8')):04X}" == text[crc_at + 4:].upper()
    bank_bin = beneficiary.get("00")
    return {
        "kind": "vietqr", "bank_bin": bank_bin, "bank_name": BANKS.get(bank_bin or ""),
        "account": beneficiary.get("01"), "service": merchant.get("02"), "amount": _amount(fields.get("54")),
        "currency": fields.get("53"), "message": extra.get("08") or None, "merchant_name": fields.get("59"),
        "crc_ok": crc_ok,
    }
