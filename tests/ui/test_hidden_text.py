"""Labels nobody sees (the idle overlay out of the window) render a switch when they show or the kiosk is idle, not at
once. Hidden screens do not even change their text: tests/ui/test_screen_look.py."""

from __future__ import annotations

from tests.support import assert_not_blank


def labels(screen):
    from kivy.uix.label import Label

    return [w for w in screen.walk() if isinstance(w, Label) and w.text]


def drawn(label):
    """What the label's texture holds (its pixels, read back from GL)."""
    return None if label.texture is None else (tuple(label.texture.size), hash(label.texture.pixels))


def overlay_labels(kiosk):
    """The idle overlay's labels: out of the window until the citizen idles, on no screen."""
    overlay = kiosk.app.idle_overlay
    assert overlay.parent is None, "the idle overlay shows"
    return labels(overlay)


def test_the_idle_overlay_renders_a_language_switch_when_it_shows(kiosk, monkeypatch):
    from screens import hidden_text

    monkeypatch.setattr(hidden_text, "_catch_up", lambda _render: None)  # no idle catch-up in this test
    app = kiosk.app
    app.go("pin")  # a session whose language the reset will not undo before the overlay shows
    kiosk.frames(2)
    app.go_home()
    kiosk.frames(2)
    before = {label: (label.text, drawn(label)) for label in overlay_labels(kiosk)}
    kiosk.tap(kiosk.screen.ids.language)
    kiosk.frames(3)
    changed = [label for label, (text, _pixels) in before.items() if label.text != text]
    assert app.lang == "en" and changed  # the overlay follows the app: its text is English
    assert all(drawn(label) == before[label][1] for label in changed)  # not rendered while out of the window
    app.go("pin")
    kiosk.clock.advance(app.core.config.session.idle_warning_s + 1)
    kiosk.until(lambda: app.idle_overlay.opacity == 1, "the idle warning")
    kiosk.frames(1)
    assert all(drawn(label) != before[label][1] for label in changed)  # the English text's textures
    assert_not_blank(kiosk.screenshot("idle-warning-en"))
    app.go_home()
    kiosk.frames(2)
    assert app.lang == "vi"


def test_put_off_text_catches_up_while_the_kiosk_is_idle(kiosk, monkeypatch):
    from screens import hidden_text

    monkeypatch.setattr(hidden_text, "CATCH_UP_PER_FRAME", 2)  # several frames' worth
    before = {label: drawn(label) for label in overlay_labels(kiosk)}
    kiosk.app._set_accessibility(large_text=True, high_contrast=False)
    kiosk.frames(1)
    assert all(drawn(label) == pixels for label, pixels in before.items())  # put off
    kiosk.until(lambda: not any(hidden_text._STALE in label.__dict__ for label in before),
                "the idle overlay's labels rendered without being shown")
    larger = [label for label, pixels in before.items() if drawn(label) != pixels]
    assert len(larger) >= len(before) // 2, f"{len(larger)} of {len(before)} labels redrawn in large text"
    assert kiosk.app.idle_overlay.parent is None
    kiosk.app._set_accessibility(large_text=False, high_contrast=False)
    kiosk.frames(2)
