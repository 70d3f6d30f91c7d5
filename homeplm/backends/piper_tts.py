"""Text to speech with Piper (VITS voices in ONNX, espeak-ng phonemes)."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import numpy as np
from piper import PiperConfig, PiperVoice, SynthesisConfig

from homeplm.backends.onnx_private import cpu_session
from homeplm.config.schema import TtsSettings
from homeplm.core.errors import ModelMissingError, TtsError
from homeplm.core.models import resolve, shipped_voice_path

_LOGGER = logging.getLogger(__name__)

# C0 control characters (and DEL) are not speech, and a NUL makes piper fail ("embedded null
# character"): the separators that act as whitespace become a space, the rest go. \n and \t stay.
_SPACES = "\v\f\r\x1c\x1d\x1e\x1f"
_CONTROL = {
    code: (" " if chr(code) in _SPACES else None) for code in (*range(0x20), 0x7F) if chr(code) not in "\n\t"
}


def clean_text(text: str) -> str:
    """Text as piper can take it: control characters out (an announce can carry anything)."""
    return text.translate(_CONTROL)


def _config_path(voice: Path) -> Path:
    config = voice.with_name(voice.name + ".json")
    if not config.is_file():
        raise ModelMissingError(f"The Piper voice config {config} (beside {voice.name}) is missing")
    return config


class PiperTts:
    """One voice; `synthesize` returns int16 mono audio at the voice's own `sample_rate`."""

    def __init__(self, settings: TtsSettings) -> None:
        path = resolve(settings.voice, shipped_voice_path, key="tts.voice")
        config = _config_path(path)
        try:
            # Our own session (no memory arena: see onnx_private.cpu_session) instead of piper's.
            voice_config = PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8")))
            self._voice = PiperVoice(session=cpu_session(str(path)), config=voice_config)
        except Exception as err:  # onnxruntime and json errors share no base below Exception
            raise TtsError(f"Cannot load the Piper voice {path}: {err}") from err
        self.name = path.stem
        self.sample_rate: int = int(self._voice.config.sample_rate)
        self._syn_config = SynthesisConfig(
            speaker_id=settings.speaker_id,
            length_scale=settings.length_scale,
            volume=1.0,  # the speaker applies tts.volume (it changes at run time); here too squared it
        )
        self._lock = threading.Lock()
        _LOGGER.info("Piper voice %s loaded (%d Hz)", self.name, self.sample_rate)

    def synthesize(self, text: str) -> np.ndarray:
        text = clean_text(text)
        if not text.strip():  # nothing but control characters, too: nothing to say, no error
            return np.zeros(0, dtype=np.int16)
        with self._lock:
            try:
                parts = [
                    chunk.audio_int16_array
                    for chunk in self._voice.synthesize(text, syn_config=self._syn_config)
                ]
            except Exception as err:
                raise TtsError(f"Piper failed: {err}") from err
        if not parts:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(parts).astype(np.int16, copy=False)
