"""The on-screen keyboard's layouts, kept apart from the widget so they can be read without starting Kivy.

Kivy reads its window settings when first imported: a test (or tool) that only needs the keys must not import
the widget module, or the kiosk's window would later open with Kivy's defaults.
"""

from __future__ import annotations

LAYOUTS: dict[str, list[str]] = {
    "telex": ["1234567890", "qwertyuiop", "asdfghjkl", "⇧zxcvbnm⌫", "␣"],
    "code": ["1234567890", "QWERTYUIOP", "ASDFGHJKL-", "ZXCVBNM.⌫", "␣"],
    "numeric": ["123", "456", "789", "/0⌫"],
}
SPECIAL = {"⇧": "shift", "⌫": "backspace", "␣": "space"}
WIDE = {"⇧": 1.5, "⌫": 1.5}  # their labels are words ("Chữ hoa", "Xoá"): a letter key's width would wrap them
