"""Vietnamese Telex input, as UniKey users type it: aa→â aw→ă ee→ê oo→ô ow→ơ uw/w→ư dd→đ, tones s f r x j, z.

Each word is rebuilt from its keystrokes on every key, so a modifier or tone typed late ("vieejt", "huowng")
lands where it belongs, and tones follow the modern placement (hoà, khoẻ, thuý; hoàng, thuận with a final
consonant; on the marked vowel of ươ/uô/iê). Pressing a modifier twice undoes it and types the key ("aaa" → "aa",
"ass" → "as"); after that the word is taken literally. A word that stops looking like a Vietnamese syllable
("hello" is fine, "class" or "email" are not) is restored to exactly the keys typed, like UniKey's spell check.
Output is always NFC.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

TONES = {"s": "\u0301", "f": "\u0300", "r": "\u0309", "x": "\u0303", "j": "\u0323"}
VOWELS = set("aăâeêioôơuưy")
FAMILY = {"a": "aăâ", "e": "eê", "o": "oôơ"}  # the vowels a hat key changes
HATTED = {"a": "â", "e": "ê", "o": "ô"}
BREVE_HORN = {"a": "ă", "â": "ă", "o": "ơ", "ô": "ơ", "u": "ư"}
UNDO_W = {"ă": "a", "ơ": "o", "ư": "u"}
MARKED = set("ăâêôơư")
INITIALS = {"", "b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n", "ng", "ngh", "nh", "p",
            "ph", "q", "qu", "r", "s", "t", "th", "tr", "v", "x"}
FINALS = {"", "c", "ch", "m", "n", "ng", "nh", "p", "t"}
MODERN_SECOND = {"oa", "oe", "uy"}


@dataclass
class _Word:
    keys: list[str] = field(default_factory=list)
    chars: list[str] = field(default_factory=list)  # composed letters without tone, in the case typed
    tone: str | None = None
    mode: str = "telex"  # telex | literal (after an undo) | raw (not Vietnamese: show the keys)

    # -- structure ---------------------------------------------------------------------------------------
    def _lower(self) -> list[str]:
        return [c.lower() for c in self.chars]

    def _split(self) -> tuple[int, int]:
        """(start, end) of the vowel nucleus in ``chars``, after qu/gi initials."""
        low = self._lower()
        start = next((i for i, c in enumerate(low) if c in VOWELS), len(low))
        if start == 1 and low[0] == "q" and start < len(low) and low[start] == "u":
            start += 1
        elif start == 1 and low[0] == "g" and start + 1 < len(low) and low[1] == "i" and low[2] in VOWELS:
            start += 1
        end = start
        while end < len(low) and low[end] in VOWELS:
            end += 1
        return start, end

    def plausible(self) -> bool:
        low = self._lower()
        start, end = self._split()
        initial, final = "".join(low[:start]), "".join(low[end:])
        if start == end:  # no vowel yet: any prefix of an initial consonant
            return any(i.startswith(initial) for i in INITIALS)
        return initial in INITIALS and any(f.startswith(final) for f in FINALS) and end - start <= 3

    def _tone_index(self) -> int | None:
        start, end = self._split()
        if start == end:
            return None
        low = self._lower()
        nucleus = low[start:end]
        marked = [i for i, c in enumerate(nucleus) if c in MARKED]
        if marked:
            return start + marked[-1]
        if len(nucleus) == 1:
            return start
        if len(nucleus) == 3:
            return start + 1
        has_final = end < len(low)
        if has_final or "".join(nucleus) in MODERN_SECOND:
            return start + 1
        return start

    # -- keys ------------------------------------------------------------------------------------------------
    def press(self, key: str) -> None:
        self.keys.append(key)
        if self.mode != "telex":
            self.chars.append(key)
            return
        before = (list(self.chars), self.tone)
        if not self._apply(key):
            self.chars.append(key)
        if self.mode == "telex" and not self.plausible():
            self.mode = "raw"
            self.chars, self.tone = list(self.keys), None
        elif self.mode == "raw":
            self.chars, self.tone = before[0] + [key], before[1]

    def _apply(self, key: str) -> bool:
        """Apply ``key`` as a Telex command; False when it is just a letter to append."""
        low = key.lower()
        start, end = self._split()
        nucleus = range(start, end)
        if low in TONES and start < end:
            if self.tone == low:
                return self._undo(lambda: setattr(self, "tone", None), key)
            self.tone = low
            return True
        if low == "z" and self.tone:
            self.tone = None
            return True
        if low == "d" and self.chars and self.chars[0].lower() in "dđ":
            if self.chars[0].lower() == "đ":
                return self._undo(lambda: self._set(0, "d"), key)
            self._set(0, "đ")
            return True
        if low in FAMILY:
            for i in reversed(nucleus):
                c = self.chars[i].lower()
                if c in FAMILY[low]:
                    if c == HATTED[low]:
                        return self._undo(lambda i=i: self._set(i, low), key)
                    self._set(i, HATTED[low])
                    return True
            return False
        if low == "w":
            return self._apply_w(key, start, end)
        return False

    def _apply_w(self, key: str, start: int, end: int) -> bool:
        low = self._lower()
        pair = next((i for i in range(start, end - 1) if low[i] == "u" and low[i + 1] == "o"), None)
        if pair is not None:
            self._set(pair, "ư")
            self._set(pair + 1, "ơ")
            return True
        for i in reversed(range(start, end)):
            c = low[i]
            if c in UNDO_W:  # w again undoes the breve/horn
                if c == "ư" and not any(k.lower() == "u" for k in self.keys):  # "ww" → "w"
                    self.chars[i] = key
                    self.mode = "literal"
                    return True
                if c == "ơ" and i > start and low[i - 1] == "ư":
                    self._set(i - 1, "u")
                return self._undo(lambda i=i, c=c: self._set(i, UNDO_W[c]), key)
            if c in BREVE_HORN:
                self._set(i, BREVE_HORN[c])
                return True
        if start == end:  # a bare w is ư: "w" → "ư", "nhw" → "như"
            self.chars.append("Ư" if key.isupper() else "ư")
            return True
        return False

    def _set(self, index: int, lower: str) -> None:
        self.chars[index] = lower.upper() if self.chars[index].isupper() else lower

    def _undo(self, revert, key: str) -> bool:
        revert()
        self.chars.append(key)
        self.mode = "literal"
        return True

    # -- output -----------------------------------------------------------------------------------------------
    def text(self) -> str:
        chars = list(self.chars)
        low = [c.lower() for c in chars]
        start, end = self._split() if self.mode != "raw" else (0, 0)
        if end - start >= 2 and low[end - 2 : end] == ["ư", "ơ"] and end == len(low):
            chars[end - 2] = "U" if chars[end - 2].isupper() else "u"  # no syllable ends in ươ: thuở, huơ
        if self.tone and self.mode != "raw":
            index = self._tone_index()
            if index is not None:
                chars[index] = unicodedata.normalize("NFC", chars[index] + TONES[self.tone])
        return unicodedata.normalize("NFC", "".join(chars))


class TelexEngine:
    """Stateful engine for the on-screen keyboard: ``press`` keys, ``backspace``, read ``text``."""

    def __init__(self) -> None:
        self._done = ""
        self._word = _Word()

    @property
    def text(self) -> str:
        return unicodedata.normalize("NFC", self._done + self._word.text())

    def press(self, key: str) -> None:
        for char in key:
            if char.isascii() and char.isalpha():
                self._word.press(char)
            else:
                self._done += self._word.text() + char
                self._word = _Word()

    def backspace(self) -> None:
        """Undo the last keystroke of the current word, or delete the last character before it."""
        if self._word.keys:
            keys = self._word.keys[:-1]
            self._word = _Word()
            for key in keys:
                self._word.press(key)
        else:
            self._done = self._done[:-1]

    def clear(self) -> None:
        self._done = ""
        self._word = _Word()


def telex_to_text(keystrokes: str) -> str:
    engine = TelexEngine()
    engine.press(keystrokes)
    return engine.text
