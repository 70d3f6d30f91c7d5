"""Lazy factories: each imports its backend (and so its heavy library) only when called.

All take the whole Settings and hand a backend its own section. A missing model raises
ModelMissingError naming the package to install; a broken one raises the stage's error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from homeplm.config.schema import Settings
    from homeplm.core.stages import (
        AudioSink,
        AudioSource,
        ChatModel,
        SpeechToText,
        TextToSpeech,
        VoiceActivity,
        WakeDetector,
    )
    from homeplm.memory.types import Embedder


def make_wake(settings: Settings) -> WakeDetector:
    from homeplm.backends.openwakeword_wake import OpenWakeWordDetector

    detector = OpenWakeWordDetector(settings.wake)
    if not settings.wake.vad_gate:
        return detector
    from homeplm.voice.wakegate import ScoredVad, VadGatedWake

    # Scored once per chunk: the pipeline's recorder reuses these scores (assistant.shared_vad).
    vad = ScoredVad(make_vad(settings))
    return VadGatedWake(detector, vad, settings.wake.vad_gate_threshold)


def make_vad(settings: Settings) -> VoiceActivity:
    from homeplm.backends.silero_vad import SileroVad

    return SileroVad(settings.vad)


def make_stt(settings: Settings) -> SpeechToText:
    from homeplm.backends.whisper_stt import WhisperStt

    return WhisperStt(settings.asr)


def make_chat_model(settings: Settings) -> ChatModel:
    from homeplm.backends.llama_chat import LlamaChat

    return LlamaChat(settings.llm)


def make_tts(settings: Settings) -> TextToSpeech:
    from homeplm.backends.piper_tts import PiperTts

    return PiperTts(settings.tts)


def make_mic(settings: Settings, loop: asyncio.AbstractEventLoop | None = None) -> AudioSource:
    from homeplm.backends.sounddevice_audio import MicSource

    return MicSource(settings.input, loop)


def make_echo_front(settings: Settings) -> Any:
    """The microphone's WebRTC front end (echo canceller, noise suppression, gain), or None."""
    config = settings.input
    if not (config.echo_cancel or config.noise_suppression is not None or config.auto_gain):
        return None
    from homeplm.voice.echo import EchoCanceller

    return EchoCanceller(
        config.echo_delay_ms,
        noise_level=config.noise_suppression,
        auto_gain=config.auto_gain,
        cancel_echo=config.echo_cancel,
    )


def make_speaker(settings: Settings) -> AudioSink:
    from homeplm.backends.sounddevice_audio import SpeakerSink

    return SpeakerSink(settings.output)


def make_embedder(settings: Settings) -> Embedder:
    from homeplm.backends.minilm import MiniLmEmbedder
    from homeplm.core.models import resolve, shipped_embeddings_dir

    return MiniLmEmbedder(
        resolve(settings.memory.embeddings, shipped_embeddings_dir, key="memory.embeddings")
    )


def _wake_paths(settings: Settings) -> str:
    from homeplm.core.models import resolve, shipped_wake_dir, shipped_wake_model

    paths = [
        resolve(spec, shipped_wake_dir, key="wake.models")
        if spec.endswith(".tflite") or "/" in spec
        else shipped_wake_model(spec)
        for spec in settings.wake.models
    ]
    return ", ".join(map(str, paths))


def _resolver(key: str, default: str) -> Callable[[Settings], object]:
    def resolve_model(settings: Settings) -> object:
        from homeplm.core import models

        section, field = key.split(".")
        configured = getattr(getattr(settings, section), field)
        return models.resolve(configured, getattr(models, default), key=key)

    return resolve_model


# role → the model file it will load (raises ModelMissingError naming the package or config key).
MODEL_RESOLVERS: dict[str, Callable[[Settings], object]] = {
    "wake": _wake_paths,
    "vad": _resolver("vad.model", "shipped_vad_path"),
    "asr": _resolver("asr.model", "shipped_whisper_dir"),
    "llm": _resolver("llm.model", "shipped_llm_path"),
    "tts": _resolver("tts.voice", "shipped_voice_path"),
}
