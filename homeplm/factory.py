"""Lazy factories: each imports its backend (and so its heavy library) only when called.

All take the whole Settings and hand a backend its own section. A missing model raises
ModelMissingError naming the package to install; a broken one raises the stage's error.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from homeplm.config.schema import Settings
    from homeplm.stages import (
        AudioSink,
        AudioSource,
        ChatModel,
        SpeechToText,
        TextToSpeech,
        VoiceActivity,
        WakeDetector,
    )


def make_wake(settings: Settings) -> WakeDetector:
    from homeplm.backends.openwakeword_wake import OpenWakeWordDetector

    return OpenWakeWordDetector(settings.wake)


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


def make_speaker(settings: Settings) -> AudioSink:
    from homeplm.backends.sounddevice_audio import SpeakerSink

    return SpeakerSink(settings.output)
