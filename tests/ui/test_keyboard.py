"""The on-screen keyboard widget: Telex typing through real key presses, code and numeric layouts."""

from __future__ import annotations

import pytest


@pytest.fixture
def keyboard(kiosk):
    from screens.keyboard import OnScreenKeyboard

    board = OnScreenKeyboard(mode="telex", size_hint=(1, None), height=600)
    kiosk.screen.add_widget(board)
    kiosk.frames(3)
    yield board
    kiosk.screen.remove_widget(board)


def keys(board):
    return {button.key: button for row in board.children for button in row.children}


def type_keys(kiosk, board, text):
    for char in text:
        kiosk.tap(keys(board)[{" ": "␣"}.get(char, char)])


def test_telex_typing_by_touch(kiosk, keyboard):
    type_keys(kiosk, keyboard, "nguyeenx vawn an")
    assert keyboard.text == "nguyễn văn an"
    kiosk.tap(keys(keyboard)["⌫"])
    assert keyboard.text == "nguyễn văn a"


def test_shift_capitalises_one_letter(kiosk, keyboard):
    kiosk.tap(keys(keyboard)["⇧"])
    type_keys(kiosk, keyboard, "ddaij")
    assert keyboard.text == "Đại" and not keyboard.shift


def test_prefilled_text_is_not_reinterpreted_and_backspace_edits_it(kiosk, keyboard):
    keyboard.set_text("Lee")
    type_keys(kiosk, keyboard, " vawn")
    assert keyboard.text == "Lee văn"
    for _ in range(5):  # n, w (ă → a), a, v, space: one keystroke each
        kiosk.tap(keys(keyboard)["⌫"])
    assert keyboard.text == "Lee"
    kiosk.tap(keys(keyboard)["⌫"])
    assert keyboard.text == "Le"


@pytest.mark.parametrize(("mode", "typed", "expected"), [("code", "000.00.13-", "000.00.13-"), ("numeric", "0912", "0912")])
def test_code_and_numeric_layouts_type_plainly(kiosk, keyboard, mode, typed, expected):
    keyboard.mode = mode
    kiosk.frames(2)
    type_keys(kiosk, keyboard, typed)
    assert keyboard.text == expected


def test_a_mode_met_again_shows_the_same_keys_relabelled_in_the_citizens_language(kiosk, keyboard):
    telex = keys(keyboard)
    keyboard.mode = "numeric"
    kiosk.frames(2)
    assert set(keys(keyboard)) == set("1234567890/⌫")
    kiosk.app.lang = "en"
    keyboard.mode = "telex"
    kiosk.frames(2)
    again = keys(keyboard)
    assert all(again[key] is button for key, button in telex.items())  # kept, not built again
    assert again["⌫"].text == kiosk.app.tr("keyboard.backspace", "en") != kiosk.app.tr("keyboard.backspace", "vi")
    kiosk.app.lang = "vi"
    kiosk.frames(1)
    assert again["⇧"].text == kiosk.app.tr("keyboard.shift", "vi")
    type_keys(kiosk, keyboard, "ddaij")
    assert keyboard.text == "đại"
