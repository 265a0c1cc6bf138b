"""Survey by touch: pick a face and reasons, send → stored locally, thank-you, then home."""

from __future__ import annotations

from tests.support import assert_not_blank


def test_rating_with_reasons_is_stored_and_the_kiosk_thanks_and_goes_home(kiosk, monkeypatch):
    import screens.survey

    monkeypatch.setattr(screens.survey, "THANKS_SECONDS", 0.2)
    kiosk.tap(kiosk.screen.ids.survey)
    survey = kiosk.screen
    assert survey.name == "survey"
    faces = list(reversed(survey.ids.faces.children))
    kiosk.tap(faces[3])
    toggles = {w.reason: w for w in survey.ids.reasons.children}
    kiosk.tap(toggles["wait_time"])
    kiosk.tap(toggles["kiosk_easy"])
    assert survey.score == 4 and survey.chosen == ["wait_time", "kiosk_easy"]
    assert_not_blank(kiosk.screenshot("survey"))
    before = len(kiosk.app.core.survey.undelivered())
    kiosk.tap(survey.ids.send)
    kiosk.until(lambda: survey.thanked, "the thank-you")  # shown once the answer is stored (on a worker)
    rows = kiosk.app.core.survey.undelivered()
    assert len(rows) == before + 1
    assert rows[-1]["score"] == 4 and rows[-1]["reasons"] == '["kiosk_easy", "wait_time"]'
    assert survey.thanks == "Cảm ơn bạn đã góp ý!"
    kiosk.until(lambda: kiosk.screen.name == "home", "the way home after the thanks")


def test_send_without_a_score_stores_nothing(kiosk):
    kiosk.tap(kiosk.screen.ids.survey)
    before = len(kiosk.app.core.survey.undelivered())
    kiosk.tap(kiosk.screen.ids.send)
    assert len(kiosk.app.core.survey.undelivered()) == before
    assert kiosk.screen.name == "survey" and not kiosk.screen.thanked


def test_rating_right_after_a_ticket_is_filed_against_its_service(kiosk, monkeypatch):
    import screens.survey

    monkeypatch.setattr(screens.survey, "THANKS_SECONDS", 0.2)
    from screens.queue import take_ticket

    assert take_ticket("CT", None, lambda message: None)
    kiosk.until(lambda: kiosk.screen.name == "ticket", "the ticket screen")
    kiosk.tap(kiosk.screen.ids.rate)
    survey = kiosk.screen
    assert survey.name == "survey" and (survey.kind, survey.service) == ("ticket", "CT")
    kiosk.tap(list(reversed(survey.ids.faces.children))[4])
    kiosk.tap(survey.ids.send)
    kiosk.until(lambda: survey.thanked, "the thank-you")
    last = kiosk.app.core.survey.undelivered()[-1]
    assert (last["score"], last["kind"], last["service"]) == (5, "ticket", "CT")
    kiosk.until(lambda: kiosk.screen.name == "home", "the way home after the thanks")
    kiosk.tap(kiosk.screen.ids.survey)  # from home: the centre as a whole again
    assert (kiosk.screen.kind, kiosk.screen.service) == ("standalone", "")
