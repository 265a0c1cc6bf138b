"""What the status SMS say: Vietnamese with diacritics, one message each, nothing personal in them.

A text names the dossier by its code and says what happens next; it never carries the applicant's name, the
address or a free-text note (an officer's note may hold personal data and any length), so a message shown on a
lock screen or forwarded tells a stranger nothing but a code. Each fits one Unicode SMS part pair (≤ 160
characters), checked by the tests for the longest code.
"""

from __future__ import annotations

import datetime as dt

# The dossier events that send an SMS (the citizen's consent given): the filing, a request for documents, the result.
SMS_EVENTS = ("received", "needs_documents", "result_ready")

_RESULT = {
    "counter": "Hồ sơ {code} đã có kết quả. Mời ông/bà mang giấy biên nhận đến quầy trả kết quả để nhận.",
    "post": "Hồ sơ {code} đã có kết quả và sẽ được gửi qua bưu điện đến địa chỉ ông/bà đã đăng ký.",
    "electronic": "Hồ sơ {code} đã có kết quả. Bản điện tử được trả qua Cổng dịch vụ công, mời ông/bà tra cứu.",
}


def dossier_text(event: str, code: str, *, due_date: str | None = None, delivery: str | None = None) -> str:
    """The message for ``event`` of dossier ``code``; ``due_date`` (ISO) for a filing, ``delivery`` (the result
    delivery method, counter when unknown) for a result."""
    if event == "received":
        due = dt.date.fromisoformat(due_date).strftime("%d/%m/%Y") if due_date else None
        return f"Hồ sơ {code} đã được tiếp nhận." + (f" Hẹn trả kết quả {due}." if due else "")
    if event == "needs_documents":
        return f"Hồ sơ {code} cần bổ sung giấy tờ. Tra cứu mã hồ sơ tại kiosk hoặc quầy tiếp nhận để xem chi tiết."
    if event == "result_ready":
        return _RESULT.get(delivery or "counter", _RESULT["counter"]).format(code=code)
    raise ValueError(f"no SMS for the dossier event {event!r}")
