"""Nộp hồ sơ without the screen: catalogue search, CCCD autofill, validation, outbox, receipt.

Real backend, real files.
"""

from __future__ import annotations

import queue
import time

import pytest

from backend.server import free_port, start_in_thread
from contracts.vietqr import fee_message
from devices.escpos.preview import printed_items
from devices.escpos.profiles import load_profile
from devices.escpos.render import render
from devices.payloads import parse_payload
from kiosk.backend_client import BackendClient
from kiosk.catalogue import Catalogue, load_catalogue
from kiosk.filing_flow import FilingFlow, FilingReceipt
from kiosk.lookup_flow import LookupFlow
from kiosk.outbox import Outbox
from kiosk.receipts import receipt_document
from tests import dossier_forms

CCCD = "001190012345|123456789|Lê Thị Hoa|12051990|Nữ|Số 5 Hàng Gai, Hoàn Kiếm, Hà Nội|15062021"
PROFILE = load_profile("epson-tm-t88")  # Vietnamese text as CP1258, so the test can read the lines back


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    running = start_in_thread(tmp_path_factory.mktemp("backend") / "backend.db")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def catalogue(backend):
    client = BackendClient(backend.url, backend.token)
    yield Catalogue(client.procedures())
    client.close()


class Harness:
    """A FilingFlow wired like the kiosk core wires it, collecting printed receipts and events."""

    def __init__(self, tmp_path, url: str, token: str, kiosk_config) -> None:
        self.outbox = Outbox(tmp_path / "outbox.db", "K01")
        self.client = BackendClient(url, token, timeout_s=1)
        self.printed: list[bytes] = []
        self.events: queue.Queue = queue.Queue()
        self.config = kiosk_config
        self.flow = FilingFlow(self.outbox, lambda: self.client, self._print,
                               lambda name, **kw: self.events.put((name, kw)))

    def _print(self, receipt: FilingReceipt) -> None:
        self.printed.append(render(receipt_document(receipt, self.config, "vi"), PROFILE))

    def fill(self, values: dict[str, str]) -> None:
        for step in self.flow.steps():
            if step.path in values:
                assert self.flow.set_input(step, values[step.path]) is None, step.path

    def receipt(self) -> FilingReceipt:
        name, payload = self.events.get(timeout=15)
        assert name == "filing"
        return payload["receipt"]

    def close(self) -> None:
        self.outbox.close()
        self.client.close()


@pytest.fixture
def harness(tmp_path, backend, kiosk_config):
    h = Harness(tmp_path, backend.url, backend.token, kiosk_config)
    yield h
    h.close()


def printed_texts_and_qrs(data: bytes) -> tuple[str, list[str]]:
    items = printed_items(data, PROFILE)
    return " ".join(i.text for i in items if i.kind == "text"), [i.text for i in items if i.kind == "qr"]


@pytest.mark.parametrize("query", ["khai sinh", "KHAI SINH", "Khai Sinh", "khai  sinh ", "đăng ký khai sinh"])
def test_search_ignores_accents_and_case(catalogue, query):
    assert catalogue.search(query)[0]["id"] == "HT01"


def test_search_by_field_words_and_nothing_for_nonsense(catalogue):
    assert {p["field"] for p in catalogue.search("ho tich")} == {"Hộ tịch"}
    assert catalogue.search("xyzzy") == [] and catalogue.search("   ") == []
    assert [p["id"] for p in catalogue.for_event("birth")] == ["HT01", "CT01", "BH01"]
    assert "Cư trú" in catalogue.fields() and all(p["field"] == "Cư trú" for p in catalogue.in_field("Cư trú"))


def test_catalogue_survives_an_offline_start_from_its_cache(tmp_path, backend):
    cache = tmp_path / "catalogue.json"
    client = BackendClient(backend.url, backend.token)
    assert len(load_catalogue(client.procedures, cache)) >= 30
    client.close()

    def offline():
        raise OSError("network down")

    assert len(load_catalogue(offline, cache)) >= 30
    cache.write_text("{not json")
    assert load_catalogue(offline, cache) is None


def test_cccd_scan_fills_the_applicant_and_a_bad_card_fills_nothing(harness, catalogue):
    harness.flow.begin(catalogue, ["HT01"])
    filled = harness.flow.apply_cccd(parse_payload(CCCD.encode()))
    assert filled == ["applicant_name", "applicant_id", "applicant_dob", "applicant_address"]
    assert harness.flow.value("applicant_dob") == "1990-05-12"
    assert harness.flow.value("applicant_name") == "Lê Thị Hoa"
    harness.flow.begin(catalogue, ["HT01"])
    broken = parse_payload("003190012345|123456789|Lê Thị Hoa|31021990|Nữ|Hà Nội|15062021".encode())
    assert broken["kind"] == "cccd" and not broken["valid"]
    assert harness.flow.apply_cccd(broken) == [] and harness.flow.values == {}


def test_field_errors_and_consent_are_required_before_anything_is_filed(harness, catalogue):
    harness.flow.begin(catalogue, ["HT01"])
    step = next(s for s in harness.flow.steps() if s.path == "phone")
    assert harness.flow.set_input(step, "12345") == "bad_phone"
    assert harness.flow.set_input(step, "+84 912 345 678") is None and harness.flow.value("phone") == "0912345678"
    problems = harness.flow.submit(consent=True)
    assert problems["applicant_name"] == "required" and "consent" not in problems
    harness.fill(dossier_forms.FORMS["HT01"])
    assert harness.flow.submit(consent=False) == {"consent": "required"}
    assert harness.outbox.items() == []


def test_submit_online_prints_a_receipt_with_code_lookup_qr_and_vietqr(harness, catalogue, backend):
    harness.flow.begin(catalogue, ["HT05"])  # has an 8,000 đ fee
    harness.flow.apply_cccd(parse_payload(CCCD.encode()))
    harness.fill({"phone": "0912345678", "copies": "2"})
    assert harness.flow.submit(consent=True) == {}
    receipt = harness.receipt()
    item = receipt.items[0]
    assert item.delivered and item.reference.startswith("000.00.13.H26-") and not receipt.offline
    assert receipt.applicant == "Lê T. H."
    text, qrs = printed_texts_and_qrs(harness.printed[0])
    assert f"Mã hồ sơ: {item.reference}" in text and "Người nộp: Lê T. H." in text
    assert "Lê Thị Hoa" not in text, "the receipt shows the masked name only"
    assert "Lệ phí: 8.000 đ" in text
    assert qrs[0] == item.reference
    vietqr = parse_payload(qrs[1].encode())
    assert vietqr["kind"] == "vietqr" and vietqr["crc_ok"] and vietqr["amount"] == 8000
    assert vietqr["message"] == fee_message(item.reference)


def test_double_tap_files_once(harness, catalogue):
    harness.flow.begin(catalogue, ["HT01"])
    harness.fill(dossier_forms.FORMS["HT01"])
    first = harness.flow.submit(consent=True)
    harness.receipt()
    again = harness.flow.submit(consent=True)
    harness.receipt()
    assert first == {} and again == {} and len(harness.outbox.items()) == 1


def test_birth_bundle_is_filled_once_and_filed_as_linked_dossiers(harness, catalogue, backend):
    harness.flow.begin(catalogue, [p["id"] for p in catalogue.for_event("birth")])
    names = [step.path for step in harness.flow.steps()]
    assert names.count("applicant_name") == 1 and "members" in names and "child_name" in names
    harness.fill(dossier_forms.FORMS["HT01"])
    assert harness.flow.submit(consent=True) == {}
    receipt = harness.receipt()
    codes = [item.reference for item in receipt.items]
    assert [item.procedure["id"] for item in receipt.items] == ["HT01", "CT01", "BH01"]
    assert all(item.delivered for item in receipt.items) and len(set(codes)) == 3
    text, qrs = printed_texts_and_qrs(harness.printed[0])
    assert all(f"Mã hồ sơ: {code}" in text for code in codes) and qrs == codes
    client = BackendClient(backend.url, backend.token)
    assert {client.dossier_status(code)["procedure_id"] for code in codes} == {"HT01", "CT01", "BH01"}
    client.close()


def test_group_members_add_steps_and_are_validated(harness, catalogue):
    harness.flow.begin(catalogue, ["CT01"])
    assert [s.path for s in harness.flow.steps() if s.path.startswith("members")] == ["members"]
    harness.flow.add_member("members")
    member_steps = [s.path for s in harness.flow.steps() if s.path.startswith("members.0.")]
    assert member_steps[0] == "members.0.member_name"
    id_step = next(s for s in harness.flow.steps() if s.path == "members.0.member_id")
    assert harness.flow.set_input(id_step, "123") == "bad_cccd"
    assert harness.flow.errors()["members.0.member_name"] == "required"
    harness.flow.remove_member("members", 0)
    assert "members.0.member_name" not in harness.flow.errors()


def test_counter_only_procedures_cannot_be_started(harness, catalogue):
    with pytest.raises(ValueError, match="DD01"):
        harness.flow.begin(catalogue, ["DD01"])


def test_session_end_wipes_the_form(harness, catalogue):
    harness.flow.begin(catalogue, ["HT01"])
    harness.flow.apply_cccd(parse_payload(CCCD.encode()))
    harness.flow.forget()
    assert harness.flow.values == {} and harness.flow.steps() == []


def test_offline_filing_gets_a_local_reference_then_is_delivered_once_and_found(tmp_path, catalogue, kiosk_config):
    port = free_port()
    h = Harness(tmp_path, f"http://127.0.0.1:{port}", "unused", kiosk_config)
    try:
        h.flow.begin(catalogue, ["HT01"])
        h.fill(dossier_forms.FORMS["HT01"])
        assert h.flow.submit(consent=True) == {}
        receipt = h.receipt()
        ref = receipt.items[0].reference
        assert receipt.offline and ref.startswith("KS.K01-")
        text, qrs = printed_texts_and_qrs(h.printed[0])
        assert f"Số tham chiếu: {ref}" in text and "sẽ tự động gửi khi có mạng" in text and qrs == [ref]

        events: queue.Queue = queue.Queue()
        lookup = LookupFlow(lambda: h.client, lambda name, **kw: events.put(kw["result"]), h.outbox.find)
        lookup.lookup(ref)
        assert events.get(timeout=5).outcome == "queued"

        running = start_in_thread(tmp_path / "backend.db", port=port)
        h.client.close()
        h.client = BackendClient(running.url, running.token, timeout_s=2)
        try:
            h.outbox.run_sender(lambda: h.client)
            deadline = time.monotonic() + 15
            while h.outbox.find(ref)["state"] != "delivered" and time.monotonic() < deadline:
                time.sleep(0.05)
            lookup.lookup(ref)
            found = events.get(timeout=5)
        finally:
            running.stop()
        code = h.outbox.find(ref)["code"]
        assert code.startswith("000.00.13.H26-") and len(h.outbox.items()) == 1
        assert found.outcome == "found" and found.code == ref and found.status["code"] == code
        assert found.status["procedure_id"] == "HT01"
    finally:
        h.close()
