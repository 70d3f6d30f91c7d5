"""How much biasing recognition with the house's names helps: command accuracy with and without,
on a robotic voice (espeak-ng) that Whisper finds harder than piper."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from homeplm.voice.asr_bias import bias_prompt
from homeplm.voice.wavio import load_wav_16k

DEVICES = (
    "bedroom light",
    "kitchen light",
    "nursery fan",
    "living room blinds",
    "garage door",
    "hallway lamp",
    "office heater",
    "porch light",
    "dining room lights",
    "bathroom fan",
)
AREAS = ("bedroom", "kitchen", "nursery", "living room", "garage", "hallway", "office", "porch")
COMMANDS = tuple(
    template.format(device) for device in DEVICES for template in ("Turn on the {}.", "Switch off the {}.")
)


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z]+", text.lower()))


def espeak(text: str, folder: Path, voice: str = "en-us", speed: int = 160) -> Any:
    path = folder / "say.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True)
    return load_wav_16k(path)


def bias_accuracy(stt: Any) -> dict[str, float] | None:
    """Share of commands whose device name is heard exactly, without and with the bias prompt."""
    if shutil.which("espeak-ng") is None:
        return None
    prompt = bias_prompt(DEVICES, AREAS)
    hits = {"plain": 0, "biased": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for command, device in zip(COMMANDS, (d for d in DEVICES for _ in range(2)), strict=True):
            audio = espeak(command, Path(tmp))
            for mode, text_prompt in (("plain", None), ("biased", prompt)):
                heard = _words(stt.transcribe(audio, prompt=text_prompt).text)
                hits[mode] += _words(device) in heard
    return {mode: count / len(COMMANDS) for mode, count in hits.items()}
