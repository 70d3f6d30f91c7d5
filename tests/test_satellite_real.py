"""Satellites for real (issue 14): two wyoming-satellite 1.0.0 processes from PyPI (in their own venv,
.venv-satellite, made here when missing: they pin wyoming==1.4.1), each with a microphone command
that reads a spoken question and a speaker command that writes what it is sent to a file; a real
`homeplm run` owns both. Both rooms ask at the same moment; each answer must come back, in words,
through its own room's speaker. Prints end of speech → first audio in each room."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from homeplm.core.audio import SAMPLE_RATE, resample
from tests.harness import REPO

pytestmark = pytest.mark.real

SATELLITE_VENV = Path(os.environ.get("HOMEPLM_SATELLITE_VENV", REPO / ".venv-satellite"))
SAID = {
    "kitchen": ("Hey Jarvis, what is twelve times twelve?", ("144", "hundred and forty")),
    "office": ("Hey Jarvis, what is seven plus eight?", ("15", "fifteen")),
}
TTS_RATE = 22050

# The microphone: silence, and the question in real time each time one of its go files appears.
PACER = textwrap.dedent(
    """
    import os, sys, time
    speech, gos = open(sys.argv[1], "rb").read(), sys.argv[2:]
    block, out = 2048, sys.stdout.buffer
    silence, at = bytes(block), None
    start = time.monotonic()
    for n in range(10**9):
        if at is None and gos and os.path.exists(gos[0]):
            at, gos = 0, gos[1:]
        if at is not None and at < len(speech):
            piece, at = speech[at : at + block].ljust(block, b"\\0"), at + block
        else:
            piece, at = silence, None
        out.write(piece)
        out.flush()
        time.sleep(max(0.0, start + (n + 1) * block / 2 / 16000 - time.monotonic()))
    """
)


@pytest.fixture(scope="module")
def satellite_python() -> Path:
    python = SATELLITE_VENV / "bin" / "python"
    check = [str(python), "-c", "import wyoming_satellite"]
    if not python.exists() or subprocess.run(check, capture_output=True).returncode != 0:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(SATELLITE_VENV)], check=True)
        pip = [str(SATELLITE_VENV / "bin" / "pip"), "install", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "wyoming-satellite==1.0.0"], check=True, timeout=600)
    return python


@pytest.fixture(scope="module")
def tts():
    from homeplm.backends.piper_tts import PiperTts
    from homeplm.config.schema import TtsSettings

    return PiperTts(TtsSettings())


@pytest.fixture(scope="module")
def stt():
    from homeplm.backends.whisper_stt import WhisperStt
    from homeplm.config.schema import AsrSettings

    return WhisperStt(AsrSettings())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def heard(path: Path, stt) -> str:
    audio = np.frombuffer(path.read_bytes(), dtype=np.int16) if path.exists() else np.zeros(0, np.int16)
    return stt.transcribe(resample(audio, TTS_RATE, SAMPLE_RATE)).text if len(audio) else ""


def first_answer_audio(rooms: dict[str, tuple[Path, float]], go: Path) -> dict[str, float]:
    """Touches `go` (the rooms named in it ask), and returns for each room how long after the end of
    its question its speaker got audio. The wake chime plays while the question is still spoken: the
    answer is what the speaker gets after the question's end."""
    before = {name: out.stat().st_size if out.exists() else 0 for name, (out, _) in rooms.items()}
    go.touch()
    spoken_at = time.monotonic()
    first: dict[str, float] = {}
    deadline = spoken_at + 60
    while len(first) < len(rooms) and time.monotonic() < deadline:
        for name, (out, seconds) in rooms.items():
            size = out.stat().st_size if out.exists() else 0
            if time.monotonic() < spoken_at + seconds:
                before[name] = size
            elif name not in first and size > before[name]:
                first[name] = time.monotonic() - spoken_at - seconds
        time.sleep(0.005)
    return first


def test_two_rooms_asking_at_once_are_each_answered_through_their_own_satellite(
    tmp_path: Path, satellite_python: Path, start_daemon, stt, tts
) -> None:
    pacer = tmp_path / "pacer.py"
    pacer.write_text(PACER)
    alone, both = tmp_path / "go-alone", tmp_path / "go-both"
    rooms, satellites, config = {}, [], "satellites:\n"
    for name, (question, _) in SAID.items():
        raw = tmp_path / f"{name}.raw"
        speech = resample(tts.synthesize(question), tts.sample_rate, SAMPLE_RATE)
        raw.write_bytes(speech.tobytes())
        port = free_port()
        out = tmp_path / f"{name}-speaker.raw"
        rooms[name] = (out, len(speech) / SAMPLE_RATE)
        config += f"  - name: {name}\n    uri: tcp://127.0.0.1:{port}\n    area: {name.title()}\n"
        gos = f"{alone} {both}" if name == "kitchen" else str(both)  # the kitchen asks alone first
        command = [
            str(satellite_python), "-m", "wyoming_satellite", "--name", name, "--area", name.title(),
            "--uri", f"tcp://127.0.0.1:{port}", "--no-zeroconf",  # loopback only: no multicast
            "--mic-command", f"{sys.executable} {pacer} {raw} {gos}",
            "--snd-command", f"sh -c 'cat >> {out}'", "--snd-command-rate", str(TTS_RATE),
        ]  # fmt: skip
        satellites.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    try:
        daemon = start_daemon(config=config)
        daemon.wait_for(" ready ", timeout=180)
        for name in SAID:
            daemon.wait_for(f"satellite {name} connected", timeout=30)
        time.sleep(2.0)  # each room's wake word detector fills its window
        solo = first_answer_audio({"kitchen": rooms["kitchen"]}, alone)
        daemon.wait_for("kitchen answered", timeout=60)
        time.sleep(4.0)  # the answer plays; the room listens again
        together = first_answer_audio(rooms, both)
        daemon.wait_for(r"(?s)kitchen answered.*kitchen answered", timeout=60)
        daemon.wait_for("office answered", timeout=60)
        time.sleep(3.0)  # the rest of each answer reaches its speaker
        hub = [int(ms) for ms in re.findall(r"first audio (\d+) ms after the end of speech", daemon.log)]
        print(f"\nthe hub's endpointer's end of speech → first audio out (as homeplm bench counts): {hub} ms")
        print(f"end of speech → first answer audio at the satellite: one room asking "
              f"{solo.get('kitchen', float('nan')) * 1000:.0f} ms; two at once "
              + ", ".join(f"{n} {v * 1000:.0f} ms" for n, v in together.items()))  # fmt: skip
        for name, (question, answers) in SAID.items():
            text = heard(rooms[name][0], stt)
            print(f"{name}: asked {question!r}; its speaker said {text!r}")
            assert any(a in text.lower() for a in answers), (name, text)
        kitchen = heard(rooms["kitchen"][0], stt).lower()
        assert "15" not in kitchen and "fifteen" not in kitchen, "no answer in the wrong room"
    finally:
        for proc in satellites:
            proc.terminate()
            proc.wait(timeout=10)
