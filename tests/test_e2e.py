"""The whole loop with real models and real (piper-spoken) audio."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from homeplm.bench.phrases import HOUSEHOLD_COMMANDS, noise, silence, speak
from homeplm.core.audio import SAMPLE_RATE, resample
from homeplm.core.events import EventRecorder, EventType
from homeplm.voice.listener import Listener
from homeplm.voice.wavio import ArraySource, NullSink, load_wav_16k, read_wav, write_wav
from tests.harness import StartDaemon, homeplm_cli, normalise

pytestmark = pytest.mark.real


@pytest.fixture(scope="session")
def wavs(real_parts, tmp_path_factory) -> dict[str, Path]:
    """Test speech from the shipped piper voice, written at 22.05 kHz (the CLI resamples)."""
    tts = real_parts.parts["tts"]
    folder = tmp_path_factory.mktemp("spoken")
    clips = {
        "question": speak(tts, "Hey Jarvis, what is the capital of France?"),
        "wake_only": speak(tts, "Hey Jarvis.", tail_s=6.0),
        "no_wake": speak(tts, "What is the capital of France? Turn on the kitchen light."),
        "silence": silence(5.0),
        "noise": noise(5.0, dbfs=-30.0),
    }
    paths = {}
    for name, audio in clips.items():
        paths[name] = folder / f"{name}.wav"
        write_wav(paths[name], resample(audio, SAMPLE_RATE, 22050), 22050)
    return paths


async def listen(settings, real_parts, audio: np.ndarray) -> tuple[Listener, EventRecorder]:
    from homeplm import assistant

    recorder = EventRecorder()
    pipeline = assistant.build_pipeline(settings, real_parts, recorder, NullSink())
    real_parts.parts["wake"].reset()
    listener = Listener(pipeline, real_parts.parts["wake"], recorder)
    await listener.run(ArraySource(audio))
    return listener, recorder


def english_words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z']+", text)


def test_spoken_question_gets_a_spoken_reply_through_the_cli(wavs, real_parts, tmp_path) -> None:
    reply = tmp_path / "reply.wav"
    result = homeplm_cli("run", "--input", str(wavs["question"]), "--output", str(reply))
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"heard: .*capital of france", result.stdout, re.I), result.stdout
    assert re.search(r"reply: \S+", result.stdout), result.stdout
    audio, rate = read_wav(reply)
    assert len(audio) / rate > 1.0
    spoken_back = real_parts.parts["stt"].transcribe(load_wav_16k(reply)).text
    assert len(english_words(spoken_back)) >= 2, spoken_back
    # Transcripts and replies are personal: never in the log at INFO.
    assert "capital" not in result.stderr.lower()


def test_piped_input_keeps_what_was_said_off_stdout(wavs, tmp_path) -> None:
    """Issue 8: with `--input -` (the daemon fed by a pipe, as under systemd) every turn's `heard:`
    and `reply:` went to stdout, that is into the journal; only a WAV file's run prints them."""
    raw = tmp_path / "question.pcm"
    raw.write_bytes(load_wav_16k(wavs["question"]).tobytes() + bytes(2 * SAMPLE_RATE * 2))
    config = tmp_path / "homeplm.yaml"
    config.write_text("memory:\n  enabled: false\n")  # not what this test is about
    with open(raw, "rb") as stdin:
        result = homeplm_cli("run", "--input", "-", "--output", "none", "--config", str(config), stdin=stdin)
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"run \d+ reply-end ", result.stderr), result.stderr[-2000:]  # a turn was answered
    assert "heard:" not in result.stdout and "reply:" not in result.stdout, result.stdout
    assert "capital" not in (result.stdout + result.stderr).lower()


def test_control_characters_do_not_break_piper(real_parts) -> None:
    """Issue 8: an announce with a NUL in it failed in piper ("embedded null character")."""
    tts = real_parts.parts["tts"]
    assert len(tts.synthesize("Dinner\x00 is\x07 ready")) > tts.sample_rate // 2
    assert len(tts.synthesize("\x00\x01\x1b")) == 0


def test_wake_word_alone_gives_no_reply(wavs) -> None:
    result = homeplm_cli("run", "--input", str(wavs["wake_only"]), "--output", "none")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "wake" in result.stderr and "reply:" not in result.stdout


@pytest.mark.parametrize("name", ["no_wake", "silence", "noise"])
def test_no_wake_word_no_turn(wavs, settings, real_parts, name: str) -> None:
    listener, recorder = asyncio.run(listen(settings, real_parts, load_wav_16k(wavs[name])))
    assert recorder.of(EventType.WAKE) == [] and listener.turns == []


@pytest.mark.parametrize("name", ["silence", "noise"])
def test_no_transcript_from_silence_or_noise(wavs, real_parts, name: str) -> None:
    assert real_parts.parts["stt"].transcribe(load_wav_16k(wavs[name])).text == ""


def test_command_in_one_breath_is_understood(settings, real_parts) -> None:
    audio = speak(real_parts.parts["tts"], "Hey Jarvis turn on the kitchen light")
    listener, recorder = asyncio.run(listen(settings, real_parts, audio))
    transcript = recorder.first(EventType.TRANSCRIPT)
    assert transcript is not None
    text = transcript.data.text.lower()
    assert "kitchen light" in text and "jarvis" not in text, text
    assert recorder.first(EventType.AUDIO_OUT) is not None


def test_word_error_rate_on_household_commands(real_parts) -> None:
    import jiwer

    tts, stt = real_parts.parts["tts"], real_parts.parts["stt"]
    refs, hyps = [], []
    for text in HOUSEHOLD_COMMANDS:
        refs.append(normalise(text))
        hyps.append(normalise(stt.transcribe(speak(tts, text, tail_s=0.3)).text))
    wer = jiwer.wer(refs, hyps)
    print(f"\nASR word error rate on {len(refs)} piper-spoken household commands: {wer:.1%}")
    assert len(refs) >= 20
    assert wer <= 0.15, list(zip(refs, hyps, strict=True))


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_signals_shut_down_cleanly(signum: int, code: int, start_daemon: StartDaemon) -> None:
    daemon = start_daemon()
    daemon.wait_for(" ready ")
    daemon.send(bytes(SAMPLE_RATE))  # half a second of silence: it is listening
    time.sleep(0.5)
    # stdin stays open: it is the signal, not the end of input, that stops it
    assert daemon.stop(signum) == code
    assert "Traceback" not in daemon.log
