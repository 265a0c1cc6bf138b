"""Spoken guidance with the real espeak-ng: what is said, when the kiosk keeps quiet, and that it never blocks."""

from __future__ import annotations

import datetime as dt
import logging
import wave

import pytest

from config.schema import VoiceSection
from devices.voice import VoiceGuide, in_window

NOON = lambda: dt.datetime(2026, 11, 26, 12, 0)  # noqa: E731
NIGHT = lambda: dt.datetime(2026, 11, 26, 23, 15)  # noqa: E731


@pytest.mark.parametrize(("moment", "window", "inside"), [
    ("23:15", "21:00-06:30", True), ("03:00", "21:00-06:30", True), ("06:30", "21:00-06:30", False),
    ("12:00", "21:00-06:30", False), ("12:00", "11:30-13:30", True), ("13:30", "11:30-13:30", False),
])
def test_quiet_window_may_pass_midnight(moment, window, inside):
    assert in_window(dt.time.fromisoformat(moment), window) is inside


def wav_files(folder):
    return sorted(folder.glob("*.wav"))


def test_guidance_is_spoken_in_vietnamese_into_a_real_wav(tmp_path):
    guide = VoiceGuide(VoiceSection(output=f"file:{tmp_path}"), now=NOON)
    guide.say("Số thứ tự của bạn là A 0 1 2. Vui lòng nhận phiếu.", "vi")
    guide.wait()
    [spoken] = wav_files(tmp_path)
    with wave.open(str(spoken)) as audio:
        seconds = audio.getnframes() / audio.getframerate()
    assert 2.0 < seconds < 15.0, seconds


def test_quiet_at_night_and_when_disabled(tmp_path):
    for guide in (VoiceGuide(VoiceSection(output=f"file:{tmp_path}"), now=NIGHT),
                  VoiceGuide(VoiceSection(enabled=False, output=f"file:{tmp_path}"), now=NOON)):
        assert not guide.speaking_now()
        guide.say("Xin chào", "vi")
    assert wav_files(tmp_path) == []
    always = VoiceGuide(VoiceSection(quiet_hours="", output=f"file:{tmp_path}"), now=NIGHT)
    assert always.speaking_now()


def test_a_new_step_interrupts_the_last_sentence(tmp_path):
    guide = VoiceGuide(VoiceSection(output="speaker", rate=80), now=NOON)
    guide.say("Hãy chọn dịch vụ bạn cần. " * 20, "vi")  # long: still speaking (or failing to play) when replaced
    first = guide._current
    guide.say("Hãy đưa mã QR vào máy quét.", "vi")
    assert first is not guide._current and first.wait(5) is not None


def test_no_espeak_means_silent_with_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine where espeak-ng is not installed
    with caplog.at_level(logging.WARNING):
        guide = VoiceGuide(VoiceSection(output=f"file:{tmp_path}"), now=NOON)
    guide.say("Xin chào", "vi")
    assert not guide.speaking_now() and wav_files(tmp_path) == []
    assert "espeak-ng is not installed" in caplog.text

