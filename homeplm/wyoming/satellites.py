"""Satellites in other rooms (`satellites:`): homeplm connects to each Wyoming satellite as Home
Assistant does — `run-satellite`, then the satellite's microphone as a stream of audio chunks — and
runs that room's turns on the shared models (one ASR, one LLM, one TTS, each with its own queue).
Each room has its own wake word detector, voice activity state and listener, so a turn in one room
never stops another room's microphone; the answer goes back to the satellite that asked, as audio
events its speaker plays, with the events a satellite shows (detection, voice started/stopped,
transcript). A satellite that woke itself (`run-pipeline` from the ASR stage) starts a turn at once.

Failure is local: a satellite that cannot be reached or drops off is retried with back-off
(1 s … 30 s) and shown as disconnected; a broken frame, an unknown event or an unusable audio format
is logged in one line and the connection is reset or the chunk skipped — never the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from wyoming.asr import Transcript as WyomingTranscript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event, async_write_event
from wyoming.info import Info
from wyoming.ping import Ping, Pong
from wyoming.pipeline import PipelineStage, RunPipeline
from wyoming.satellite import RunSatellite
from wyoming.tts import Synthesize
from wyoming.vad import VoiceStarted, VoiceStopped
from wyoming.wake import Detection

from homeplm.config.schema import SatelliteSettings, Settings
from homeplm.core import events as ev
from homeplm.core.audio import CHUNK_SAMPLES, SAMPLE_RATE, StreamResampler
from homeplm.core.events import EventCallback, PipelineEvent
from homeplm.core.stages import WakeDetection, WakeDetector
from homeplm.voice.listener import Listener
from homeplm.voice.pipeline import Components, Pipeline
from homeplm.wyoming.audio_in import AudioFormat, AudioRejected, decode
from homeplm.wyoming.frames import MAX_HEADER_BYTES, FrameError, read_event
from homeplm.wyoming.room_timers import RoomTimers

_LOGGER = logging.getLogger(__name__)

BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
CONNECT_TIMEOUT_S = 10.0
# A satellite that waits for its own wake word sends nothing for hours: no idle limit but this.
IDLE_S = 24 * 3600.0
# Audio a room has not taken yet is kept up to this many 80 ms chunks (20 s); older is dropped.
MAX_QUEUED_CHUNKS = 250
OUT_SAMPLES = 1024  # samples per audio chunk sent to a satellite's speaker
PLAYOUT_MARGIN_S = 0.3  # after the last audio, before the room listens again (the speaker's buffer)


class SatelliteStream:
    """A satellite's microphone as an AudioSource: 80 ms chunks at 16 kHz, from any format it sends."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[np.ndarray | None] = asyncio.Queue()
        self._pending = np.zeros(0, dtype=np.int16)
        self._resampler: StreamResampler | None = None
        self.dropped = 0

    def feed(self, pcm: bytes, audio: AudioFormat) -> None:
        samples = decode(pcm, audio)
        if audio.rate != SAMPLE_RATE:
            if self._resampler is None or self._resampler.rate_in != audio.rate:
                self._resampler = StreamResampler(audio.rate, SAMPLE_RATE)
            samples = self._resampler.process(samples)
        self._pending = np.concatenate((self._pending, samples))
        whole = len(self._pending) - len(self._pending) % CHUNK_SAMPLES
        for start in range(0, whole, CHUNK_SAMPLES):
            if self._queue.qsize() >= MAX_QUEUED_CHUNKS:
                self._queue.get_nowait()
                self.dropped += 1
            self._queue.put_nowait(self._pending[start : start + CHUNK_SAMPLES])
        self._pending = self._pending[whole:]

    def end(self) -> None:
        self._queue.put_nowait(None)

    async def chunks(self) -> AsyncIterator[np.ndarray]:
        while (chunk := await self._queue.get()) is not None:
            yield chunk

    def discard_pending(self) -> None:
        """Drop what the satellite heard while its room was busy (its own voice)."""
        ended = False
        while not self._queue.empty():
            ended = self._queue.get_nowait() is None or ended
        if ended:
            self.end()

    async def close(self) -> None:
        self.end()


class SatelliteWake:
    """The room's own wake word detector, or the satellite's: after it woke itself, the next chunk
    counts as woken."""

    def __init__(self, inner: WakeDetector) -> None:
        self.inner = inner
        self.remote: str | None = None

    @property
    def names(self) -> Sequence[str]:
        return self.inner.names

    def process(self, chunk: np.ndarray) -> WakeDetection | None:
        if self.remote is not None:
            name, self.remote = self.remote, None
            return WakeDetection(name, 1.0)
        return self.inner.process(chunk)

    def reset(self) -> None:
        self.inner.reset()


class SatelliteSink:
    """The satellite's speaker: audio events over the connection, paced by how long they play."""

    def __init__(self, send: Callable[[Event], None], sample_rate: int) -> None:
        self._send = send
        self.sample_rate = sample_rate
        self._started = False
        self._until = 0.0  # when the satellite will have played all it was sent (monotonic)

    async def play(self, audio: np.ndarray) -> None:
        pcm = np.asarray(audio, dtype=np.int16)
        if not self._started:
            self._send(AudioStart(rate=self.sample_rate, width=2, channels=1).event())
            self._started = True
        for start in range(0, len(pcm), OUT_SAMPLES):
            piece = pcm[start : start + OUT_SAMPLES].tobytes()
            self._send(AudioChunk(rate=self.sample_rate, width=2, channels=1, audio=piece).event())
        self._until = max(self._until, time.monotonic()) + len(pcm) / self.sample_rate

    async def drain(self) -> None:
        """The stream is closed; returns once the satellite has had time to play it."""
        if self._started:
            self._send(AudioStop().event())
            self._started = False
        wait = self._until - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait + PLAYOUT_MARGIN_S)

    def stop(self) -> None:
        self._until = time.monotonic()
        if self._started:
            self._send(AudioStop().event())
            self._started = False

    async def close(self) -> None:
        self.stop()


class SatelliteRoom:
    """One satellite: its connection (kept up with back-off), its listener and its pipeline."""

    def __init__(
        self, entry: SatelliteSettings, settings: Settings, main: Pipeline, wake: WakeDetector, vad: Any
    ) -> None:
        self.entry = entry
        parts = urlsplit(entry.uri)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 10700
        self.connected = False
        self.connects = 0
        self._out: asyncio.Queue[Event | None] | None = None
        self.wake = SatelliteWake(wake)
        tts = main.parts.tts
        self.sink = SatelliteSink(self.send, getattr(tts, "sample_rate", 22050))
        components = Components(vad=vad, stt=main.parts.stt, brain=main.parts.brain, tts=tts)
        self.pipeline = Pipeline(
            components, settings, self.emit, self.sink, main.asr_prompt, main.asr_candidates
        )
        self.pipeline.room = entry.area or entry.name
        self.listener = Listener(self.pipeline, self.wake, self.emit)
        self.stream: SatelliteStream | None = None
        self._speech_end: float | None = None  # when the endpointer last ended speech, until audio goes
        # More of this room's events and connection changes (True/False): Home Assistant's room device.
        self.event_listeners: list[EventCallback] = []
        self.connection_listeners: list[Callable[[bool], None]] = []

    @property
    def name(self) -> str:
        return self.entry.name

    # -- to the satellite ---------------------------------------------------------------------------

    def send(self, event: Event) -> None:
        """Queue an event for the satellite (dropped while it is not connected)."""
        if self._speech_end is not None and AudioChunk.is_type(event.type):
            # As `homeplm bench` counts it: from the endpointer's end of speech to the first audio out.
            ms = (time.monotonic() - self._speech_end) * 1000
            self._speech_end = None
            _LOGGER.info("%s: first audio %.0f ms after the end of speech", self.name, ms)
        if self._out is not None:
            self._out.put_nowait(event)

    def emit(self, event: PipelineEvent) -> None:
        """The room's pipeline events, as the satellite shows them (and in the log)."""
        data = event.data
        if isinstance(data, ev.Wake):
            self.send(Detection(name=data.name).event())
        elif isinstance(data, ev.SpeechStart):
            self.send(VoiceStarted().event())
        elif isinstance(data, ev.SpeechEnd):
            self._speech_end = time.monotonic()
            self.send(VoiceStopped().event())
        elif isinstance(data, ev.Transcript):
            _LOGGER.debug("%s heard: %r", self.name, data.text)  # what was said: DEBUG only
            self.send(WyomingTranscript(text=data.text).event())
        elif isinstance(data, ev.ReplyEnd):
            _LOGGER.info("%s answered (%s)", self.name, data.route)
            _LOGGER.debug("%s answered: %r", self.name, data.text)
            if data.text:
                self.send(Synthesize(text=data.text).event())
        elif isinstance(data, ev.TurnError):
            _LOGGER.warning("%s: the turn failed: %s", self.name, data.message)
        elif isinstance(data, ev.RunEnd):
            self._speech_end = None  # a turn that said nothing: the next chime is not its answer
        self._tell(self.event_listeners, event)

    def _tell(self, listeners: Sequence[Callable[[Any], None]], value: Any) -> None:
        for listener in listeners:
            try:
                listener(value)
            except Exception:
                _LOGGER.exception("satellite %s: a listener failed", self.name)

    def _set_connected(self, connected: bool) -> None:
        self.connected = connected
        self._tell(self.connection_listeners, connected)

    # -- the connection -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, serve, and reconnect with back-off, for ever (until cancelled)."""
        failures = 0
        while True:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port, limit=MAX_HEADER_BYTES), CONNECT_TIMEOUT_S
                )
            except (OSError, TimeoutError) as err:
                delay = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
                log = _LOGGER.warning if failures == 0 else _LOGGER.debug
                log(
                    "satellite %s (%s) unreachable: %s; trying again in %.0f s",
                    self.name,
                    self.entry.uri,
                    err,
                    delay,
                )
                failures += 1
                await asyncio.sleep(delay)
                continue
            failures = 0
            self.connects += 1
            _LOGGER.info("satellite %s connected (%s, %s)", self.name, self.entry.uri, self.pipeline.room)
            try:
                await self._serve(reader, writer)
                _LOGGER.warning("satellite %s closed the connection; reconnecting", self.name)
            except FrameError as err:
                _LOGGER.warning("satellite %s broke the protocol (%s); reconnecting", self.name, err)
            except (ConnectionError, OSError) as err:
                _LOGGER.warning("satellite %s dropped off (%s); reconnecting", self.name, err)
            finally:
                self._set_connected(False)
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
            await asyncio.sleep(BACKOFF_S[0])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._out = asyncio.Queue()
        self.stream = stream = SatelliteStream()
        writing = asyncio.create_task(self._write(writer, self._out))
        listening = asyncio.create_task(self.listener.run(stream))
        self._set_connected(True)
        self.send(RunSatellite().event())
        try:
            while not writing.done() and (event := await read_event(reader, IDLE_S)) is not None:
                self._on_event(event, stream)
        finally:
            stream.end()
            self._out.put_nowait(None)
            self._out = None
            for task in (listening, writing):
                task.cancel()
            await asyncio.gather(listening, writing, return_exceptions=True)

    def _on_event(self, event: Event, stream: SatelliteStream) -> None:
        try:
            if AudioChunk.is_type(event.type):
                if not isinstance(event.payload, bytes | bytearray):
                    raise AudioRejected("an audio chunk without audio", "audio-format")
                stream.feed(event.payload, AudioFormat.from_data(event.data))
            elif RunPipeline.is_type(event.type):
                run = RunPipeline.from_event(event)
                if run.start_stage != PipelineStage.WAKE:  # it heard its own wake word
                    self.wake.remote = run.wake_word_name or "satellite"
                _LOGGER.info("satellite %s runs a pipeline from %s", self.name, run.start_stage.value)
            elif Ping.is_type(event.type):
                self.send(Pong(text=Ping.from_event(event).text).event())
            elif Info.is_type(event.type):
                _LOGGER.info(
                    "satellite %s: %s", self.name, event.data.get("satellite") or "no satellite info"
                )
            elif not (AudioStart.is_type(event.type) or AudioStop.is_type(event.type)):
                _LOGGER.debug("satellite %s sent %s (ignored)", self.name, event.type)
        except AudioRejected as err:
            _LOGGER.warning("satellite %s: %s; the chunk is skipped", self.name, err)
        except (ValueError, KeyError, TypeError) as err:
            _LOGGER.warning(
                "satellite %s sent a malformed %s event (%s); ignored", self.name, event.type, err
            )

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, out: asyncio.Queue[Event | None]) -> None:
        while (event := await out.get()) is not None:
            await async_write_event(event, writer)

    def status(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "area": self.entry.area,
            "uri": self.entry.uri,
            "connected": self.connected,
            "turns": len(self.listener.turns),
        }


class Satellites:
    """Every configured satellite, each on its own task."""

    def __init__(self, rooms: list[SatelliteRoom]) -> None:
        self.rooms = rooms
        self._tasks: list[asyncio.Task[None]] = []
        self.timers: RoomTimers | None = None  # each room's timers shown on its satellite

    @classmethod
    async def start(
        cls,
        settings: Settings,
        main: Pipeline,
        make_wake: Callable[[Settings], WakeDetector],
        make_vad: Callable[[WakeDetector], Any],
    ) -> Satellites:
        """A room per `satellites:` entry (its wake word and VAD models loaded in a thread), running."""
        rooms = []
        for entry in settings.satellites:
            wake = await asyncio.to_thread(make_wake, settings)
            vad = await asyncio.to_thread(make_vad, wake)
            rooms.append(SatelliteRoom(entry, settings, main, wake, vad))
        satellites = cls(rooms)
        satellites._tasks = [asyncio.create_task(room.run(), name=f"satellite {room.name}") for room in rooms]
        return satellites

    def status(self) -> list[dict[str, Any]]:
        return [room.status() for room in self.rooms]

    def pipeline_for(self, room: str) -> Pipeline | None:
        """The pipeline of the satellite standing in `room` (its area, or its name)."""
        wanted = room.strip().lower()
        return next((r.pipeline for r in self.rooms if (r.pipeline.room or "").lower() == wanted), None)

    def attach_planner(self, planner: Any) -> None:
        """A timer rings in the room it was set in, that room's "stop" stops it, and its satellite
        is told of the room's timers (started, updated, cancelled, finished)."""
        ringer = planner.ringer
        ringer.room_pipelines = self.pipeline_for
        for room in self.rooms:
            room.listener.alert = ringer.alert_for(room.pipeline.room or "")
            room.pipeline.on_stop.append(ringer.stop)
        self.timers = RoomTimers(list(self.rooms), planner, asyncio.get_running_loop())

    async def close(self) -> None:
        """Every room's task ends: cancelled again until it does (Python 3.11's wait_for can swallow
        a cancellation that arrives as its read completes, and the room would read on for a day)."""
        pending = {task for task in self._tasks if not task.done()}
        while pending:
            for task in pending:
                task.cancel()
            _done, pending = await asyncio.wait(pending, timeout=1.0)
