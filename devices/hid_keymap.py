"""Turn the key events of a USB keyboard-wedge scanner back into the text it read.

A scanner in keyboard mode does not send characters: it "presses" the keys that would type them on the keyboard
layout it is set to (US unless configured otherwise), holding Shift — or AltGr on European layouts — as needed.
We read those key events with evdev and map them through the same layout. Enter, keypad Enter and Tab end a code.

Only characters that exist on the layout can travel this way. Vietnamese letters with diacritics (ễ, ơ, đ …) are on
none of them, so a chip-ID card's QR (``…|Nguyễn Văn An|…``) cannot be read intact over keyboard wedge: the
scanner drops or replaces those characters before we see a key. Such scanners must be switched to USB-CDC
(virtual serial) mode and used as ``serial:``. Dead keys (``^`` and ``¨`` on AZERTY, ``´``/``^`` on QWERTZ) are
taken literally, not composed, since scanners do not press a letter after them.

Keys with no meaning here (function keys, Ctrl/Alt combinations) are dropped. A code that never ends is cut at
``MAX_PAYLOAD`` bytes like the serial driver cuts it.
"""

from __future__ import annotations

from evdev import InputEvent
from evdev import ecodes as e

from devices.sim.scanner import MAX_PAYLOAD

Levels = tuple[str, ...]  # (plain, with Shift[, with AltGr])

_US: dict[int, Levels] = {
    **{getattr(e, f"KEY_{letter.upper()}"): (letter, letter.upper()) for letter in "abcdefghijklmnopqrstuvwxyz"},
    e.KEY_1: ("1", "!"), e.KEY_2: ("2", "@"), e.KEY_3: ("3", "#"), e.KEY_4: ("4", "$"), e.KEY_5: ("5", "%"),
    e.KEY_6: ("6", "^"), e.KEY_7: ("7", "&"), e.KEY_8: ("8", "*"), e.KEY_9: ("9", "("), e.KEY_0: ("0", ")"),
    e.KEY_MINUS: ("-", "_"), e.KEY_EQUAL: ("=", "+"), e.KEY_LEFTBRACE: ("[", "{"), e.KEY_RIGHTBRACE: ("]", "}"),
    e.KEY_SEMICOLON: (";", ":"), e.KEY_APOSTROPHE: ("'", '"'), e.KEY_GRAVE: ("`", "~"),
    e.KEY_BACKSLASH: ("\\", "|"), e.KEY_COMMA: (",", "<"), e.KEY_DOT: (".", ">"), e.KEY_SLASH: ("/", "?"),
    e.KEY_SPACE: (" ", " "),
}
_KEYPAD: dict[int, Levels] = {  # the same on every layout, with Num Lock on (scanners assume it)
    **{getattr(e, f"KEY_KP{digit}"): (str(digit), str(digit)) for digit in range(10)},
    e.KEY_KPDOT: (".", "."), e.KEY_KPMINUS: ("-", "-"), e.KEY_KPPLUS: ("+", "+"),
    e.KEY_KPASTERISK: ("*", "*"), e.KEY_KPSLASH: ("/", "/"),
}
_DE: dict[int, Levels] = {  # QWERTZ: the keys that differ from US
    e.KEY_Y: ("z", "Z"), e.KEY_Z: ("y", "Y"), e.KEY_Q: ("q", "Q", "@"), e.KEY_E: ("e", "E", "€"),
    e.KEY_M: ("m", "M", "µ"),
    e.KEY_1: ("1", "!"), e.KEY_2: ("2", '"', "²"), e.KEY_3: ("3", "§", "³"), e.KEY_4: ("4", "$"),
    e.KEY_5: ("5", "%"), e.KEY_6: ("6", "&"), e.KEY_7: ("7", "/", "{"), e.KEY_8: ("8", "(", "["),
    e.KEY_9: ("9", ")", "]"), e.KEY_0: ("0", "=", "}"),
    e.KEY_MINUS: ("ß", "?", "\\"), e.KEY_EQUAL: ("´", "`"), e.KEY_LEFTBRACE: ("ü", "Ü"),
    e.KEY_RIGHTBRACE: ("+", "*", "~"), e.KEY_SEMICOLON: ("ö", "Ö"), e.KEY_APOSTROPHE: ("ä", "Ä"),
    e.KEY_GRAVE: ("^", "°"), e.KEY_BACKSLASH: ("#", "'"), e.KEY_COMMA: (",", ";"), e.KEY_DOT: (".", ":"),
    e.KEY_SLASH: ("-", "_"), e.KEY_102ND: ("<", ">", "|"),
}
_FR: dict[int, Levels] = {  # AZERTY: digits need Shift, "|" and "@" need AltGr
    e.KEY_Q: ("a", "A"), e.KEY_A: ("q", "Q"), e.KEY_W: ("z", "Z"), e.KEY_Z: ("w", "W"),
    e.KEY_SEMICOLON: ("m", "M"), e.KEY_M: (",", "?"), e.KEY_E: ("e", "E", "€"),
    e.KEY_1: ("&", "1"), e.KEY_2: ("é", "2", "~"), e.KEY_3: ('"', "3", "#"), e.KEY_4: ("'", "4", "{"),
    e.KEY_5: ("(", "5", "["), e.KEY_6: ("-", "6", "|"), e.KEY_7: ("è", "7", "`"), e.KEY_8: ("_", "8", "\\"),
    e.KEY_9: ("ç", "9", "^"), e.KEY_0: ("à", "0", "@"), e.KEY_MINUS: (")", "°", "]"),
    e.KEY_EQUAL: ("=", "+", "}"), e.KEY_LEFTBRACE: ("^", "¨"), e.KEY_RIGHTBRACE: ("$", "£", "¤"),
    e.KEY_APOSTROPHE: ("ù", "%"), e.KEY_BACKSLASH: ("*", "µ"), e.KEY_COMMA: (";", "."),
    e.KEY_DOT: (":", "/"), e.KEY_SLASH: ("!", "§"), e.KEY_102ND: ("<", ">"), e.KEY_GRAVE: ("²", "²"),
}
LAYOUTS: dict[str, dict[int, Levels]] = {
    "us": {**_US, **_KEYPAD},
    "de": {**_US, **_DE, **_KEYPAD},
    "fr": {**_US, **_FR, **_KEYPAD},
}
TERMINATORS = frozenset({e.KEY_ENTER, e.KEY_KPENTER, e.KEY_TAB})
_SHIFT = frozenset({e.KEY_LEFTSHIFT, e.KEY_RIGHTSHIFT})
_ALTGR = frozenset({e.KEY_RIGHTALT})
_OTHER_MODIFIERS = frozenset({e.KEY_LEFTCTRL, e.KEY_RIGHTCTRL, e.KEY_LEFTALT, e.KEY_LEFTMETA, e.KEY_RIGHTMETA})
KEY_UP, KEY_DOWN = 0, 1  # value 2 (auto-repeat) is ignored: a scanner never holds a key


class KeyDecoder:
    """Feed it every event of one device; it returns the UTF-8 bytes of a code when the code is complete."""

    def __init__(self, layout: str = "us") -> None:
        self._keys = LAYOUTS[layout]
        self._held: set[int] = set()
        self._caps = False
        self._chars: list[str] = []

    def feed(self, event: InputEvent) -> bytes | None:
        if event.type != e.EV_KEY or event.value not in (KEY_UP, KEY_DOWN):
            return None
        code = event.code
        if code in _SHIFT | _ALTGR | _OTHER_MODIFIERS:
            (self._held.add if event.value == KEY_DOWN else self._held.discard)(code)
            return None
        if event.value == KEY_UP:
            return None
        if code == e.KEY_CAPSLOCK:
            self._caps = not self._caps
            return None
        if code in TERMINATORS:
            return self._flush()
        char = self._char(code)
        if char:
            self._chars.append(char)
        return self._flush() if len(self._chars) >= MAX_PAYLOAD else None

    def _char(self, code: int) -> str | None:
        levels = self._keys.get(code)
        if levels is None or self._held & _OTHER_MODIFIERS:
            return None
        if self._held & _ALTGR:
            return levels[2] if len(levels) > 2 else None
        shifted = bool(self._held & _SHIFT)
        if self._caps and levels[0].isalpha() and levels[1] == levels[0].upper():
            shifted = not shifted
        return levels[1 if shifted else 0]

    def _flush(self) -> bytes | None:
        text, self._chars = "".join(self._chars), []
        return text.encode("utf-8")[:MAX_PAYLOAD] if text.strip() else None
