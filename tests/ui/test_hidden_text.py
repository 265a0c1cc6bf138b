"""Labels on hidden screens render a language switch when their screen shows, not while it is hidden."""

from __future__ import annotations

from tests.support import assert_not_blank


def labels(screen):
    from kivy.uix.label import Label

    return [w for w in screen.walk() if isinstance(w, Label) and w.text]


def test_a_hidden_screen_renders_the_new_language_when_it_shows(kiosk):
    app = kiosk.app
    survey = app.screen("survey")  # built, not shown
    kiosk.frames(3)
    before = {label: (label.text, tuple(label.texture_size)) for label in labels(survey)}
    kiosk.tap(kiosk.screen.ids.language)
    kiosk.frames(3)
    changed = [label for label, (text, _size) in before.items() if label.text != text]
    assert app.lang == "en" and changed
    assert all(tuple(label.texture_size) == before[label][1] for label in changed)  # not rendered while unseen
    app.go("survey")
    kiosk.frames(2)
    resized = [label for label in changed if tuple(label.texture_size) != before[label][1]]
    assert len(resized) >= len(changed) // 2  # the English text's textures (a few may measure the same)
    assert_not_blank(kiosk.screenshot("survey-en-after-hidden-switch"))
    app.go_home()
    kiosk.frames(2)
    assert app.lang == "vi"
