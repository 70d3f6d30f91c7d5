"""The `info` answer to `describe`: which of homeplm's parts are served, and what Home Assistant may
expect of each."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from wyoming.info import (
    AsrModel,
    AsrProgram,
    Attribution,
    HandleModel,
    HandleProgram,
    Info,
    TtsProgram,
    TtsVoice,
)

from homeplm import __version__
from homeplm.config.schema import Settings

HOMEPLM = Attribution(name="homeplm", url="")  # a private box: no project page to point at
WHISPER = Attribution(
    name="OpenAI Whisper on faster-whisper", url="https://github.com/SYSTRAN/faster-whisper"
)
PIPER = Attribution(name="Piper", url="https://github.com/OHF-Voice/piper1-gpl")
_LOCALE = re.compile(r"^([a-z]{2,3})_([A-Z]{2})-")  # piper voice names: en_US-joe-medium

ASR_NAME = "homeplm-whisper"
TTS_NAME = "homeplm-piper"
HANDLE_NAME = "homeplm"


def build_info(settings: Settings, parts: Any) -> Info:
    """Info for the parts the pipeline has (`parts`: its Components; a missing part is not offered)."""
    info = Info()
    language = settings.asr.language
    if parts.stt is not None:
        info.asr.append(_asr(settings, language))
    if parts.tts is not None:
        info.tts.append(_tts(parts.tts, language))
    if parts.brain is not None:
        info.handle.append(_handle(settings, language))
    return info


def _asr(settings: Settings, language: str) -> AsrProgram:
    model = Path(settings.asr.model).name if settings.asr.model else "tiny.en"
    return AsrProgram(
        name=ASR_NAME,
        attribution=HOMEPLM,
        installed=True,
        description="homeplm speech recognition (Whisper, with the house's names as a prompt)",
        version=__version__,
        models=[
            AsrModel(
                name=model,
                attribution=WHISPER,
                installed=True,
                description=f"Whisper {model}",
                version=None,
                languages=[language],
            )
        ],
        # Whisper gives the text once the audio has ended: nothing to stream.
        supports_transcript_streaming=False,
    )


def _tts(tts: Any, language: str) -> TtsProgram:
    voice = str(getattr(getattr(tts, "tts", tts), "name", "piper"))
    locale = _LOCALE.match(voice)
    return TtsProgram(
        name=TTS_NAME,
        attribution=HOMEPLM,
        installed=True,
        description="homeplm speech (Piper)",
        version=__version__,
        voices=[
            TtsVoice(
                name=voice,
                attribution=PIPER,
                installed=True,
                description=voice,
                version=None,
                languages=[f"{locale[1]}_{locale[2]}" if locale else language],
            )
        ],
        # Text streamed in (a reply as it is written) is spoken a sentence at a time.
        supports_synthesize_streaming=True,
    )


def _handle(settings: Settings, language: str) -> HandleProgram:
    return HandleProgram(
        name=HANDLE_NAME,
        attribution=HOMEPLM,
        installed=True,
        description=f"{settings.assistant.name}, homeplm's brain: fast intents, memory, a local model",
        version=__version__,
        models=[
            HandleModel(
                name=HANDLE_NAME,
                attribution=HOMEPLM,
                installed=True,
                description=None,
                version=__version__,
                languages=[language],
            )
        ],
        # Home Assistant's conversation client reads only `handled` / `not-handled`: a reply comes
        # whole (a streamed one would never end there).
        supports_handled_streaming=False,
        # The brain switches the house's devices when it is linked to them over MQTT.
        supports_home_control=settings.mqtt.host is not None,
    )
