"""How the result comes back and status SMS, chosen on the filing review (issue 20 item 4, kiosk side).

Without the screen: the choice's defaults (the counter; the form's address and phone), validation of the address
and the SMS number, the review page's view data and its address/number pages, what the dossier carries (also when it
waits in the outbox while the backend is down), the idle wipe, and the printed receipt at 80 and 58 mm.
Real backend, real outbox files, the real ESC/POS renderer.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing

import pytest

from backend.server import free_port, start_in_thread
from devices.escpos.preview import preview_png, printed_items
from devices.escpos.profiles import VietnameseCodepage, load_profile
from devices.escpos.render import render
from devices.payloads import parse_payload
from kiosk.backend_client import BackendClient
from kiosk.filing_delivery import Delivery, check_phone
from kiosk.filing_flow import FilingReceipt, ReceiptItem
from kiosk.filing_view import ContactPage, ReviewPage
from kiosk.receipts import receipt_document
from kiosk.session import Session
from tests import test_filing_flow as filing
from tests.stores import store_target
from tests.support import ARTIFACTS, DOSSIER_FORMS, FakeClock, eventually
from tests.test_filing_flow import CCCD, PROFILE, Harness, past_the_applicant, printed_texts_and_qrs

# the filing tests' fixtures, shared: one embedded backend per module, a harness (outbox, client, printed receipts)
# and the wizard over it per test
backend, catalogue, harness, wizard = filing.backend, filing.catalogue, filing.harness, filing.wizard

CARD_ADDRESS = "Số 5 Hàng Gai, Hoàn Kiếm, Hà Nội"  # the permanent address on the CCCD above
NEW_ADDRESS = "Số 12 ngõ 34 phố Đội Cấn, phường Ngọc Hà, Hà Nội"


def filled(harness, catalogue, proc_id: str = "HT01") -> None:
    harness.flow.begin(catalogue, [proc_id])
    harness.flow.apply_cccd(parse_payload(CCCD.encode()))
    harness.fill({k: v for k, v in DOSSIER_FORMS["HT01"].items() if not k.startswith("applicant_")}
                 if proc_id == "HT01" else {"phone": "0912345678"})


# -- the choice and its checks ----------------------------------------------------------------------------------------
def test_by_default_the_result_is_collected_at_the_counter_and_no_sms_is_sent(harness, catalogue):
    filled(harness, catalogue)
    delivery = harness.flow.delivery_now()
    assert delivery == Delivery("counter", "", False, "")
    assert delivery.body_fields() == {"result_delivery": {"method": "counter"}}  # no contact without consent


def test_post_starts_from_the_cards_address_and_a_typed_address_is_checked(harness, catalogue):
    filled(harness, catalogue)
    harness.flow.choose_delivery("post")
    assert harness.flow.delivery_now().address == CARD_ADDRESS
    assert harness.flow.delivery.set_address("   ") == "required"
    assert harness.flow.delivery.set_address("x" * 201) == "too_long"
    assert harness.flow.delivery.set_address("Số 5\u202e Hàng Gai") == "bad_characters"  # an RTL override
    assert harness.flow.delivery_now().address == CARD_ADDRESS, "a refused address changes nothing"
    assert harness.flow.delivery.set_address("  Số 12 ngõ 34   phố Đội Cấn,  phường Ngọc Hà, Hà Nội ") is None
    assert harness.flow.delivery_now().body_fields() == {"result_delivery": {"method": "post", "address": NEW_ADDRESS}}
    harness.flow.choose_delivery("electronic")
    assert harness.flow.delivery_now().body_fields() == {"result_delivery": {"method": "electronic"}}
    with pytest.raises(ValueError, match="unknown result delivery"):
        harness.flow.choose_delivery("pigeon")


def test_post_without_any_address_stops_the_filing(harness, catalogue):
    harness.flow.begin(catalogue, ["CT05"])
    harness.fill({"applicant_name": "Lê Thị Hoa", "applicant_id": "001190012345", "applicant_dob": "12/05/1990",
                  "phone": "0912345678"})
    harness.flow.choose_delivery("post")
    assert harness.flow.errors() == {"applicant_address": "required", "delivery_address": "required"}
    assert harness.flow.submit(consent=True)["delivery_address"] == "required" and harness.outbox.items() == []


@pytest.mark.parametrize(("typed", "canonical"), [
    ("0912345678", "0912345678"), ("+84 91-234-5678", "0912345678"), ("0912.345.678", "0912345678"),
    ("84 912 345 678", "0912345678"), ("0387 654 321", "0387654321"),
])
def test_a_mobile_number_in_any_common_writing_is_kept_canonical(typed, canonical):
    assert check_phone(typed) == (canonical, None)


@pytest.mark.parametrize("typed", ["0243 826 1234", "01234567890", "091234", "0912 345 6789", "số 0912", "",
                                   "0301234567", "0912345678\u200b"])
def test_anything_but_a_vietnamese_mobile_number_is_refused_for_sms(typed):
    assert check_phone(typed)[1] == "bad_phone"


def test_sms_takes_the_forms_phone_and_needs_a_mobile_one(harness, catalogue):
    filled(harness, catalogue)
    harness.flow.delivery.set_sms(True)
    assert harness.flow.delivery_now().body_fields()["contact"] == {"phone": "0912345678", "sms_consent": True}
    assert harness.flow.delivery_now().masked_phone == "091****678"
    harness.flow.values["phone"] = "02438261234"  # a landline is a valid form answer but gets no SMS
    assert harness.flow.errors() == {"sms_phone": "bad_phone"}
    assert harness.flow.delivery.set_phone("+84 98 765 4321") is None
    assert harness.flow.errors() == {} and harness.flow.delivery_now().phone == "0987654321"
    harness.flow.delivery.set_sms(False)
    assert "contact" not in harness.flow.delivery_now().body_fields()


def test_a_forms_own_by_post_question_and_the_review_choice_agree(harness, catalogue):
    harness.flow.begin(catalogue, ["HT05"])  # asks "Nhận kết quả qua bưu điện?" itself
    by_post = next(step for step in harness.flow.steps() if step.path == "by_post")
    harness.flow.set_input(by_post, True)
    assert harness.flow.delivery_now().method == "post"
    harness.flow.choose_delivery("counter")
    assert harness.flow.value("by_post") is False
    harness.flow.choose_delivery("post")
    assert harness.flow.value("by_post") is True
    harness.flow.set_input(by_post, False)  # answered again from the review: the choice follows the form
    assert harness.flow.delivery_now().method == "counter"


# -- what the dossier carries -----------------------------------------------------------------------------------------
def bodies(path) -> list[dict]:
    """The submissions as the outbox file holds them on disk, oldest first."""
    with closing(sqlite3.connect(path)) as conn:
        return [json.loads(row[0]) for row in conn.execute("SELECT body FROM outbox ORDER BY seq")]


@pytest.mark.stores
def test_a_filing_made_offline_keeps_delivery_and_contact_in_the_outbox_until_sent(tmp_path, catalogue, kiosk_config):
    port = free_port()
    h = Harness(tmp_path, f"http://127.0.0.1:{port}", "unused", kiosk_config)
    try:
        h.flow.begin(catalogue, [p["id"] for p in catalogue.for_event("birth")])  # three linked dossiers
        h.flow.apply_cccd(parse_payload(CCCD.encode()))
        h.fill({k: v for k, v in DOSSIER_FORMS["HT01"].items() if not k.startswith("applicant_")})
        h.flow.choose_delivery("post")
        h.flow.delivery.set_sms(True)
        assert h.flow.submit(consent=True) == {}
        receipt = h.receipt()
        assert receipt.offline and receipt.delivery == Delivery("post", CARD_ADDRESS, True, "0912345678")
        expected = {"result_delivery": {"method": "post", "address": CARD_ADDRESS},
                    "contact": {"phone": "0912345678", "sms_consent": True}}
        stored = bodies(tmp_path / "outbox.db")
        assert len(stored) == 3 and all({k: body[k] for k in expected} == expected for body in stored)
        text, _qrs = printed_texts_and_qrs(h.printed[0])
        assert f"Nhận kết quả: Qua bưu điện: {CARD_ADDRESS}" in text and "SMS: 091****678" in text
        assert "0912345678" not in text, "the receipt shows the SMS number masked"

        running = start_in_thread(store_target(tmp_path / "backend.db"), port=port)  # the backend is back
        h.client.close()
        h.client = BackendClient(running.url, running.token, timeout_s=2)
        try:
            h.outbox.run_sender(lambda: h.client)
            eventually(lambda: all(item["state"] == "delivered" for item in h.outbox.items()),
                       message="the sender delivered the three dossiers")
            for item in h.outbox.items():  # what the backend keeps, as the filing kiosk's receipt answer shows it
                kept = running.store.receipt(item["code"])
                assert kept["result_delivery"] == {"method": "post", "address": CARD_ADDRESS}
                assert kept["contact"] == {"phone": "091****678", "sms_consent": True}
                looked_up = json.dumps(running.store.status(item["code"]), ensure_ascii=False)  # by code alone
                assert "0912345678" not in looked_up and "Hàng Gai" not in looked_up
        finally:
            running.stop()
        assert bodies(tmp_path / "outbox.db") == [{}, {}, {}], "delivered: the address and the number leave the kiosk's disk"
    finally:
        h.close()


def test_the_idle_reset_wipes_the_delivery_answers_with_the_form(harness, catalogue):
    clock = FakeClock()
    session = Session(10, 5, clock)
    session.on_wipe(harness.flow.forget)
    session.start()
    filled(harness, catalogue)
    harness.flow.choose_delivery("post")
    harness.flow.delivery.set_address(NEW_ADDRESS)
    harness.flow.delivery.set_sms(True)
    harness.flow.delivery.set_phone("0987654321")
    clock.advance(16)
    assert session.expired()
    session.end()  # what the shell does when the countdown ends
    assert harness.flow.values == {} and harness.flow.delivery_now() == Delivery()
    assert harness.flow.delivery.typed_phone({}) == ""


# -- the review page and its address / number pages --------------------------------------------------------------------
def to_review(wizard, proc_id: str = "CT05") -> ReviewPage:
    page = past_the_applicant(wizard, proc_id)
    assert isinstance(page, ReviewPage), page
    return page


def test_the_review_offers_three_ways_and_sms_off_with_big_choices(wizard):
    review = to_review(wizard)
    assert [(c.text, c.value, c.chosen) for c in review.delivery] == [
        ("Tại quầy", "counter", True), ("Qua bưu điện", "post", False), ("Bản điện tử", "electronic", False)]
    assert not review.by_post and not review.sms and not review.consent


def test_choosing_post_shows_the_cards_address_which_the_telex_keyboard_edits(wizard):
    to_review(wizard)
    review = wizard.choose_delivery("post").page
    assert isinstance(review, ReviewPage) and review.by_post and review.address == CARD_ADDRESS
    page = wizard.edit_address().page
    assert page == ContactPage("address", "Địa chỉ nhận kết quả qua bưu điện",
                               "Số nhà, đường, phường/xã, tỉnh/thành phố", "telex", CARD_ADDRESS)
    assert wizard.save_contact("").message == "Vui lòng điền mục này" and wizard.view().state == "contact"
    review = wizard.save_contact(NEW_ADDRESS).page
    assert isinstance(review, ReviewPage) and review.address == NEW_ADDRESS
    wizard.choose_delivery("counter")
    assert not wizard.view().page.by_post
    assert wizard.edit_address().state == "review", "no address page for a result collected at the counter"


def test_sms_switched_on_with_a_landline_opens_the_number_pad_saying_why(wizard, harness):
    to_review(wizard)
    harness.flow.values["phone"] = "02438261234"
    opened = wizard.toggle_sms()
    assert isinstance(opened.page, ContactPage) and opened.page.keyboard == "numeric"
    assert opened.page.value == "02438261234" and opened.message.startswith("Số di động chưa đúng")
    assert wizard.save_contact("0243 826 1234").message.startswith("Số di động chưa đúng")
    review = wizard.save_contact("098 765 4321").page
    assert isinstance(review, ReviewPage) and review.sms and review.sms_phone == "0987654321"
    harness.lang = "en"
    assert wizard.edit_sms_phone().page.label == "Mobile number for the SMS"
    assert wizard.save_contact("12").message.startswith("That is not a Vietnamese mobile number")


def test_back_from_an_empty_number_pad_switches_sms_off_again(wizard, harness):
    to_review(wizard)
    harness.flow.values.pop("phone")
    assert wizard.toggle_sms().state == "contact"
    review = wizard.back().page
    assert isinstance(review, ReviewPage) and not review.sms, "the citizen changed their mind"
    assert wizard.toggle_sms().state == "contact"
    wizard.save_contact("0912345678")
    assert wizard.toggle_sms().page.sms is False and wizard.toggle_sms().page.sms is True  # the number is kept


def test_a_landline_typed_into_the_form_after_sms_was_chosen_is_marked_when_filing(wizard, harness):
    to_review(wizard)
    wizard.choose_delivery("post")
    assert wizard.toggle_sms().page.sms_phone == "0912345678"  # the form's mobile number: no pad needed
    wizard.edit("phone")
    wizard.answer("024 3826 1234")  # the form takes a landline, the SMS cannot
    wizard.toggle_consent()
    checked = wizard.submit()
    assert checked.state == "review" and checked.page.sms_phone_bad and not checked.page.address_bad
    assert checked.message == "Còn 1 mục chưa đúng (tô đỏ). Chạm vào mục để sửa."
    assert isinstance(wizard.edit_sms_phone().page, ContactPage)
    assert not wizard.save_contact("0912345678").page.sms_phone_bad
    assert wizard.submit().state == "sending"
    eventually(lambda: wizard.view().state == "done", message="the receipt")
    text, _qrs = printed_texts_and_qrs(harness.printed[-1])
    assert f"Nhận kết quả: Qua bưu điện: {CARD_ADDRESS}" in text and "SMS: 091****678" in text


# -- the receipt ------------------------------------------------------------------------------------------------------
PROCEDURE = {"id": "HT05", "name_vi": "Cấp bản sao trích lục hộ tịch", "name_en": "Civil status extract copy",
             "result_vi": "Bộ phận một cửa", "result_en": "One-stop desk", "documents": [], "fee": 0, "days": 3}


def receipt_with(delivery: Delivery) -> FilingReceipt:
    import datetime as dt

    from config.localtime import LOCAL_TZ

    now = dt.datetime(2026, 12, 1, 9, 30, tzinfo=LOCAL_TZ)
    item = ReceiptItem(PROCEDURE, "000.00.13.H26-261201-0001", True, now, dt.date(2026, 12, 4), 0)
    return FilingReceipt("Lê T. H.", [item], delivery)


@pytest.mark.parametrize(("delivery", "lines", "absent"), [
    (Delivery(), ["Nhận kết quả: Tại quầy", "Nơi nhận kết quả: Bộ phận một cửa"], "SMS:"),
    (Delivery("electronic", sms=True, phone="0912345678"), ["Nhận kết quả: Bản điện tử", "SMS: 091****678"],
     "Nơi nhận kết quả"),
    (Delivery("post", NEW_ADDRESS), [f"Nhận kết quả: Qua bưu điện: {NEW_ADDRESS}"], "Nơi nhận kết quả"),
])
def test_the_receipt_prints_the_delivery_choice(kiosk_config, delivery, lines, absent):
    text, _qrs = printed_texts_and_qrs(render(receipt_document(receipt_with(delivery), kiosk_config, "vi"), PROFILE))
    assert all(line in text for line in lines) and absent not in text


@pytest.mark.parametrize("profile_name", ["epson-tm-t88", "generic-58"])
def test_the_receipt_fits_the_paper_and_keeps_its_diacritics(kiosk_config, profile_name):
    """GIVEN a post address longer than a line WHEN printed on 80 or 58 mm paper THEN every line fits the paper's
    columns and reads back with its diacritics (a 58 mm printer given the Vietnamese code page, so the text can be
    read); the PNG goes to artifacts/receipts/ to be looked at."""
    profile = load_profile(profile_name)
    if profile.vietnamese is None:
        profile = profile.model_copy(update={"vietnamese": VietnameseCodepage(codepage="cp1258", esc_t=52)})
    delivery = Delivery("post", NEW_ADDRESS, True, "0912345678")
    data = render(receipt_document(receipt_with(delivery), kiosk_config, "vi"), profile)
    lines = [item.text for item in printed_items(data, profile) if item.kind == "text"]
    assert max(len(line) for line in lines) <= profile.columns, lines
    joined = " ".join(lines)
    assert f"Nhận kết quả: Qua bưu điện: {NEW_ADDRESS}" in joined and "SMS: 091****678" in joined
    folder = ARTIFACTS / "receipts"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"filing-receipt-post-sms-{profile.paper_width_mm}mm.png").write_bytes(preview_png(data, profile))
    raster = render(receipt_document(receipt_with(delivery), kiosk_config, "vi"), load_profile(profile_name))
    (folder / f"filing-receipt-post-sms-{profile.paper_width_mm}mm-as-printed.png").write_bytes(
        preview_png(raster, load_profile(profile_name)))
