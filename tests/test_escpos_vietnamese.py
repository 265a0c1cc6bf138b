"""CP1258 encoding of Vietnamese: every letter round-trips, and only what CP1258 lacks is decomposed."""

from __future__ import annotations

import unicodedata

import pytest

from devices.escpos.vietnamese import encode_cp1258, needs_vietnamese

VOWELS = "a ă â e ê i o ô ơ u ư y".split()
TONES = ["\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]  # huyền, sắc, hỏi, ngã, nặng


def _letters() -> list[str]:
    toned = [unicodedata.normalize("NFC", vowel + tone) for vowel in VOWELS for tone in TONES]
    lower = toned + ["ă", "â", "ê", "ô", "ơ", "ư", "đ"]
    return lower + [letter.upper() for letter in lower]


LETTERS = _letters()
SENTENCES = [
    "UBND PHƯỜNG HOÀN KIẾM",
    "Trung tâm Phục vụ hành chính công",
    "Đăng ký khai sinh",
    "Thời gian chờ dự kiến: khoảng 15 phút",
    "Vui lòng chờ đến lượt. Xin cảm ơn!",
    "Người có công với cách mạng, trẻ em dưới 6 tuổi",
    "Quý khách vui lòng giữ phiếu; số tiền: 50.000₫",
    "ỄỆỈỊỌỎỐỒỔỖỘỚỜỞỠỢỤỦỨỪỬỮỰỲỴỶỸ",
]


def test_the_letter_set_is_all_134_vietnamese_letters() -> None:
    assert len(set(LETTERS)) == 134
    assert all(len(letter) == 1 for letter in LETTERS)


@pytest.mark.parametrize("letter", LETTERS)
def test_every_vietnamese_letter_round_trips_through_cp1258(letter: str) -> None:
    assert unicodedata.normalize("NFC", encode_cp1258(letter).decode("cp1258")) == letter


@pytest.mark.parametrize("sentence", SENTENCES)
def test_sentences_round_trip_through_cp1258(sentence: str) -> None:
    assert unicodedata.normalize("NFC", encode_cp1258(sentence).decode("cp1258")) == sentence


@pytest.mark.parametrize("sentence", SENTENCES)
def test_decomposed_input_encodes_like_its_nfc_form(sentence: str) -> None:
    assert encode_cp1258(unicodedata.normalize("NFD", sentence)) == encode_cp1258(sentence)


@pytest.mark.parametrize(
    ("mark", "byte"), [("\u0300", 0xCC), ("\u0301", 0xEC), ("\u0309", 0xD2), ("\u0303", 0xDE), ("\u0323", 0xF2)]
)
def test_tone_marks_are_the_combining_bytes_of_python_cp1258(mark: str, byte: int) -> None:
    assert mark.encode("cp1258") == bytes([byte])
    assert encode_cp1258("ơ" + mark)[-1] == byte


@pytest.mark.parametrize("letter", LETTERS)
def test_precomposed_letters_cp1258_has_stay_one_byte(letter: str) -> None:
    try:
        whole = letter.encode("cp1258")
    except UnicodeEncodeError:
        encoded = encode_cp1258(letter)
        assert len(encoded) == 2, "letters CP1258 lacks become exactly base + one tone mark"
        assert unicodedata.combining(encoded[1:].decode("cp1258"))
    else:
        assert encode_cp1258(letter) == whole


@pytest.mark.parametrize("base", ["ă", "â", "ê", "ô", "ơ", "ư", "Ă", "Â", "Ê", "Ô", "Ơ", "Ư"])
def test_shape_marks_stay_whole_and_only_the_tone_is_combining(base: str) -> None:
    for tone in TONES:
        encoded = encode_cp1258(unicodedata.normalize("NFC", base + tone))
        assert encoded == base.encode("cp1258") + tone.encode("cp1258")


def test_characters_outside_cp1258_become_question_marks() -> None:
    assert encode_cp1258("số 漢 ok") == encode_cp1258("số ? ok")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("A012", False), ("Giờ lấy số", True), ("14:05 24/11/2026", False), ("50₫", True), ("", False)],
)
def test_needs_vietnamese_means_anything_beyond_ascii(text: str, expected: bool) -> None:
    assert needs_vietnamese(text) is expected
