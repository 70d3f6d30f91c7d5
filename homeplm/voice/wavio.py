"""Audio sources and sinks that need no audio hardware: WAV files, raw PCM on stdin, nowhere."""

from __future__ import annotations

import asyncio
import io
import os
import stat
import sys
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from homeplm.core.audio import CHUNK_BYTES, CHUNK_MS, SAMPLE_RATE, Chunker, resample, to_mono
from homeplm.core.errors import BadFileError

_WAV_DTYPES = {1: np.uint8, 2: np.int16, 4: np.int32}


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Whole PCM WAV → (int16 mono samples, sample rate). Any rate, width and channel count."""
    with _open_input(Path(path)) as file:
        head = file.peek(_HEADER_BYTES)[:_HEADER_BYTES]  # kept to say what is wrong, if anything is
        try:
            with wave.open(file, "rb") as wav:
                channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
                raw = wav.readframes(wav.getnframes())
        except (wave.Error, EOFError, RuntimeError, ValueError, OSError) as err:
            why = _why_not_wav(head, err)
            raise BadFileError(
                f"{path}: not a readable PCM WAV file: {why}; convert it with `sox {path} -b 16 out.wav`"
            ) from err
    if not raw:
        raise BadFileError(f"{path}: the WAV file holds no audio")
    return _decode(raw, width, channels), rate


def _open_input(path: Path) -> io.BufferedReader:
    """The file opened for reading, or a BadFileError that says why it cannot be (an empty file too)."""
    try:
        file = open(path, "rb")  # noqa: SIM115 - the caller closes it
    except FileNotFoundError as err:
        raise BadFileError(f"{path}: no such file") from err
    except IsADirectoryError as err:
        raise BadFileError(f"{path}: is a directory, not a WAV file") from err
    except PermissionError as err:
        raise BadFileError(f"{path}: permission denied (cannot read it)") from err
    except OSError as err:
        raise BadFileError(f"{path}: cannot be read: {err.strerror or err}") from err
    if not file.peek(1):  # /dev/null too, which has no size to look at
        file.close()
        raise BadFileError(f"{path}: empty (0 bytes), not a WAV file")
    return file


# Enough of a WAV file's start to find its format chunk behind the usual metadata chunks.
_HEADER_BYTES = 4096
# What a file that is not RIFF usually is, by its first bytes: named so that people know what they gave.
_MAGIC = {b"ID3": "MP3", b"\xff\xfb": "MP3", b"\xff\xf3": "MP3", b"OggS": "Ogg", b"fLaC": "FLAC"}
_FORMAT_TAGS = {
    3: "floating-point samples (format 3), and only integer PCM is read",
    2: "compressed ADPCM audio (format 2)",
    6: "compressed A-law audio (format 6)",
    7: "compressed µ-law audio (format 7)",
    0x11: "compressed IMA ADPCM audio (format 0x11)",
    0x55: "MP3 audio in a WAV container (format 0x55)",
}
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE
_TRUNCATED = "the file ends inside its header (truncated?)"


def _why_not_wav(head: bytes, err: BaseException) -> str:
    """The reason a file is not a readable PCM WAV, from its first bytes (the wave module's own
    messages are terse, and empty for a file that ends early)."""
    if head[:4] != b"RIFF":
        kind = next((name for magic, name in _MAGIC.items() if head.startswith(magic)), None)
        return "not a WAV (RIFF) file" + (f"; it looks like {kind}" if kind else "")
    if len(head) < 12:
        return _TRUNCATED
    if head[8:12] != b"WAVE":
        return f"a RIFF file, but of type {head[8:12]!r}, not WAVE"
    tag, sub_format = _format_tag(head)
    for known in (sub_format, tag):
        if known is not None and known in _FORMAT_TAGS:
            return _FORMAT_TAGS[known]
    if tag == _WAVE_FORMAT_EXTENSIBLE and sub_format == 1 and "unknown format" in str(err):
        return "PCM in a WAVE_FORMAT_EXTENSIBLE header, which the wave module of Python 3.11 cannot read"
    if tag not in (None, 1, _WAVE_FORMAT_EXTENSIBLE):
        return f"unsupported sample format (format tag {tag:#x})"
    return str(err) or _TRUNCATED


def _format_tag(head: bytes) -> tuple[int | None, int | None]:
    """The fmt chunk's format tag and, for an extensible header, its sub-format (None: not in `head`)."""
    pos = 12
    while pos + 8 <= len(head):
        chunk, size = head[pos : pos + 4], int.from_bytes(head[pos + 4 : pos + 8], "little")
        if chunk == b"fmt " and pos + 10 <= len(head):
            tag = int.from_bytes(head[pos + 8 : pos + 10], "little")
            sub_format = None
            if tag == _WAVE_FORMAT_EXTENSIBLE and pos + 34 <= len(head):
                sub_format = int.from_bytes(head[pos + 32 : pos + 34], "little")  # the GUID's first 2 bytes
            return tag, sub_format
        pos += 8 + size + (size & 1)
    return None, None


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
        raise BadFileError(f"unsupported WAV sample width: {width * 8} bits")
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
        mode = os.fstat(self.stream.fileno()).st_mode
        if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or self.stream.isatty()):
            # A regular file ends, and so does /dev/null (which epoll cannot watch): blocking
            # reads in a thread are fine.
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
        # Said now, before any model loads, rather than when the file is written at the end.
        if not self.path.parent.is_dir():
            raise BadFileError(f"{self.path}: directory {self.path.parent} does not exist")
        if self.path.is_dir():
            raise BadFileError(f"{self.path}: is a directory; name a .wav file to write")

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
        try:
            await asyncio.to_thread(write_wav, self.path, audio, self.sample_rate)
        except OSError as err:
            raise BadFileError(f"{self.path}: cannot be written: {err.strerror or err}") from err


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
