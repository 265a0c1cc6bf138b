"""The city view as a spreadsheet: one row per centre and service, Vietnamese headers, UTF-8 with a BOM.

The BOM is what makes Excel read the file as UTF-8 (without it "Hộ tịch" opens as mojibake); numbers are plain
(decimal point, no thousands separator) so any spreadsheet or script reads them. Centre names and service names
come from the branches' reports: a text starting with ``= + - @`` (or a tab/CR) gets a leading apostrophe, so a
spreadsheet shows it instead of running it as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

BOM = "\ufeff"
FLAG_WORDS = {"green": "đạt", "amber": "sắp vượt", "red": "vượt mục tiêu", "stale": "mất kết nối"}
HEADERS = ["Mã trung tâm", "Trung tâm", "Số liệu lúc", "Mức trung tâm", "Mục tiêu chờ (phút)", "Mã dịch vụ",
           "Dịch vụ", "Đang chờ", "Số qua điện thoại chưa đến", "Đã cấp số", "Đã phục vụ", "Vắng mặt",
           "Chờ dự kiến (phút)", "Chờ P90 (phút)", "Quầy mở", "Mức dịch vụ", "Kiosk mất kết nối",
           "Kiosk hết giấy", "Hồ sơ nhận hôm nay", "Đúng hạn 30 ngày (%)"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _number(value: float | int | None) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _rows(entry: dict[str, Any]) -> Iterable[list[str]]:
    centre = [_text(entry["centre"]), _text(entry["name"]), entry["reported_at"], FLAG_WORDS[entry["flag"]],
              _number(entry["target_wait_min"])]
    tail = [" ".join(map(_text, entry["kiosks_offline"])), " ".join(map(_text, entry["kiosks_out_of_paper"])),
            _number(entry["dossiers_today"]),
            "" if entry["on_time_rate"] is None else f"{entry['on_time_rate'] * 100:.1f}"]
    for service in entry["services"] or [None]:
        if service is None:  # a centre reporting no service still gets its row
            yield centre + [""] * 11 + tail
            continue
        yield centre + [_text(service["code"]), _text(service["name"])] + [
            _number(service.get(name)) for name in ("waiting", "virtual_waiting", "issued", "served", "no_shows",
                                                     "wait_now_min", "wait_p90_min", "counters_open")
        ] + [FLAG_WORDS[service["flag"]]] + tail


def city_csv(entries: list[dict[str, Any]]) -> bytes:
    """The CSV file of :class:`backend.city_view.CityView` entries (UTF-8 with BOM, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    for entry in entries:
        writer.writerows(_rows(entry))
    return (BOM + out.getvalue()).encode("utf-8")
