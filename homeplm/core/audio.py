"""The one internal audio format (16 kHz, s16, mono, 80 ms chunks) and conversions at the edges."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

SAMPLE_RATE = 16_000
SAMPLE_WIDTH = 2
CHUNK_SAMPLES = 1280  # 80 ms: openWakeWord's native frame
CHUNK_MS = CHUNK_SAMPLES * 1000 // SAMPLE_RATE
CHUNK_BYTES = CHUNK_SAMPLES * SAMPLE_WIDTH


def samples_to_ms(samples: int, rate: int = SAMPLE_RATE) -> int:
    return samples * 1000 // rate


def to_float32(pcm: np.ndarray) -> np.ndarray:
    """int16 samples → float32 in [-1, 1)."""
    return pcm.astype(np.float32) / 32768.0


def to_mono(frames: np.ndarray) -> np.ndarray:
    """(n, channels) → (n,) by averaging channels."""
    if frames.ndim == 1:
        return frames
    return frames.mean(axis=1)


def _lowpass_kernel(cutoff: float, taps: int = 63) -> np.ndarray:
    """Windowed-sinc low-pass; cutoff as a fraction of the input sample rate (0–0.5)."""
    n = np.arange(taps) - (taps - 1) / 2
    kernel = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(taps)
    return kernel / kernel.sum()


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample a whole float or int16 signal; returns the same dtype.

    Down-sampling low-passes first so that content above the new Nyquist does not fold into speech.
    """
    if rate_in == rate_out or audio.size == 0:
        return audio
    dtype = audio.dtype
    signal = audio.astype(np.float64)
    if rate_out < rate_in:
        signal = np.convolve(signal, _lowpass_kernel(0.45 * rate_out / rate_in), mode="same")
    n_out = max(1, math.floor(len(signal) * rate_out / rate_in))
    positions = np.arange(n_out) * (rate_in / rate_out)
    out = np.interp(positions, np.arange(len(signal)), signal)
    if dtype == np.int16:
        return np.clip(np.round(out), -32768, 32767).astype(np.int16)
    return out.astype(dtype)


class StreamResampler:
    """Resamples a stream block by block (linear interpolation, state carried between blocks)."""

    def __init__(self, rate_in: int, rate_out: int) -> None:
        self.rate_in = rate_in
        self.rate_out = rate_out
        self._step = rate_in / rate_out
        self._pos = 0.0  # next output position, in input samples relative to the carried sample
        self._last = 0.0

    def process(self, block: np.ndarray) -> np.ndarray:
        if self.rate_in == self.rate_out:
            return block.astype(np.int16)
        signal = np.concatenate(([self._last], block.astype(np.float64)))
        end = len(signal) - 1
        positions = np.arange(self._pos, end, self._step)
        out = np.interp(positions, np.arange(len(signal)), signal)
        self._pos = (positions[-1] + self._step - end) if len(positions) else self._pos - end
        self._last = float(signal[-1])
        return np.clip(np.round(out), -32768, 32767).astype(np.int16)


class Chunker:
    """Cuts a stream of int16 blocks of any size into exact 80 ms chunks."""

    def __init__(self, chunk_samples: int = CHUNK_SAMPLES) -> None:
        self.chunk_samples = chunk_samples
        self._buffer = np.zeros(0, dtype=np.int16)

    def push(self, block: np.ndarray) -> Iterator[np.ndarray]:
        self._buffer = np.concatenate((self._buffer, block.astype(np.int16, copy=False)))
        while len(self._buffer) >= self.chunk_samples:
            chunk, self._buffer = (
                self._buffer[: self.chunk_samples],
                self._buffer[self.chunk_samples :],
            )
            yield chunk

    def flush(self) -> Iterator[np.ndarray]:
        """The last partial chunk, padded with silence."""
        if len(self._buffer):
            chunk = np.zeros(self.chunk_samples, dtype=np.int16)
            chunk[: len(self._buffer)] = self._buffer
            self._buffer = np.zeros(0, dtype=np.int16)
            yield chunk


def rms_dbfs(pcm: np.ndarray) -> float:
    """Level of int16 audio in dBFS (−inf for digital silence)."""
    if pcm.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(pcm.astype(np.float64)))))
    return 20 * math.log10(rms / 32768.0) if rms > 0 else float("-inf")
