"""Nộp hồ sơ without the screen: catalogue search, CCCD autofill, validation, outbox, receipt — and the view data
the filing screen renders (labels, member lists, errors, review rows, where Back goes).

Real backend, real files.
"""

from __future__ import annotations

import errno
import queue
import sqlite3

import pytest

from backend.server import free_port, start_in_thread
from contracts.storage import StorageFull
from contracts.vietqr import fee_message
from devices.escpos.preview import printed_items
from devices.escpos.profiles import load_profile
from devices.escpos.render import render
from devices.payloads import parse_payload
from kiosk.backend_client import BackendClient
from kiosk.catalogue import Catalogue, load_catalogue
from kiosk.core import Events
from kiosk.filing_flow import FilingFlow, FilingReceipt
from kiosk.filing_view import CataloguePage, DetailPage, DonePage, ResultsPage, ReviewPage, SearchPage, StepPage
from kiosk.filing_wizard import FilingWizard
from kiosk.lookup_flow import LookupFlow
from kiosk.outbox import Outbox
from kiosk.receipts import receipt_document
from tests.support import DOSSIER_FORMS, eventually

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
    """A FilingFlow, and the FilingWizard the screen talks to, wired like the kiosk core wires them; collects printed
    receipts, outcome events, spoken guidance and the numbers asked for."""

    def __init__(self, tmp_path, url: str, token: str, kiosk_config, outbox: Outbox | None = None) -> None:
        self.outbox = outbox or Outbox(tmp_path / "outbox.db", "K01")
        self.client = BackendClient(url, token, timeout_s=1)
        self.printed: list[bytes] = []
        self.events: queue.Queue = queue.Queue()
        self.bus = Events()
        for name in ("filing", "filing_refused"):
            self.bus.subscribe(name, lambda _name=name, **payload: self.events.put((_name, payload)))
        self.config = kiosk_config
        self.flow = FilingFlow(self.outbox, lambda: self.client, self._print, self.bus.publish)
        self.lang = "vi"
        self.said: list[str] = []
        self.numbers: list[str | None] = []

    def wizard(self, catalogue: Catalogue) -> FilingWizard:
        return FilingWizard(self.flow, catalogue=lambda: catalogue, language=lambda: self.lang,
                            refresh_catalogue=lambda: None, take_number=self._take_number, guide=self.said.append,
                            subscribe=self.bus.subscribe, publish=self.bus.publish)

    def _take_number(self, counter: str | None) -> int:
        """Like the core: the number is taken on a worker, its outcome comes as a ``ticket`` event (the test's)."""
        self.numbers.append(counter)
        return len(self.numbers)

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
    harness.fill(DOSSIER_FORMS["HT01"])
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
    harness.fill(DOSSIER_FORMS["HT01"])
    first = harness.flow.submit(consent=True)
    harness.receipt()
    again = harness.flow.submit(consent=True)
    harness.receipt()
    assert first == {} and again == {} and len(harness.outbox.items()) == 1


def test_birth_bundle_is_filled_once_and_filed_as_linked_dossiers(harness, catalogue, backend):
    harness.flow.begin(catalogue, [p["id"] for p in catalogue.for_event("birth")])
    names = [step.path for step in harness.flow.steps()]
    assert names.count("applicant_name") == 1 and "members" in names and "child_name" in names
    harness.fill(DOSSIER_FORMS["HT01"])
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
        h.fill(DOSSIER_FORMS["HT01"])
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
            eventually(lambda: h.outbox.find(ref)["state"] == "delivered", message="the sender delivered the dossier")
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


# -- the view data the filing screen renders --------------------------------------------------------------------------
@pytest.fixture
def wizard(harness, catalogue):
    return harness.wizard(catalogue)


def step(wizard, intent: str, *args) -> StepPage:
    """Run an intent that must land on a question and return that question's page."""
    page = wizard.do(intent, *args).page
    assert isinstance(page, StepPage), page
    return page


def past_the_applicant(wizard, procedure: str):
    """``procedure``'s form with the applicant from their card and a phone number: the page after the phone."""
    wizard.open_procedure(procedure)
    wizard.start_form()
    wizard.scan(parse_payload(CCCD.encode()))
    for _ in range(4):  # name, ID, date of birth, address: filled from the card
        wizard.next()
    return wizard.do("answer", "0912345678").page


def to_household_question(wizard) -> StepPage:
    """Đăng ký thường trú up to "household members: add another?"."""
    page = past_the_applicant(wizard, "CT01")
    assert isinstance(page, StepPage), page
    return page


def test_catalogue_tiles_and_a_life_event_filed_as_one_bundle(wizard, harness):
    page = wizard.view().page
    assert isinstance(page, CataloguePage)
    assert [tile.title for tile in page.events] == ["Khai sinh", "Khai tử", "Kết hôn"]
    assert page.events[0].hint == "Đăng ký khai sinh · Đăng ký thường trú · Cấp thẻ bảo hiểm y tế cho trẻ em dưới 6 tuổi"
    assert "Hộ tịch" in page.fields and "Cư trú" in page.fields
    birth = wizard.open_event("birth").page
    assert isinstance(birth, ResultsPage) and birth.heading == "Khai sinh"
    assert birth.bundle == ("HT01", "CT01", "BH01") and birth.bundle_text == "Nộp cả 3 thủ tục một lần"
    assert birth.bundle_hint == "Điền một lần, nhận 3 mã hồ sơ trên một biên nhận"
    assert birth.rows[0].title == "Đăng ký khai sinh" and birth.rows[0].detail == "Nộp được tại kiosk  ·  Không mất lệ phí"
    marriage = wizard.open_event("marriage").page  # registering a marriage needs both people at the counter
    assert marriage.bundle == () and marriage.bundle_text == ""
    assert wizard.open_field("Chứng thực").page.rows[0].detail == "Nộp tại quầy  ·  Lệ phí: 2.000 đ"
    harness.lang = "en"  # a language switch re-words what shows, nothing else changes
    assert wizard.view().page.heading == "Chứng thực" and wizard.view().page.rows[0].detail == "File at a counter  ·  Fee: 2.000 đ"
    assert isinstance(wizard.back().page, CataloguePage) and wizard.back().leave


def test_search_lists_hits_and_says_when_nothing_matches(wizard):
    assert wizard.open_search().page == SearchPage()
    hits = wizard.search("chung thuc").page
    assert hits.typed == "chung thuc" and [row.title.split()[:2] for row in hits.rows[:3]] == [["Chứng", "thực"]] * 3
    assert wizard.search("xyzzy").page.no_results == "Không tìm thấy thủ tục phù hợp. Thử gõ ít chữ hơn."


def test_a_counter_only_procedure_asks_a_number_for_its_counter(wizard, harness):
    detail = wizard.open_procedure("CC01").page
    assert isinstance(detail, DetailPage) and not detail.can_file
    assert detail.action == "Lấy số thứ tự cho quầy này" and detail.fee == "Lệ phí: 2.000 đ"
    assert detail.counter_only.startswith("Thủ tục này cần nộp trực tiếp tại quầy")
    assert detail.documents == "•  Bản chính giấy tờ\n•  Bản sao cần chứng thực" and detail.days.startswith("Thời hạn giải quyết:")
    wizard.start_form()  # refused by the flow: the page stays and offers the number
    assert wizard.take_number().number_request == 1 and harness.numbers == ["CC"]
    assert wizard.view().number_request is None  # the request belongs to the touch that made it
    assert wizard.help_number().number_request == 2 and harness.numbers == ["CC", None]


def test_questions_have_labels_hints_errors_and_back_walks_through_them(wizard, harness):
    wizard.open_procedure("HT05")
    first = step(wizard, "start_form")
    assert (first.label, first.step_no, first.step_total, first.kind, first.keyboard) == (
        "Họ và tên người nộp", 1, 7, "keys", "telex")
    assert first.required and first.optional == "" and first.can_scan and first.remove_member == ""
    assert wizard.answer("").message == "Vui lòng điền mục này"
    filled = wizard.scan(parse_payload(CCCD.encode()))
    assert filled.message == "Đã điền 4 mục từ thẻ CCCD. Vui lòng kiểm tra lại." and filled.page.value == "Lê Thị Hoa"
    assert wizard.scan({"kind": "dossier", "code": "X"}).message.startswith("Đây không phải mã QR trên thẻ CCCD")
    assert wizard.scan(parse_payload(CCCD.replace("|Nữ|", "|nu|").encode())).message == (
        "Không đọc được thẻ CCCD (giới tính phải là Nam hoặc Nữ như in trên thẻ). Vui lòng quét lại hoặc tự nhập.")
    wizard.next()
    dob = wizard.next()
    assert dob.page.label == "Ngày sinh" and dob.page.value == "12/05/1990" and dob.page.keyboard == "numeric"
    assert dob.message == "Nhập ngày/tháng/năm, ví dụ 05/03/2019"
    wizard.next()
    phone = wizard.next()
    assert wizard.answer("091234").message == "Số điện thoại chưa đúng (10 số, bắt đầu bằng 0)"
    assert wizard.view().page.path == phone.page.path == "phone"
    copies = step(wizard, "answer", "0912345678")
    assert copies.label == "Số bản" and not copies.can_scan
    post = step(wizard, "answer", "2")
    assert post.kind == "choices" and post.optional == "(không bắt buộc)" and post.next_text == "Tiếp tục"
    assert [(c.text, c.value, c.chosen) for c in post.choices] == [("Có", True, False), ("Không", False, False)]
    review = wizard.choose(False).page
    assert isinstance(review, ReviewPage) and not review.consent
    rows = {row.path: (row.label, row.value, row.bad) for row in review.rows}
    assert rows["applicant_dob"] == ("Ngày sinh", "12/05/1990", False) and rows["by_post"][1] == "Không"
    assert [c.chosen for c in step(wizard, "back").choices] == [False, True]
    assert step(wizard, "back").value == "2"


def test_review_marks_problems_then_needs_consent_then_files_and_shows_the_receipt(wizard, harness):
    past_the_applicant(wizard, "HT05")
    wizard.answer("1")
    wizard.next()
    harness.flow.values["copies"] = 11  # e.g. a limit lowered by a catalogue update since it was answered
    checked = wizard.submit()
    assert checked.message == "Còn 1 mục chưa đúng (tô đỏ). Chạm vào mục để sửa."
    assert [row.path for row in checked.page.rows if row.bad] == ["copies"]
    assert step(wizard, "edit", "copies").label == "Số bản"
    assert isinstance(wizard.answer("2").page, ReviewPage)  # a question opened from the review returns there
    assert wizard.submit().message == "Vui lòng đánh dấu đồng ý để gửi hồ sơ."
    assert wizard.toggle_consent().page.consent
    assert wizard.submit().state == "sending" and wizard.submit().state == "sending"  # a second tap files nothing
    eventually(lambda: wizard.view().state == "done", message="the receipt")
    done = wizard.view()
    assert isinstance(done.page, DonePage) and done.page.title == "Đã nhận hồ sơ" and not done.page.offline
    code = done.page.rows[0].code
    assert done.page.qr == code and done.page.rows[0].label == f"Mã hồ sơ: {code}"
    assert done.page.rows[0].title == "Cấp bản sao trích lục hộ tịch"
    assert done.message == "Đang in biên nhận, vui lòng nhận ở khe máy in." and harness.said == ["filed"]
    harness.bus.publish("receipt_print", ok=False, reason="paper_out")
    assert wizard.view().message.startswith("Không in được biên nhận")
    wizard.forget()  # the session ends: the dossier codes shown go with it
    assert isinstance(wizard.view().page, CataloguePage) and len(harness.outbox.items()) == 1


def test_household_members_are_listed_and_one_added_by_mistake_is_removed(wizard, harness):
    group = to_household_question(wizard)
    assert group.kind == "group" and group.next_text == "Không, tiếp tục" and group.optional == ""
    assert group.label == "Thành viên hộ gia đình: đã thêm 0 người. Thêm người nữa?"
    name = step(wizard, "add_member")
    assert name.label == "Họ và tên — người thứ 1" and name.remove_member == "Bỏ người này" and not name.can_scan
    member_id = step(wizard, "answer", "Nguyễn Minh Anh")
    assert member_id.label == "Số CCCD — người thứ 1" and member_id.optional == "(không bắt buộc)"
    relation = step(wizard, "next")
    assert wizard.next().message == "Vui lòng điền mục này" and wizard.view().page == relation
    group = step(wizard, "answer", "con")
    assert group.label.endswith("đã thêm 1 người. Thêm người nữa?\n1. Nguyễn Minh Anh")
    assert step(wizard, "add_member").label == "Họ và tên — người thứ 2"
    wizard.answer("Lee")
    group = step(wizard, "remove_member")  # from the second person's next question
    assert group.kind == "group" and group.label.endswith("đã thêm 1 người. Thêm người nữa?\n1. Nguyễn Minh Anh")
    assert [member["member_name"] for member in harness.flow.value("members")] == ["Nguyễn Minh Anh"]
    assert isinstance(wizard.next().page, ReviewPage)


def test_back_from_the_first_question_returns_to_where_filing_started(wizard):
    wizard.open_event("birth")
    assert step(wizard, "start_form", True).step_total == 11  # one form for the three procedures, asked once
    assert isinstance(wizard.back().page, ResultsPage)
    wizard.open_procedure("CT05")
    wizard.start_form()
    assert isinstance(wizard.back().page, DetailPage)
    with pytest.raises(ValueError, match="unknown filing intent"):
        wizard.do("format_disk")


@pytest.mark.parametrize(("fault", "reason", "shown"), [
    (StorageFull(errno.ENOSPC, "outbox: the storage refused the write (ENOSPC)"), "storage_full",
     "Kiosk tạm thời không lưu được hồ sơ (bộ nhớ đầy). Hồ sơ chưa được nộp."),
    (sqlite3.DatabaseError("database disk image is malformed"), "save_failed",
     "Kiosk gặp lỗi khi lưu hồ sơ. Hồ sơ chưa được nộp."),
])
def test_a_failed_save_at_filing_says_nothing_was_filed(tmp_path, backend, catalogue, kiosk_config, fault, reason,
                                                        shown):
    """GIVEN an outbox that refuses the commit WHEN the citizen submits THEN the review says nothing was filed."""
    class FullOutbox(Outbox):
        def add_all(self, items, kind="dossier"):
            raise fault

    h = Harness(tmp_path, backend.url, backend.token, kiosk_config, outbox=FullOutbox(tmp_path / "o.db", "K01"))
    try:
        wizard = h.wizard(catalogue)
        past_the_applicant(wizard, "CT05")
        wizard.toggle_consent()
        assert wizard.submit().state == "sending"
        assert h.events.get(timeout=15) == ("filing_refused", {"reason": reason}) and h.printed == []
        refused = eventually(lambda: (view := wizard.view()).state == "review" and view)
        assert refused.message.startswith(shown)
    finally:
        h.close()
