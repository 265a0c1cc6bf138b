"""The Telex engine: a table of what UniKey users type and get, plus properties of the output."""

from __future__ import annotations

import subprocess
import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.text import fold
from kiosk.telex import TelexEngine, telex_to_text
from tests.support import ROOT

VOWEL_TRANSFORMS = [("aa", "â"), ("aw", "ă"), ("ee", "ê"), ("oo", "ô"), ("ow", "ơ"), ("uw", "ư"), ("w", "ư"),
                    ("dd", "đ"), ("DD", "Đ"), ("Dd", "Đ"), ("AA", "Â"), ("Aw", "Ă"), ("OW", "Ơ"), ("UW", "Ư")]
TONE_ON = {"s": "\u0301", "f": "\u0300", "r": "\u0309", "x": "\u0303", "j": "\u0323"}


@pytest.mark.parametrize(("keys", "expected"), VOWEL_TRANSFORMS)
def test_vowel_and_d_transforms(keys, expected):
    assert telex_to_text(keys) == expected


@pytest.mark.parametrize("vowel", ["a", "aw", "aa", "e", "ee", "i", "o", "oo", "ow", "u", "uw", "y"])
@pytest.mark.parametrize("tone", list(TONE_ON))
def test_every_tone_on_every_vowel(vowel, tone):
    base = telex_to_text(vowel)
    assert telex_to_text(vowel + tone) == unicodedata.normalize("NFC", base + TONE_ON[tone])


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        # undo by pressing the same key again, z removes the tone
        ("aaa", "aa"), ("eee", "ee"), ("ooo", "oo"), ("aww", "aw"), ("oww", "ow"), ("uww", "uw"), ("ww", "w"),
        ("ddd", "dd"), ("ass", "as"), ("aff", "af"), ("arr", "ar"), ("axx", "ax"), ("ajj", "aj"),
        ("asz", "a"), ("z", "z"), ("asf", "à"), ("afs", "á"), ("vieetjz", "viêt"),
        # tone placement: modern style for oa/oe/uy without a final consonant
        ("hoaf", "hoà"), ("khoer", "khoẻ"), ("thuys", "thuý"), ("hoas", "hoá"), ("tuyf", "tuỳ"),
        ("hoangf", "hoàng"), ("toans", "toán"), ("thuaanj", "thuận"), ("khuyeens", "khuyến"),
        ("maif", "mài"), ("caos", "cáo"), ("muaf", "mùa"), ("kiaf", "kìa"), ("tuis", "túi"), ("ddaaus", "đấu"),
        ("nguoiwf", "người"), ("nguowif", "người"), ("nguwowif", "người"), ("duowcj", "dược"),
        ("dduowcj", "được"), ("huwowng", "hương"), ("huongw", "hương"), ("thuowr", "thuở"), ("muwa", "mưa"),
        ("muwaf", "mừa"), ("cuwus", "cứu"), ("hieeuj", "hiệu"), ("yeeus", "yếu"), ("khuyur", "khuỷu"),
        ("ngoaif", "ngoài"), ("xoays", "xoáy"), ("tuooir", "tuổi"), ("cuoocj", "cuộc"),
        # qu and gi clusters
        ("quys", "quý"), ("quaf", "quà"), ("quaanf", "quần"), ("quoocs", "quốc"), ("gif", "gì"), ("giaf", "già"),
        ("giuwax", "giữa"), ("gieets", "giết"), ("giof", "giò"),
        # final consonants and tone typed after them
        ("vieetj", "việt"), ("vieejt", "việt"), ("hocj", "học"), ("sachs", "sách"), ("lamf", "làm"),
        ("banj", "bạn"), ("sinhs", "sính"), ("dungf", "dùng"), ("dapj", "dạp"), ("matj", "mạt"),
        ("tw", "tư"), ("nhw", "như"), ("did", "đi"),
        # capitals
        ("VIEETJ", "VIỆT"), ("Vieetj", "Việt"), ("DDaij", "Đại"), ("DDAIJ", "ĐẠI"), ("NGUYEENX", "NGUYỄN"),
        # not Vietnamese: left as typed
        ("hello", "hello"), ("email", "email"), ("class", "class"), ("pizza", "pizza"), ("kiosk", "kiosk"),
    ],
)
def test_words(keys, expected):
    assert telex_to_text(keys) == expected


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ("Tooi ddi hocj", "Tôi đi học"),
        ("Ddawng kys khai sinh", "Đăng ký khai sinh"),
        ("Thur tucj hanhf chinhs", "Thủ tục hành chính"),
        ("UBND Phuwowngf Hoanf Kieems", "UBND Phường Hoàn Kiếm"),
        ("Nguyeenx Vawn An, 12 phoos Hangf Bacj", "Nguyễn Văn An, 12 phố Hàng Bạc"),
        ("Trung taam Phucj vuj hanhf chinhs coong", "Trung tâm Phục vụ hành chính công"),
        ("DDa nawng 0912-345-678", "Đa năng 0912-345-678"),
    ],
)
def test_sentences(keys, expected):
    assert telex_to_text(keys) == expected


LETTERS_WITHOUT_TELEX = "bcghiklmnpqtuvy"  # no a/e/o doubles, no d, w, tone keys or z


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=30))
def test_output_is_always_nfc(text):
    out = telex_to_text(text)
    assert unicodedata.is_normalized("NFC", out)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=LETTERS_WITHOUT_TELEX + " 0123456789.,", max_size=40))
def test_plain_text_without_telex_keys_passes_through(text):
    assert telex_to_text(text) == text


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="adeiouwsfrxjzngthc ", max_size=25))
def test_incremental_engine_equals_batch_and_backspace_undoes_the_last_key(keys):
    engine = TelexEngine()
    for key in keys:
        before = engine.text
        engine.press(key)
        if key.isalpha():
            engine.backspace()
            assert engine.text == before
            engine.press(key)
    assert engine.text == telex_to_text(keys)


def test_backspace_at_a_word_boundary_deletes_the_previous_character():
    engine = TelexEngine()
    engine.press("Vieetj ")
    engine.backspace()
    engine.backspace()
    assert engine.text == "Việ"
    engine.clear()
    assert engine.text == ""


def test_fold_for_accent_insensitive_search():
    assert fold("Hộ tịch") == "ho tich"
    assert fold("ĐĂNG  KÝ") == "dang ky"
    assert fold(telex_to_text("Ddawng kys")) == "dang ky"


def test_cli_prints_the_composed_text():
    result = subprocess.run([sys.executable, "main.py", "telex", "Vieetj", "Nam", "-", "Hanf", "Quoocs"], cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and result.stdout == "Việt Nam - Hàn Quốc\n"
