"""Audio sources and sinks that need no audio hardware: WAV files, raw PCM on stdin, nowhere."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from homeplm.audio import CHUNK_BYTES, CHUNK_MS, SAMPLE_RATE, Chunker, resample, to_mono
from homeplm.errors import AudioError, AudioInputError

_WAV_DTYPES = {1: np.uint8, 2: np.int16, 4: np.int32}


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Whole PCM WAV → (int16 mono samples, sample rate). Any rate, width and channel count."""
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except FileNotFoundError as err:
        raise AudioInputError(f"{path}: no such file") from err
    except (wave.Error, EOFError, RuntimeError, ValueError, OSError) as err:
        raise AudioInputError(
            f"{path}: not a readable PCM WAV file ({err}); convert it with `sox {path} -b 16 out.wav`"
        ) from err
    if not raw:
        raise AudioInputError(f"{path}: the WAV file holds no audio")
    return _decode(raw, width, channels), rate


def _decode(raw: bytes, width: int, channels: int) -> np.ndarray:
    usable = len(raw) - len(raw) % (width * channels)
    raw = raw[:usable]
    if width == 3:  # 24-bit: keep the top two bytes of each little-endian sample
        samples = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)[:, 1:].copy().view(np.int16)
        data = samples.reshape(-1)
    elif width == 1:  # 8-bit WAV is unsigned
        data = ((np.frombuffer(raw, dtype=np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
    elif width in _WAV_DTYPES:
        data = np.frombuffer(raw, dtype=_WAV_DTYPES[width])
        if width == 4:
            data = (data >> 16).astype(np.int16)
    else:
        raise AudioInputError(f"unsupported WAV sample width: {width * 8} bits")
    frames = data.reshape(-1, channels).astype(np.float64)
    return np.clip(np.round(to_mono(frames)), -32768, 32767).astype(np.int16)


def load_wav_16k(path: str | Path) -> np.ndarray:
    """A WAV file as the internal format: int16, 16 kHz, mono."""
    samples, rate = read_wav(path)
    return resample(samples, rate, SAMPLE_RATE)


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(audio.astype(np.int16).tobytes())


class ArraySource:
    """Plays 16 kHz int16 audio held in memory into the pipeline as 80 ms chunks, then ends."""

    def __init__(self, audio: np.ndarray, realtime: bool = False) -> None:
        self.audio = audio
        # Real time: one chunk every 80 ms, as a microphone delivers them (for latency figures).
        self.realtime = realtime

    async def chunks(self) -> AsyncIterator[np.ndarray]:
        chunker = Chunker()
        loop = asyncio.get_running_loop()
        due = loop.time()
        for chunk in (*chunker.push(self.audio), *chunker.flush()):
            if self.realtime:
                due += CHUNK_MS / 1000
                await asyncio.sleep(max(0.0, due - loop.time()))
            else:
                await asyncio.sleep(0)  # let other tasks run between chunks
            yield chunk

    def discard_pending(self) -> None:
        """Recorded audio has no backlog: nothing to drop."""

    async def close(self) -> None:
        return None


class WavFileSource(ArraySource):
    """A WAV file of any rate, width and channel count, as 80 ms chunks."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        super().__init__(load_wav_16k(self.path))  # read now: a bad file fails before models load


class RawStdinSource:
    """Raw 16 kHz s16le mono PCM on stdin, e.g. `arecord -f S16_LE -r 16000 -c 1 | homeplm run --input -`."""

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self.stream = stream or sys.stdin.buffer

    async def chunks(self) -> AsyncIterator[np.ndarray]:
        chunker = Chunker()
        async for data in self._blocks():
            block = np.frombuffer(data[: len(data) - len(data) % 2], dtype=np.int16)
            for chunk in chunker.push(block):
                yield chunk
        for chunk in chunker.flush():
            yield chunk

    async def _blocks(self) -> AsyncIterator[bytes]:
        if stat.S_ISREG(os.fstat(self.stream.fileno()).st_mode):
            # A regular file ends: blocking reads in a thread are fine.
            while data := await asyncio.to_thread(self.stream.read, CHUNK_BYTES):
                yield data
            return
        # A pipe may stay open forever: read it without a thread, so shutdown never waits on it.
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), self.stream)
        try:
            while data := await reader.read(CHUNK_BYTES):
                yield data
        finally:
            transport.close()

    def discard_pending(self) -> None:
        """A pipe is read on demand: nothing queued to drop."""

    async def close(self) -> None:
        return None


class WavFileSink:
    """Collects everything played and writes one WAV file on close()."""

    def __init__(self, path: str | Path, sample_rate: int = 22050) -> None:
        self.path = Path(path)
        self.sample_rate = sample_rate
        self._parts: list[np.ndarray] = []
        if not self.path.parent.exists():
            raise AudioError(f"{self.path}: directory {self.path.parent} does not exist")

    async def play(self, audio: np.ndarray) -> None:
        self._parts.append(audio.astype(np.int16))

    async def drain(self) -> None:
        return None

    def stop(self) -> None:
        """Nothing is playing in real time; what was written stays."""

    @property
    def samples(self) -> int:
        return sum(len(p) for p in self._parts)

    async def close(self) -> None:
        audio = np.concatenate(self._parts) if self._parts else np.zeros(0, dtype=np.int16)
        await asyncio.to_thread(write_wav, self.path, audio, self.sample_rate)


class NullSink:
    """Discards audio (text-only use, or a box without a speaker)."""

    def __init__(self, sample_rate: int = 22050) -> None:
        self.sample_rate = sample_rate

    async def play(self, audio: np.ndarray) -> None:
        return None

    async def drain(self) -> None:
        return None

    def stop(self) -> None:
        return None

    async def close(self) -> None:
        return None
