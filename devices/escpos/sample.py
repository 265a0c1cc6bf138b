"""The representative queue ticket from issue 4: the technician's test print, the benchmark and the tests' fixture.

It exercises everything that goes wrong on cheap printers: stacked tone marks on capitals (PHƯỜNG, KIẾM),
đ/Đ, a large ASCII number, a long line that wraps on 58 mm, a QR code and a cut.
"""

from __future__ import annotations

from devices.escpos.document import QR, Align, BigNumber, Block, Cut, Divider, Text

SAMPLE_URL = "http://127.0.0.1:8700/t/7f3a9c2e41b8"
SAMPLE_SERVICE = "Đăng ký khai sinh"


def sample_ticket(service: str = SAMPLE_SERVICE, url: str = SAMPLE_URL) -> list[Block]:
    return [
        Text("UBND PHƯỜNG HOÀN KIẾM", Align.CENTER, bold=True),
        Text("Trung tâm Phục vụ hành chính công", Align.CENTER),
        Divider(),
        Text(service, Align.CENTER, bold=True, width=2, height=2),
        BigNumber("A012"),
        Text("Giờ lấy số: 14:05 24/11/2026", Align.CENTER),
        Text("Đang chờ: 5 người", Align.CENTER),
        Text("Thời gian chờ dự kiến: khoảng 15 phút", Align.CENTER),
        QR(url),
        Text("Vui lòng chờ đến lượt. Xin cảm ơn!", Align.CENTER),
        Cut(),
    ]
