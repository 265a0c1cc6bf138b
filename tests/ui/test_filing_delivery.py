"""The filing review on the real app: the result by post to an edited address, status SMS to a typed number, filed to
the embedded backend (which keeps both), the receipt printed with the choice; the page in large text still fits."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from contracts.sms import SIM_DIR_NAME, read_simulated
from devices.escpos.preview import preview_png, printed_items
from kiosk.tickets import printer_profile
from tests.support import ARTIFACTS, assert_not_blank
from tests.ui.test_filing import fill_applicant_from_card, open_filing, type_on

NEW_ADDRESS = "Số 12 ngõ 34 phố Đội Cấn Ba Đình"


def delivery_button(screen, method: str):
    """The review's button for ``method`` (counter, post, electronic: left to right)."""
    buttons = list(reversed(screen.ids.delivery.children))
    return buttons[["counter", "post", "electronic"].index(method)]


def stored_delivery(kiosk, code: str) -> tuple:
    """What the embedded backend keeps for dossier ``code`` (its own SQLite file), and the status SMS it queued."""
    with closing(sqlite3.connect(kiosk.app.core.config.data_dir / "backend" / "backend.db")) as conn:
        kept = conn.execute("SELECT phone, sms_consent, delivery_method, delivery_address FROM dossiers"
                            " WHERE code = ?", [code]).fetchone()
        queued = [row[0] for row in conn.execute("SELECT event FROM sms_outbox WHERE dossier_code = ?", [code])]
    return kept, queued


def inside_the_window(kiosk, widget) -> bool:
    from kivy.core.window import Window

    x, y = widget.to_window(widget.x, widget.y)
    return y >= 0 and y + widget.height <= Window.height and widget.height > 0


def test_result_by_post_and_status_sms_are_chosen_on_the_review_filed_and_printed(kiosk):
    screen = open_filing(kiosk)
    fill_applicant_from_card(kiosk, screen, "CT05")  # Xác nhận thông tin về cư trú: free, the applicant only
    assert screen.state == "review"
    assert [button.text for button in reversed(screen.ids.delivery.children)] == ["Tại quầy", "Qua bưu điện",
                                                                                  "Bản điện tử"]
    assert delivery_button(screen, "counter").chosen and screen.ids.address_row.height == 0
    assert not screen.ids.sms.checked and screen.ids.sms_phone_row.height == 0

    kiosk.tap(delivery_button(screen, "post"))  # the card's permanent address is offered
    assert delivery_button(screen, "post").chosen and screen.ids.address_row.height > 0
    assert screen.ids.address_row.value == "Số 5 Hàng Gai, Hoàn Kiếm, Hà Nội"
    kiosk.tap(screen.ids.address_row)
    assert screen.state == "contact" and screen.ids.contact_keys.mode == "telex"
    assert screen.ids.contact_keys.text == "Số 5 Hàng Gai, Hoàn Kiếm, Hà Nội"
    type_on(kiosk, screen.ids.contact_keys, "⌫" * 40 + "Soos 12 ngox 34 phoos DDooij Caans Ba DDinhf")
    assert screen.ids.contact_keys.text == NEW_ADDRESS
    assert_not_blank(kiosk.screenshot("filing-delivery-address"))
    kiosk.tap(screen.ids.contact_save)
    assert screen.state == "review" and screen.ids.address_row.value == NEW_ADDRESS

    kiosk.tap(screen.ids.sms)  # the form's phone is a mobile one: shown, no pad needed
    assert screen.ids.sms.checked and screen.ids.sms_phone_row.value == "0912345678"
    kiosk.tap(screen.ids.sms_phone_row)  # another number for the SMS
    assert screen.state == "contact" and screen.ids.contact_keys.mode == "numeric"
    type_on(kiosk, screen.ids.contact_keys, "⌫" * 10 + "0243826123")
    kiosk.tap(screen.ids.contact_save)
    assert screen.state == "contact" and screen.message.startswith("Số di động chưa đúng")
    assert screen.ids.contact_keys.text == "0243826123", "a refused number stays to be corrected"
    assert_not_blank(kiosk.screenshot("filing-delivery-phone-refused"))
    type_on(kiosk, screen.ids.contact_keys, "⌫" * 10 + "0987654321")
    kiosk.tap(screen.ids.contact_save)
    assert screen.state == "review" and screen.ids.sms_phone_row.value == "0987654321" and screen.message == ""
    kiosk.tap(screen.ids.consent)
    assert all(inside_the_window(kiosk, screen.ids[name]) for name in ("address_row", "sms_phone_row", "submit"))
    assert screen.ids.review_list.height >= 3 * kiosk.app.min_target, "the answers above still show"
    assert_not_blank(kiosk.screenshot("filing-review-delivery"))

    top_bar = next(widget for widget in screen.walk() if "a11y" in getattr(widget, "ids", {}))
    kiosk.tap(top_bar.ids.a11y)  # "Aa": large text
    assert kiosk.app.text_scale > 1
    kiosk.frames(3)
    assert all(inside_the_window(kiosk, screen.ids[name]) for name in ("address_row", "sms_phone_row", "submit"))
    assert screen.ids.review_list.height >= 2 * kiosk.app.min_target
    assert_not_blank(kiosk.screenshot("filing-review-delivery-large-text"))
    kiosk.tap(screen.ids.sms_phone_row)
    assert screen.state == "contact" and inside_the_window(kiosk, screen.ids.contact_save)
    assert_not_blank(kiosk.screenshot("filing-delivery-phone-large-text"))
    type_on(kiosk, screen.ids.contact_keys, "⌫⌫")
    kiosk.tap(screen.ids.contact_back)  # nothing typed is kept
    assert screen.state == "review" and screen.ids.sms_phone_row.value == "0987654321"

    jobs = len(kiosk.app.core.printer.jobs())
    kiosk.tap(screen.ids.submit)
    assert kiosk.until(lambda: screen.state == "done")
    code = screen.receipt_rows[0]["code"]
    assert code.startswith("000.00.13.H26-") and not screen.done.offline
    assert stored_delivery(kiosk, code) == (("0987654321", 1, "post", NEW_ADDRESS), ["received"])
    spool = kiosk.app.core.config.data_dir / "backend" / SIM_DIR_NAME  # the embedded backend sends it too
    sent = kiosk.until(lambda: [m for m in read_simulated(spool) if code in m["text"]])
    assert sent[0]["phone"] == "0987654321"

    assert kiosk.until(lambda: len(kiosk.app.core.printer.jobs()) == jobs + 1)
    receipt = kiosk.app.core.printer.jobs()[-1].read_bytes()
    text = " ".join(item.text for item in printed_items(receipt, printer_profile(kiosk.app.core.config))
                    if item.kind == "text")
    assert "SMS: 098****321" in text and "0987654321" not in text  # lines with diacritics print as raster here:
    (ARTIFACTS / "receipts").mkdir(parents=True, exist_ok=True)  # the paper as printed, to be looked at
    (ARTIFACTS / "receipts" / "filing-receipt-kiosk-post-sms.png").write_bytes(
        preview_png(receipt, printer_profile(kiosk.app.core.config)))
    kiosk.tap(screen.ids.finish)
    assert kiosk.screen.name == "home" and kiosk.app.text_scale == 1.0
    assert kiosk.app.core.filing.delivery_now().method == "counter", "the next citizen starts from the default"
