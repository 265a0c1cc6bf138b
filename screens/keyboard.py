"""On-screen keyboard: Vietnamese Telex for names and addresses, a code layout for dossier codes, a number pad.

The widget only renders keys and forwards presses; composing Vietnamese is the Telex engine's job
(:mod:`kiosk.telex`). ``text`` is always NFC. Keys are large (≥ 15 mm on a 21.5" portrait screen).
"""

from __future__ import annotations

from kivy.properties import BooleanProperty, OptionProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.i18n import tr
from kiosk.telex import TelexEngine
from screens.keyboard_layouts import LAYOUTS, SPECIAL, WIDE
from screens.look import building, current_look
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
        self._rows: dict[str, list[BoxLayout]] = {}  # mode → its rows of keys, built once
        self._look = current_look()  # its screen's (screens/look.py): keys built later follow it too
        super().__init__(**kwargs)
        self.orientation = "vertical"
        self.size_hint_y = None  # as tall as its rows of full-size keys, never squeezed into overlapping keys
        self.bind(minimum_height=self.setter("height"))
        self._look.bind(lang=self._relabel)
        self._show_rows()

    def on_mode(self, *_args: object) -> None:
        self._show_rows()

    def _show_rows(self) -> None:
        """Put up the mode's rows, built on its first use and kept: a form moving between a name and a date
        swaps rows instead of building some forty buttons (each a kv rule and a label texture) again."""
        if self.mode not in self._rows:
            with building(self._look):
                self._rows[self.mode] = [self._row(keys) for keys in LAYOUTS[self.mode]]
        self.clear_widgets()
        for line in self._rows[self.mode]:
            self.add_widget(line)

    def _row(self, keys: str) -> BoxLayout:
        line = BoxLayout(spacing=self.spacing, size_hint_y=None)
        for key in keys:
            button = KeyButton(key=key, text=self._label(key), size_hint_x=WIDE.get(key, 1.0))
            button.bind(on_release=lambda b: self.press(b.key))
            line.add_widget(button)
        line.height = button.height
        button.bind(height=line.setter("height"))
        return line

    def _relabel(self, *_args: object) -> None:
        """The special keys are words in the citizen's language; the letters stay."""
        for rows in self._rows.values():
            for line in rows:
                for button in line.children:
                    if button.key in SPECIAL:
                        button.text = self._label(button.key)

    def _label(self, key: str) -> str:
        """Special keys are shown as words: the symbols ⌫ ␣ ⇧ are not in the kiosk font and mean little to many."""
        return tr(f"keyboard.{SPECIAL[key]}", self._look.lang) if key in SPECIAL else key

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
