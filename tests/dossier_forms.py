"""Complete, valid e-forms for the seed procedures (the backend rejects incomplete ones)."""

from __future__ import annotations

from typing import Any

APPLICANT = {"applicant_name": "Lê Thị Hoa", "applicant_id": "001190012345", "applicant_dob": "1990-05-12",
             "applicant_address": "Số 5 Hàng Gai, Hoàn Kiếm, Hà Nội", "phone": "0912345678"}
CHILD = {"child_name": "Nguyễn Minh Khang", "child_dob": "2026-11-20", "child_gender": "Nam",
         "birth_place": "Bệnh viện Phụ sản Hà Nội", "relationship": "Mẹ"}
FORMS: dict[str, dict[str, Any]] = {
    "HT01": {**APPLICANT, **CHILD},
    "HT05": {**APPLICANT, "copies": 2},
}


def body(proc_id: str, **changes: Any) -> dict[str, Any]:
    return {"procedure_id": proc_id, "form": {**FORMS[proc_id], **changes}}
