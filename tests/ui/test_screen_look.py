"""A language or large-text switch reaches only the screen that shows; every other built screen takes it as it goes
up, so its first frame is already in the new language and size (screens/look.py). The real app, the switches
touched on the home screen, each screen's first frame read in its flip.
"""

from __future__ import annotations

import pytest

from kiosk.i18n import catalogue, tr

# built before the switches; each has a title bar whose title says which screen it is
TITLES = {"queue": "queue.title", "lookup": "lookup.title", "survey": "survey.title", "submit": "filing.title",
          "pin": "pin.title"}
LARGE = 1.3  # screens.app.LARGE_TEXT_SCALE (imported in the tests: Kivy starts with the UI fixture)


def vietnamese_only() -> set[str]:
    """The kiosk's own texts that differ in English: none of them may show once the citizen chose English."""
    english = catalogue("en")
    return {text for key, text in catalogue("vi").items() if text and text != english.get(key)}


def first_frame_of(kiosk, name):
    """Open screen ``name`` and return what its labels held when the first frame showing it was flipped:
    label → (text, font size, texture rendered from that text and size)."""
    from kivy.core.window import Window
    from kivy.uix.label import Label

    seen = {}

    def look(*_args):
        Window.unbind(on_flip=look)
        screen = kiosk.app.manager.current_screen
        assert screen.name == name, f"the first frame after opening {name} showed {screen.name}"
        for widget in screen.walk(restrict=True):
            if isinstance(widget, Label):
                fresh = not widget._trigger_texture.is_triggered and "_texture_put_off" not in widget.__dict__
                seen[widget] = (widget.text, widget.font_size, fresh)

    Window.bind(on_flip=look)
    kiosk.app.go(name)
    kiosk.until(lambda: seen, f"the first frame of {name}")
    return seen


def assert_shows(seen, name, lang):
    texts = {text for text, _size, _fresh in seen.values()}
    assert tr(TITLES[name], lang) in texts, f"{name}'s title is not in {lang} at its first frame"
    stale = [(text, size) for text, size, fresh in seen.values() if not fresh]
    assert not stale, f"{name}: labels drawn from old textures at the first frame: {stale}"
    if lang == "en":
        left = texts & vietnamese_only()
        assert not left, f"{name} still shows Vietnamese at its first frame: {left}"


def size_ratios(seen, standard):
    """Each label's font size over its size in standard text (labels both frames showed; the camera hint fits
    its picture, so it is left out)."""
    return [size / standard[label][1] for label, (_text, size, _fresh) in seen.items()
            if label in standard and standard[label][1] and type(label).__name__ != "PreviewHint"]


def switch_on_home(kiosk):
    """English and large text, by touches on the home screen's two switches."""
    home = kiosk.app.manager.get_screen("home")
    kiosk.tap(home.ids.language)
    kiosk.tap(home.ids.a11y)
    kiosk.until(lambda: kiosk.app.lang == "en" and kiosk.app.text_scale > 1, "English and large text")


def test_hidden_screens_take_a_switch_before_their_first_frame(kiosk):
    app = kiosk.app
    standard = {}
    for name in TITLES:  # every screen built and seen once in Vietnamese, standard text
        standard[name] = first_frame_of(kiosk, name)
        assert_shows(standard[name], name, "vi")
        app.go_home()
        kiosk.frames(2)

    def looks():
        return {other: (app.screen(other).look.lang, app.screen(other).look.fs) for other in TITLES}

    for name in TITLES:
        hidden = looks()
        switch_on_home(kiosk)
        home = app.manager.get_screen("home")
        assert home.ids.queue.title == tr("home.take_number", "en")  # the screen that shows follows at once
        assert looks() == hidden, "hidden screens followed the switch"
        seen = first_frame_of(kiosk, name)
        assert_shows(seen, name, "en")
        ratios = size_ratios(seen, standard[name])
        assert ratios and all(r == pytest.approx(1.0) or r == pytest.approx(LARGE) for r in ratios), ratios
        assert any(r == pytest.approx(LARGE) for r in ratios), f"no text on {name} grew"
        if name != list(TITLES)[-1]:
            app.go_home()  # the session ends: Vietnamese and standard text for the next citizen
            kiosk.frames(2)

    # the last screen is left in English and large text until the kiosk resets itself for the next citizen
    kiosk.clock.advance(app.core.config.session.idle_warning_s + app.core.config.session.idle_reset_s + 1)
    kiosk.until(lambda: kiosk.screen.name == "home" and app.lang == "vi" and app.text_scale == 1.0, "the reset")
    for name in TITLES:  # each was shown in English and large text: each comes back in Vietnamese, standard text
        seen = first_frame_of(kiosk, name)
        assert_shows(seen, name, "vi")
        assert all(r == pytest.approx(1.0) for r in size_ratios(seen, standard[name]))
        app.go_home()
        kiosk.frames(2)


def test_a_screen_built_in_english_and_large_text_starts_in_them(kiosk):
    from kivy.lang import Builder

    from screens.look import LookScreen

    class ProbeScreen(LookScreen):
        pass

    Builder.load_string("""
<ProbeScreen>:
    Label:
        text: app.tr("home.help", look.lang)
        font_size: look.fs * 40
""", filename="probe_screen.kv")
    try:
        switch_on_home(kiosk)
        probe = ProbeScreen(name="probe")  # built while English and large text are on, never shown
        label = probe.children[0]
        assert label.text == tr("home.help", "en")
        assert label.font_size == pytest.approx(kiosk.app.u * LARGE * 40)
    finally:
        Builder.unload_file("probe_screen.kv")
        kiosk.app.go_home()
        kiosk.frames(2)
