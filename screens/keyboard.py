"""On-screen keyboard: Vietnamese Telex for names and addresses, a code layout for dossier codes, a number pad.

The widget only renders keys and forwards presses; composing Vietnamese is the Telex engine's job
(:mod:`kiosk.telex`). ``text`` is always NFC. Keys are large (≥ 15 mm on a 21.5" portrait screen).
"""

from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty, OptionProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.i18n import tr
from kiosk.telex import TelexEngine
from screens.keyboard_layouts import LAYOUTS, SPECIAL, WIDE
from screens.widgets import KioskButton

MAX_LENGTH = 200


class KeyButton(KioskButton):
    key = StringProperty("")


class OnScreenKeyboard(BoxLayout):
    mode = OptionProperty("telex", options=list(LAYOUTS))
    text = StringProperty("")
    shift = BooleanProperty(False)

    def __init__(self, **kwargs: object) -> None:
        self._engine = TelexEngine()
        self._before = ""
        super().__init__(**kwargs)
        self.orientation = "vertical"
        self.size_hint_y = None  # as tall as its rows of full-size keys, never squeezed into overlapping keys
        self.bind(minimum_height=self.setter("height"))
        self._build()

    def on_mode(self, *_args: object) -> None:
        self._build()

    def _build(self) -> None:
        self.clear_widgets()
        for row in LAYOUTS[self.mode]:
            line = BoxLayout(spacing=self.spacing, size_hint_y=None)
            for key in row:
                button = KeyButton(key=key, text=self._label(key), size_hint_x=WIDE.get(key, 1.0))
                button.bind(on_release=lambda b: self.press(b.key))
                line.add_widget(button)
            line.height = button.height
            button.bind(height=line.setter("height"))
            self.add_widget(line)

    def _label(self, key: str) -> str:
        """Special keys are shown as words: the symbols ⌫ ␣ ⇧ are not in the kiosk font and mean little to many."""
        return tr(f"keyboard.{SPECIAL[key]}", App.get_running_app().lang) if key in SPECIAL else key

    def set_text(self, text: str) -> None:
        """Start from existing text (an autofilled field the citizen corrects); also used to clear.

        The text is kept as typed-before, not replayed through Telex, so "Lee" stays "Lee" and does not become "Lê".
        """
        self._engine.clear()
        self._before = text
        self.text = text

    def press(self, key: str) -> None:
        action = SPECIAL.get(key)
        if action == "shift":
            self.shift = not self.shift
            return
        if action == "backspace":
            if self.mode == "telex" and self._engine.text:
                self._engine.backspace()
            else:
                self._before = self.text[:-1]
                self._engine.clear()
            self.text = self._before + self._engine.text
            return
        char = " " if action == "space" else (key.upper() if self.shift else key)
        if len(self.text) >= MAX_LENGTH:
            return
        if self.mode == "telex":
            self._engine.press(char)
            self.shift = False
        else:
            self._before += char
        self.text = self._before + self._engine.text
