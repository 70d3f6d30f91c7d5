"""Microphone and speaker through PortAudio (sounddevice)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

import numpy as np
import sounddevice as sd

from homeplm.config.schema import InputSettings, OutputSettings
from homeplm.core.audio import SAMPLE_RATE, Chunker, StreamResampler
from homeplm.core.errors import AudioError, AudioInputError

_LOGGER = logging.getLogger(__name__)

Kind = Literal["input", "output"]

# Seconds a just-started input stream may take to deliver its first block.
FIRST_BLOCK_TIMEOUT_S = 5.0


def _error(kind: Kind) -> type[AudioError]:
    return AudioInputError if kind == "input" else AudioError


def list_devices() -> list[dict[str, Any]]:
    """PortAudio's devices: index, name, channels, default rate and which ones are the defaults."""
    try:
        devices = sd.query_devices()
        default_in, default_out = sd.default.device
    except sd.PortAudioError as err:
        raise AudioError(f"Cannot list audio devices: {err}") from err
    return [
        {
            "index": index,
            "name": str(info["name"]),
            "max_input_channels": int(info["max_input_channels"]),
            "max_output_channels": int(info["max_output_channels"]),
            "default_samplerate": float(info["default_samplerate"]),
            "is_default_in": index == default_in,
            "is_default_out": index == default_out,
        }
        for index, info in enumerate(devices)
    ]


def _describe(devices: list[dict[str, Any]], kind: Kind) -> str:
    usable = [d for d in devices if d[f"max_{kind}_channels"] > 0]
    if not devices:
        return f"no {kind} devices exist ({_NONE_AT_ALL})"
    if not usable:
        return f"no {kind} devices exist"
    return f"{kind} devices: " + "; ".join(f"{d['index']}: {d['name']}" for d in usable)


_NONE_AT_ALL = "PortAudio finds no audio devices at all: no sound card, or no sound server running"
# How to run without the device, said with every "no such device" error.
_WITHOUT = {
    "input": "To run without a microphone: `--input question.wav` (or `--input -`, raw PCM on stdin)",
    "output": "To run without a speaker: `--output none` or `--output reply.wav`",
}


def _hint(kind: Kind) -> str:
    return f"{_WITHOUT[kind]}; `homeplm devices` lists the audio devices"


def require_device(spec: str | int, kind: Kind) -> int | None:
    """find_device, and for "default" also that PortAudio has a default device of this kind: a box
    without a microphone or speaker is told so (with the devices that exist) before models load."""
    device = find_device(spec, kind)
    if device is None:
        _require_default(kind)
    return device


def _require_default(kind: Kind) -> None:
    devices = list_devices()
    if any(d["is_default_in" if kind == "input" else "is_default_out"] for d in devices):
        return
    other: Kind = "output" if kind == "input" else "input"
    if any(d[f"max_{kind}_channels"] > 0 for d in devices):
        problem = f"no default audio {kind} device; {_describe(devices, kind)}: set {kind}.device to one"
    elif devices:
        exist = _describe(devices, other)
        problem = f"no audio {kind} device; the devices that exist are {other} only ({exist})"
    else:
        problem = f"no audio {kind} device: {_NONE_AT_ALL}"
    raise _error(kind)(f"{problem}. {_hint(kind)}", code=f"no_{kind}_device")


def find_device(spec: str | int, kind: Kind) -> int | None:
    """PortAudio index for a configured device: None for "default", else by index or name part."""
    if isinstance(spec, str) and spec.strip().lower() in ("", "default"):
        return None
    if isinstance(spec, str) and spec.strip().isdigit():
        spec = int(spec)
    devices = list_devices()
    channels = f"max_{kind}_channels"
    if isinstance(spec, int):
        if 0 <= spec < len(devices) and devices[spec][channels] > 0:
            return spec
        problem = f"No {kind} device with index {spec}"
    else:
        for device in devices:
            if spec.lower() in device["name"].lower() and device[channels] > 0:
                return int(device["index"])
        problem = f"No {kind} device whose name contains {spec!r}"
    raise _error(kind)(
        f"{problem}; {_describe(devices, kind)}. {_hint(kind)}", code=f"{kind}_device_not_found"
    )


def _pick_rate(device: int | None, kind: Kind, wanted: int) -> int:
    """`wanted` if the device takes it at int16 mono, else the device's default rate."""
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    try:
        check(device=device, channels=1, dtype="int16", samplerate=wanted)
        return wanted
    except (sd.PortAudioError, ValueError):
        pass
    try:
        rate = int(sd.query_devices(device, kind)["default_samplerate"])
        check(device=device, channels=1, dtype="int16", samplerate=rate)
    except (sd.PortAudioError, ValueError) as err:
        if device is None:
            _require_default(kind)  # "Error querying device -1": say that there is no device
        raise _error(kind)(f"The {kind} device cannot record/play 16-bit mono: {err}") from err
    _LOGGER.info("The %s device does not take %d Hz; using %d Hz", kind, wanted, rate)
    return rate


class MicSource:
    """Live 80 ms chunks at 16 kHz from a PortAudio input stream."""

    def __init__(self, settings: InputSettings, loop: asyncio.AbstractEventLoop | None = None):
        self._settings = settings
        self._loop = loop
        # A name or index that matches no device fails here, at once. Whether the device opens
        # is only found out in _open(), inside chunks(): a microphone that went away is an
        # AudioInputError there, which the supervisor retries, rather than one that ends it.
        self._device = find_device(settings.device, "input")
        self.rate = SAMPLE_RATE
        self._resampler = StreamResampler(SAMPLE_RATE, SAMPLE_RATE)
        self._chunker = Chunker()
        blocks = max(4, settings.queue_chunks * 80 // settings.block_ms)
        self._queue: asyncio.Queue[np.ndarray | None] = asyncio.Queue(maxsize=blocks)
        self._stream: sd.InputStream | None = None
        self._closed = False
        # Blocks thrown away because the loop fell behind (PortAudio is never blocked), and
        # PortAudio's own input overflows.
        self.dropped_blocks = 0
        self.device_overflows = 0

    def _callback(self, indata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        # PortAudio's thread: copy and hand over; never block, never raise.
        if status:
            self.device_overflows += 1
        block = indata[:, 0].copy()
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed in between
                loop.call_soon_threadsafe(self._put, block)

    def _put(self, block: np.ndarray | None) -> None:
        try:
            self._queue.put_nowait(block)
        except asyncio.QueueFull:
            self.dropped_blocks += 1

    def _open(self) -> None:
        self._loop = self._loop or asyncio.get_running_loop()
        self.rate = _pick_rate(self._device, "input", SAMPLE_RATE)
        self._resampler = StreamResampler(self.rate, SAMPLE_RATE)
        try:
            self._stream = sd.InputStream(
                device=self._device,
                samplerate=self.rate,
                channels=1,
                dtype="int16",
                blocksize=self.rate * self._settings.block_ms // 1000,
                callback=self._callback,
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as err:
            raise AudioInputError(f"Cannot open the input device: {err}") from err
        _LOGGER.info("Microphone open at %d Hz", self.rate)

    async def chunks(self) -> AsyncIterator[np.ndarray]:
        if self._stream is None:
            self._open()
        # The first block may be slow to come (PulseAudio through ALSA: up to ~2 s after start),
        # so a short stall timeout counts only once audio flows.
        timeout = max(self._settings.stall_timeout_s, FIRST_BLOCK_TIMEOUT_S)
        while not self._closed:
            try:
                block = await asyncio.wait_for(self._queue.get(), timeout)
            except TimeoutError:
                raise AudioInputError(
                    f"No audio from the input device for {timeout:g} s (unplugged?)",
                    code="audio_input_stalled",
                ) from None
            if block is None:
                break
            timeout = self._settings.stall_timeout_s
            for chunk in self._chunker.push(self._resampler.process(block)):
                yield chunk

    def discard_pending(self) -> None:
        while True:
            try:
                block = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            if block is None:  # keep the close marker
                self._queue.put_nowait(None)
                break
        self._chunker = Chunker()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        stream, self._stream = self._stream, None
        if stream is not None:
            await asyncio.to_thread(stream.close)  # stops the callback first
        self.discard_pending()
        self._put(None)
        if self.dropped_blocks or self.device_overflows:
            _LOGGER.warning(
                "Microphone lost %d block(s) in the loop, %d in the device",
                self.dropped_blocks,
                self.device_overflows,
            )


class SpeakerSink:
    """Plays int16 mono at `sample_rate` on a PortAudio output stream, from a worker thread."""

    BLOCK_S = 0.05  # stop() takes effect between blocks of this length
    REWIND_BLOCKS = 2  # after a hold, it goes on this many blocks back (what the device dropped)

    def __init__(self, settings: OutputSettings) -> None:
        self._volume = settings.volume
        device = require_device(settings.device, "output")
        self.sample_rate = _pick_rate(device, "output", settings.sample_rate)
        try:
            self._stream = sd.OutputStream(
                device=device, samplerate=self.sample_rate, channels=1, dtype="int16"
            )
        except (sd.PortAudioError, ValueError) as err:
            raise AudioError(f"Cannot open the output device: {err}") from err
        self._stream_lock = threading.Lock()  # only one thread touches the stream at a time
        # Bumped by stop(): queued and in-flight audio of older generations is dropped.
        self._generation = 0
        self._queue: asyncio.Queue[tuple[int, np.ndarray]] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._error: AudioError | None = None
        # Told each block as it goes to the device (an echo canceller's far-end reference).
        self.reference: Callable[[np.ndarray, int], None] | None = None
        # Cleared by hold(): silence at once, the place kept; set again by release().
        self._playing = threading.Event()
        self._playing.set()

    def _scaled(self, audio: np.ndarray) -> np.ndarray:
        if self._volume == 1.0:
            return np.ascontiguousarray(audio, dtype=np.int16)
        scaled = audio.astype(np.float32) * self._volume
        return np.clip(scaled, -32768, 32767).astype(np.int16)

    def _raise_pending(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    async def play(self, audio: np.ndarray) -> None:
        self._raise_pending()
        if audio.size == 0:
            return
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_loop(), name="speaker-writer")
        self._queue.put_nowait((self._generation, self._scaled(audio)))

    async def _write_loop(self) -> None:
        while True:
            generation, audio = await self._queue.get()
            try:
                if generation == self._generation:
                    await asyncio.to_thread(self._write, generation, audio)
            except AudioError as err:
                self._error = err
                _LOGGER.error("Playback failed: %s", err)
            finally:
                self._queue.task_done()

    def _write(self, generation: int, audio: np.ndarray) -> None:
        block = max(1, int(self.sample_rate * self.BLOCK_S))
        with self._stream_lock:
            try:
                start = 0
                while start < len(audio):
                    if generation != self._generation:
                        self._stream.abort()  # drop what the device has buffered too
                        return
                    if not self._playing.is_set():
                        start = self._held(generation, start, block)
                        continue
                    if not self._stream.active:
                        self._stream.start()
                    piece = audio[start : start + block]
                    if self.reference is not None:
                        self.reference(piece, self.sample_rate)
                    self._stream.write(piece)
                    start += block
            except sd.PortAudioError as err:
                raise AudioError(f"Cannot write to the output device: {err}") from err

    def _held(self, generation: int, start: int, block: int) -> int:
        """Silent until release() or stop(); where to go on from (what the device dropped again)."""
        if self._stream.active:
            self._stream.abort()
        while not self._playing.wait(0.02) and generation == self._generation:
            pass
        return max(0, start - self.REWIND_BLOCKS * block)

    def hold(self) -> None:
        """Silence now, the place kept: a voice may be barging in. `release()` goes on from there."""
        self._playing.clear()
        self._silence_if_idle("hold")

    def release(self) -> None:
        """Go on after hold() (it was not a barge-in)."""
        self._playing.set()

    async def drain(self) -> None:
        await self._queue.join()
        self._raise_pending()
        await asyncio.to_thread(self._finish)

    def _finish(self) -> None:
        with self._stream_lock:
            if self._stream.active:
                self._stream.stop()  # returns once the buffered audio has been played

    def stop(self) -> None:
        self._generation += 1
        self._playing.set()  # a stop ends a hold: what comes next plays
        self._silence_if_idle("stop")

    def _silence_if_idle(self, what: str) -> None:
        """If no write is in flight, silence what the device still holds; else the writer does it."""
        if self._stream_lock.acquire(blocking=False):
            try:
                if self._stream.active:
                    self._stream.abort()
            except sd.PortAudioError as err:
                _LOGGER.warning("Cannot %s playback: %s", what, err)
            finally:
                self._stream_lock.release()

    async def close(self) -> None:
        self.stop()
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        await asyncio.to_thread(self._close_stream)

    def _close_stream(self) -> None:
        with self._stream_lock:  # a write still in flight sees the new generation and returns
            self._stream.close()
