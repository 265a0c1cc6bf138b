"""How the kiosk and the display board sound: espeak-ng's local voices, text in, WAV bytes out.

Both the kiosk's spoken guidance (:mod:`devices.voice`) and the branch display board's call announcements speak
through the same voices and rate, so a centre hears one voice. Nothing leaves the machine (no cloud TTS).
"""

from __future__ import annotations

import shutil
import struct
import subprocess

VOICES = {"vi": "vi", "en": "en"}


def wav_bytes(text: str, lang: str = "vi", rate: int = 145) -> bytes | None:
    """``text`` spoken by espeak-ng as WAV bytes (the branch display board plays them); None without espeak-ng."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        return None
    done = subprocess.run([binary, "-v", VOICES.get(lang, "vi"), "-s", str(rate), "--stdout", "--", text],
                          capture_output=True, timeout=20, check=False)
    audio = done.stdout
    if done.returncode != 0 or not audio.startswith(b"RIFF") or b"data" not in audio[:200]:
        return None
    # espeak-ng streams to stdout with "unknown" chunk sizes; browsers and wave readers want the real ones
    data_at = audio.index(b"data", 12)
    return (audio[:4] + struct.pack("<I", len(audio) - 8) + audio[8:data_at + 4]
            + struct.pack("<I", len(audio) - data_at - 8) + audio[data_at + 8:])
