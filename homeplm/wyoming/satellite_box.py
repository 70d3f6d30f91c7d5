"""`homeplm satellite`: a small box with a microphone and a speaker in another room, speaking the
Wyoming satellite protocol, so that either homeplm (its `satellites:` list) or Home Assistant can own
it. It listens on a TCP port; its owner connects, asks `describe`, then sends `run-satellite`; from
then on the microphone goes to the owner as audio chunks — all of it (the owner listens for the wake
word), or, with a local wake word (`--wake`), only from each wake word until the owner's transcript —
and the audio the owner sends is played on the speaker, answered with `played`.

One owner at a time: a new connection replaces the old one (an owner that restarted). A broken frame
ends that connection with one log line; the box keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

import numpy as np
from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event, async_write_event
from wyoming.info import Attribution, Describe, Info, Satellite
from wyoming.ping import Ping, Pong
from wyoming.pipeline import PipelineStage, RunPipeline
from wyoming.satellite import PauseSatellite, RunSatellite
from wyoming.snd import Played
from wyoming.wake import Detection

from homeplm import __version__
from homeplm.config.schema import Settings
from homeplm.core.audio import CHUNK_MS, SAMPLE_RATE, StreamResampler
from homeplm.core.stages import AudioSink, AudioSource, WakeDetector
from homeplm.wyoming.audio_in import AudioFormat, AudioRejected, decode
from homeplm.wyoming.frames import MAX_HEADER_BYTES, FrameError, read_event

_LOGGER = logging.getLogger(__name__)

IDLE_S = 24 * 3600.0  # an owner may stay quiet for hours between turns
PREROLL_MS = 400  # with a local wake word: the audio just before the detection goes first
ATTRIBUTION = Attribution(name="homeplm", url="https://github.com/homeplm/homeplm")


class SatelliteBox:
    """The microphone to the owner, the owner's audio to the speaker."""

    def __init__(
        self,
        name: str,
        area: str,
        source: AudioSource,
        sink: AudioSink,
        wake: WakeDetector | None = None,
    ) -> None:
        self.name, self.area = name, area
        self.source, self.sink, self.wake = source, sink, wake
        self._writer: asyncio.StreamWriter | None = None
        self.running = False  # run-satellite received from the current owner
        self.streaming = False  # with a local wake word: between a detection and the transcript
        self._preroll: deque[np.ndarray] = deque(maxlen=PREROLL_MS // CHUNK_MS)
        self._resampler: StreamResampler | None = None
        self.played_s = 0.0
        self.owners = 0

    def info(self) -> Info:
        satellite = Satellite(
            name=self.name,
            attribution=ATTRIBUTION,
            installed=True,
            description=f"homeplm satellite ({self.area or 'no area'})",
            version=__version__,
            area=self.area or None,
            active_wake_words=list(self.wake.names) if self.wake is not None else None,
        )
        return Info(satellite=satellite)

    # -- the owner's connection ---------------------------------------------------------------------

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one owner until it leaves or breaks the protocol (the newest owner wins)."""
        peer = writer.get_extra_info("peername")
        if self._writer is not None:
            _LOGGER.info("a new owner (%s) replaces the old one", peer)
            self._writer.close()
        self._writer, self.running, self.streaming = writer, False, False
        self.owners += 1
        _LOGGER.info("owner connected: %s", peer)
        try:
            while (event := await read_event(reader, IDLE_S)) is not None:
                await self._on_event(event)
        except FrameError as err:
            _LOGGER.warning("the owner %s broke the protocol (%s); its connection ends", peer, err)
        except (ConnectionError, OSError) as err:
            _LOGGER.warning("the owner %s dropped off (%s)", peer, err)
        finally:
            if self._writer is writer:
                self._writer, self.running, self.streaming = None, False, False
                _LOGGER.info("owner %s left; waiting for one", peer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _on_event(self, event: Event) -> None:
        try:
            if AudioChunk.is_type(event.type):
                await self._play(event)
            elif AudioStart.is_type(event.type):
                self._resampler = None
            elif AudioStop.is_type(event.type):
                await self.sink.drain()
                await self._send(Played().event())
            elif Describe.is_type(event.type):
                await self._send(self.info().event())
            elif RunSatellite.is_type(event.type):
                self.running = True
                if self.wake is None:  # the owner listens for the wake word: everything goes
                    await self._send(RunPipeline(PipelineStage.WAKE, PipelineStage.TTS).event())
                _LOGGER.info("streaming to the owner%s", "" if self.wake is None else " after the wake word")
            elif PauseSatellite.is_type(event.type):
                self.running = self.streaming = False
            elif Transcript.is_type(event.type):
                self.streaming = False  # the owner heard the request: back to the wake word
            elif Ping.is_type(event.type):
                await self._send(Pong(text=Ping.from_event(event).text).event())
            else:
                _LOGGER.debug("owner sent %s", event.type)
        except AudioRejected as err:
            _LOGGER.warning("the owner's audio: %s; skipped", err)
        except (ValueError, KeyError, TypeError) as err:
            _LOGGER.warning("the owner sent a bad %s event (%s); ignored", event.type, err)

    async def _play(self, event: Event) -> None:
        if not isinstance(event.payload, bytes | bytearray):
            raise AudioRejected("an audio chunk without audio", "audio-format")
        audio = AudioFormat.from_data(event.data)
        samples = decode(event.payload, audio)
        if audio.rate != self.sink.sample_rate:
            if self._resampler is None or self._resampler.rate_in != audio.rate:
                self._resampler = StreamResampler(audio.rate, self.sink.sample_rate)
            samples = self._resampler.process(samples)
        self.played_s += len(samples) / self.sink.sample_rate
        await self.sink.play(samples)

    async def _send(self, event: Event) -> None:
        writer = self._writer
        if writer is None:
            return
        try:
            await async_write_event(event, writer)
        except (ConnectionError, OSError) as err:
            _LOGGER.warning("the owner is gone (%s)", err)
            if self._writer is writer:
                self._writer, self.running, self.streaming = None, False, False

    # -- the microphone -----------------------------------------------------------------------------

    async def listen(self) -> None:
        """The microphone, for as long as it gives audio: each chunk to the owner when it should go."""
        async for chunk in self.source.chunks():
            if not self.running:
                continue
            if self.wake is None or self.streaming:
                await self._send_audio(chunk)
                continue
            self._preroll.append(chunk)
            detection = self.wake.process(chunk)
            if detection is None:
                continue
            self.wake.reset()
            self.streaming = True
            _LOGGER.info("wake word %s (%.2f): streaming to the owner", detection.name, detection.score)
            run = RunPipeline(PipelineStage.ASR, PipelineStage.TTS, wake_word_name=detection.name)
            await self._send(run.event())
            await self._send(Detection(name=detection.name).event())
            while self._preroll:
                await self._send_audio(self._preroll.popleft())

    async def _send_audio(self, chunk: np.ndarray) -> None:
        pcm = np.asarray(chunk, dtype=np.int16).tobytes()
        await self._send(AudioChunk(rate=SAMPLE_RATE, width=2, channels=1, audio=pcm).event())


async def serve_box(settings: Settings, args: Any, source: AudioSource | None, sink: AudioSink) -> None:
    """`homeplm satellite`: the microphone (or `source`), the speaker (or `sink`), and a local wake
    word with `--wake`, served at `--uri` until the input ends."""
    from homeplm.backends import factory
    from homeplm.wyoming.server import parse_uri

    host, port = parse_uri(args.uri)
    wake = await asyncio.to_thread(factory.make_wake, settings) if args.wake else None
    mic = source if source is not None else factory.make_mic(settings)
    try:
        await run_satellite(SatelliteBox(args.name, args.area, mic, sink, wake), host, port)
    finally:
        if source is None:
            await mic.close()


async def run_satellite(box: SatelliteBox, host: str, port: int) -> None:
    """Listen for an owner at host:port and stream the microphone until it ends."""
    server = await asyncio.start_server(box.connection, host, port, limit=MAX_HEADER_BYTES)
    where = server.sockets[0].getsockname()
    _LOGGER.info("satellite %s (%s) waiting for its owner on tcp://%s:%d", box.name, box.area, *where[:2])
    try:
        await box.listen()
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)
