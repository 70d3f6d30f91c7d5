"""A transcription request's audio: chunks of any rate, sample width and channel count, collected
and handed to speech recognition as the one internal format (16 kHz, int16, mono)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from homeplm.core.audio import SAMPLE_RATE, resample, to_mono

_LOGGER = logging.getLogger(__name__)

# Bytes per sample → little-endian PCM.
WIDTHS: dict[int, np.dtype[Any]] = {2: np.dtype("<i2"), 4: np.dtype("<i4")}
MIN_RATE, MAX_RATE = 4_000, 192_000
MAX_CHANNELS = 8


class AudioRejected(Exception):
    """Audio that cannot be used (format, length); `code` goes into the Error event."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """Rate (Hz), sample width (bytes) and channels of a stream, as an `audio-start` or chunk says."""

    rate: int
    width: int
    channels: int

    @classmethod
    def from_data(cls, data: dict[str, Any], default: AudioFormat | None = None) -> AudioFormat:
        """The format an event's data gives (the stream's for what it leaves out); checked."""
        fields = {}
        for key in ("rate", "width", "channels"):
            value = data.get(key, getattr(default, key, None))
            if not isinstance(value, int) or isinstance(value, bool):
                raise AudioRejected(f"audio {key} is missing or not a whole number", "audio-format")
            fields[key] = value
        audio = cls(**fields)
        audio.check()
        return audio

    def check(self) -> None:
        if self.width not in WIDTHS:
            raise AudioRejected(
                f"{self.width * 8}-bit audio is not supported (16 or 32-bit PCM)", "audio-format"
            )
        if not MIN_RATE <= self.rate <= MAX_RATE:
            raise AudioRejected(f"a sample rate of {self.rate} Hz is not supported", "audio-format")
        if not 1 <= self.channels <= MAX_CHANNELS:
            raise AudioRejected(f"{self.channels} channels are not supported", "audio-format")


def decode(pcm: bytes, audio: AudioFormat) -> np.ndarray:
    """One chunk's PCM (`audio`'s width and channels) → mono int16; a partial frame is dropped."""
    frame = audio.width * audio.channels
    whole = len(pcm) - len(pcm) % frame
    if whole != len(pcm):
        _LOGGER.debug("wyoming: dropped %d bytes of a partial audio frame", len(pcm) - whole)
    samples = np.frombuffer(pcm[:whole], dtype=WIDTHS[audio.width])
    if audio.width == 4:
        samples = samples >> 16  # 32-bit → 16-bit: keep the top half
    if audio.channels > 1:
        samples = to_mono(samples.reshape(-1, audio.channels).astype(np.float32))
    return np.clip(np.round(samples), -32768, 32767).astype(np.int16)


class UtteranceBuffer:
    """Collects one request's audio; `audio()` is the whole of it at 16 kHz mono int16."""

    def __init__(self, max_s: float) -> None:
        self.max_s = max_s
        self.seconds = 0.0
        self._runs: list[tuple[int, list[np.ndarray]]] = []  # (rate, mono int16 blocks)

    def add(self, pcm: bytes, audio: AudioFormat) -> None:
        """Add one chunk; raises `AudioRejected` once the request is longer than `max_s`."""
        block = decode(pcm, audio)
        self.seconds += len(block) / audio.rate
        if self.seconds > self.max_s:
            raise AudioRejected(f"audio longer than {self.max_s:g} s", "audio-too-long")
        if self._runs and self._runs[-1][0] == audio.rate:
            self._runs[-1][1].append(block)
        else:
            self._runs.append((audio.rate, [block]))

    def audio(self) -> np.ndarray:
        """Everything added, resampled to 16 kHz (a whole run at a time: a clean low-pass)."""
        parts = [resample(np.concatenate(blocks), rate, SAMPLE_RATE) for rate, blocks in self._runs]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)
