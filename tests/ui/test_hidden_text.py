"""Labels on hidden screens render a language switch when their screen shows or the kiosk is idle, not at once."""

from __future__ import annotations

from tests.support import assert_not_blank


def labels(screen):
    from kivy.uix.label import Label

    return [w for w in screen.walk() if isinstance(w, Label) and w.text]


def drawn(label):
    """What the label's texture holds (its pixels, read back from GL)."""
    return None if label.texture is None else (tuple(label.texture.size), hash(label.texture.pixels))


def shown_then_hidden(kiosk, name):
    """The screen, shown once (its labels drawn) and then hidden behind the home screen."""
    kiosk.app.go(name)
    kiosk.frames(2)
    kiosk.app.go_home()
    kiosk.frames(2)
    return kiosk.app.screen(name)


def test_a_hidden_screen_renders_the_new_language_when_it_shows(kiosk, monkeypatch):
    from screens import hidden_text

    monkeypatch.setattr(hidden_text, "_catch_up", lambda _render: None)  # no idle catch-up in this test
    app = kiosk.app
    survey = shown_then_hidden(kiosk, "survey")
    before = {label: (label.text, drawn(label)) for label in labels(survey)}
    kiosk.tap(kiosk.screen.ids.language)
    kiosk.frames(3)
    changed = [label for label, (text, _pixels) in before.items() if label.text != text]
    assert app.lang == "en" and changed
    assert all(drawn(label) == before[label][1] for label in changed)  # not rendered while unseen
    app.go("survey")
    kiosk.frames(2)
    assert all(drawn(label) != before[label][1] for label in changed)  # the English text's textures
    assert_not_blank(kiosk.screenshot("survey-en-after-hidden-switch"))
    app.go_home()
    kiosk.frames(2)
    assert app.lang == "vi"


def test_hidden_screens_catch_up_while_the_kiosk_is_idle(kiosk, monkeypatch):
    from screens import hidden_text

    monkeypatch.setattr(hidden_text, "CATCH_UP_PER_FRAME", 5)  # several frames' worth
    survey = shown_then_hidden(kiosk, "survey")
    before = {label: drawn(label) for label in labels(survey)}
    kiosk.app._set_accessibility(large_text=True, high_contrast=False)
    kiosk.frames(1)
    assert all(drawn(label) == pixels for label, pixels in before.items())  # put off
    kiosk.until(lambda: not any(hidden_text._STALE in label.__dict__ for label in before),
                "the hidden survey's labels rendered without being shown")
    larger = [label for label, pixels in before.items() if drawn(label) != pixels]
    assert len(larger) >= len(before) // 2, f"{len(larger)} of {len(before)} labels redrawn in large text"
    assert kiosk.app.manager.current == "home"
    kiosk.app._set_accessibility(large_text=False, high_contrast=False)
    kiosk.frames(2)
