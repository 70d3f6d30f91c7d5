"""One Wyoming connection: the events a client sends and what answers each.

    describe                                   → info
    transcribe? audio-start audio-chunk* audio-stop → transcript
    synthesize                                 → audio-start audio-chunk* audio-stop
    synthesize-start synthesize-chunk* (synthesize) synthesize-stop
                                               → (audio-start audio-chunk* audio-stop)* synthesize-stopped
    transcript (text to answer)                → handled / not-handled
    ping                                       → pong

A request that cannot be served (bad audio, too long, a failed model) gets an `error` event and the
connection ends: Home Assistant's speech clients wait for their answer until the connection closes.
A broken frame ends the connection with one warning; an unknown event is ignored.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe, Info
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped

from homeplm.core.errors import HomeplmError
from homeplm.core.workers import VOICE, worker
from homeplm.voice.pipeline import Pipeline, Stage
from homeplm.wyoming.audio_in import AudioFormat, AudioRejected, UtteranceBuffer
from homeplm.wyoming.frames import IDLE_TIMEOUT_S, FrameError, read_event
from homeplm.wyoming.speech import SynthesisStream, TextTooLong, Voice

_LOGGER = logging.getLogger(__name__)

MAX_HANDLE_CHARS = 2_000
MAX_CONTEXT_BYTES = 4_096  # a context is echoed back only if it is this small
SORRY = "Sorry, I couldn't answer that just now."
# Events a client may send that need no answer from a server like this one.
_QUIET = frozenset({"select-program", "error", "pong", "audio-stop"})


class RequestFailed(Exception):
    """A request that gets an `error` event; the connection then ends."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class Services:
    """What every connection shares: the pipeline, the info it gives, the audio cap."""

    pipeline: Pipeline
    info: Info
    max_audio_s: float
    idle_timeout_s: float = IDLE_TIMEOUT_S  # a connection without an event this long is closed


class WyomingHandler(AsyncEventHandler):
    """Serves one connection's events in order (see the module's table)."""

    def __init__(
        self, services: Services, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        super().__init__(reader, writer)
        self.services = services
        self.pipeline = services.pipeline
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "?"
        self._audio: UtteranceBuffer | None = None
        self._format: AudioFormat | None = None
        self._stream: SynthesisStream | None = None
        self._warned: set[str] = set()

    async def run(self) -> None:
        """Events until the client leaves, a request ends it, or a frame is broken; never raises
        (but for cancellation)."""
        self._is_running = True
        try:
            while self._is_running:
                event = await read_event(self.reader, self.services.idle_timeout_s)
                if event is None or not await self.handle_event(event):
                    break
        except FrameError as err:
            _LOGGER.warning("wyoming: %s: %s; closing the connection", self.peer, err)
        except (ConnectionError, OSError) as err:
            _LOGGER.warning("wyoming: %s went away mid-request (%s)", self.peer, type(err).__name__)
        except Exception:
            _LOGGER.exception("wyoming: %s: a request failed", self.peer)
        finally:
            await self.disconnect()
            self.writer.close()

    async def disconnect(self) -> None:
        if self._stream is not None:
            await self._stream.cancel()
            self._stream = None

    async def handle_event(self, event: Event) -> bool:
        """Answer one event; False ends the connection."""
        try:
            return await self._dispatch(event)
        except (RequestFailed, AudioRejected) as err:
            _LOGGER.warning("wyoming: %s: %s: %s", self.peer, event.type, err)
            await self.write_event(Error(text=str(err), code=err.code).event())
            return False

    async def _dispatch(self, event: Event) -> bool:
        kind = event.type
        if Describe.is_type(kind):
            await self.write_event(self.services.info.event())
        elif Ping.is_type(kind):
            await self.write_event(Pong(text=_text(event.data, "text", 256, default="")).event())
        elif Transcribe.is_type(kind):
            self._audio, self._format = UtteranceBuffer(self.services.max_audio_s), None
        elif AudioStart.is_type(kind):
            self._format = AudioFormat.from_data(event.data)
            self._audio = self._audio or UtteranceBuffer(self.services.max_audio_s)
        elif AudioChunk.is_type(kind):
            self._add_audio(event)
        elif AudioStop.is_type(kind) and self._audio is not None:
            return await self._transcribe()
        elif Transcript.is_type(kind):
            await self._answer(event.data)
        elif Synthesize.is_type(kind):
            if self._stream is None:  # while streaming it repeats the whole text: said already
                await self._say(_text(event.data, "text", None))
        elif SynthesizeStart.is_type(kind):
            await self.disconnect()
            self._stream = SynthesisStream(self._voice())
        elif SynthesizeChunk.is_type(kind):
            self._push(_text(event.data, "text", None))
        elif SynthesizeStop.is_type(kind):
            return await self._finish_stream()
        elif kind not in _QUIET and kind not in self._warned:
            self._warned.add(kind)
            _LOGGER.warning("wyoming: %s: ignored an event homeplm does not serve: %r", self.peer, kind[:64])
        return True

    # -- speech to text --------------------------------------------------------------------------

    def _add_audio(self, event: Event) -> None:
        if self._audio is None:  # chunks without audio-start: a transcription all the same
            self._audio = UtteranceBuffer(self.services.max_audio_s)
        audio = AudioFormat.from_data(event.data, self._format)
        self._format = self._format or audio
        self._audio.add(event.payload or b"", audio)

    async def _transcribe(self) -> bool:
        assert self._audio is not None
        audio, self._audio, self._format = self._audio.audio(), None, None
        stt = self.pipeline.parts.stt
        if stt is None:
            raise RequestFailed("speech recognition is not loaded", "not-available")
        started = time.perf_counter()
        call = functools.partial(stt.transcribe, audio, prompt=self.pipeline.asr_prompt())
        try:
            transcript = await worker("stt").call(call, VOICE)
        except HomeplmError as err:
            raise RequestFailed(f"speech recognition failed: {err.message}", err.code) from None
        _LOGGER.info(
            "wyoming: %s: transcribed %.1f s of audio in %.0f ms",
            self.peer,
            len(audio) / 16_000,
            (time.perf_counter() - started) * 1000,
        )
        _LOGGER.debug("wyoming: heard %r", transcript.text)
        await self.write_event(Transcript(text=transcript.text, language=transcript.language).event())
        return True

    # -- text to speech --------------------------------------------------------------------------

    def _voice(self) -> Voice:
        tts = self.pipeline.parts.tts
        if tts is None:
            raise RequestFailed("speech synthesis is not loaded", "not-available")
        return Voice(tts, self.write_event)

    async def _say(self, text: str) -> None:
        voice = self._voice()
        started = time.perf_counter()
        try:
            samples = await voice.say(text)
        except TextTooLong as err:
            raise RequestFailed(str(err), "text-too-long") from None
        except HomeplmError as err:
            raise RequestFailed(f"speech synthesis failed: {err.message}", err.code) from None
        _LOGGER.info(
            "wyoming: %s: said %d characters as %.1f s of audio in %.0f ms (first audio after %.0f ms)",
            self.peer,
            len(text),
            samples / voice.rate,
            (time.perf_counter() - started) * 1000,
            (voice.first_audio_s or 0.0) * 1000,
        )

    def _push(self, text: str) -> None:
        if self._stream is None:
            raise RequestFailed("synthesize-chunk without synthesize-start", "protocol")
        try:
            self._stream.push(text)
        except TextTooLong as err:
            raise RequestFailed(str(err), "text-too-long") from None

    async def _finish_stream(self) -> bool:
        stream, self._stream = self._stream, None
        if stream is None:
            raise RequestFailed("synthesize-stop without synthesize-start", "protocol")
        try:
            await stream.finish()
        except HomeplmError as err:
            raise RequestFailed(f"speech synthesis failed: {err.message}", err.code) from None
        await self.write_event(SynthesizeStopped().event())
        _LOGGER.info(
            "wyoming: %s: streamed %d sentences as %.1f s of audio (first audio after %.0f ms)",
            self.peer,
            stream.said,
            stream.samples / stream.voice.rate,
            (stream.voice.first_audio_s or 0.0) * 1000,
        )
        return True

    # -- the brain -------------------------------------------------------------------------------

    async def _answer(self, data: dict[str, Any]) -> None:
        text = _text(data, "text", MAX_HANDLE_CHARS)
        context = _small_context(data.get("context"))
        if self.pipeline.parts.brain is None:
            await self.write_event(NotHandled(text="My brain is not loaded.", context=context).event())
            return
        started = time.perf_counter()
        result = await self.pipeline.run_text(text, Stage.BRAIN, source="wyoming")
        record = result.record
        # The route at INFO; its reason and details can quote what was said: DEBUG.
        _LOGGER.info(
            "wyoming: %s: answered by %s in %.0f ms: %s",
            self.peer,
            record.get("route", "?"),
            (time.perf_counter() - started) * 1000,
            result.outcome,
        )
        _LOGGER.debug("wyoming: route record %s", record)
        if result.outcome == "ok" and result.reply:
            await self.write_event(Handled(text=result.reply, context=context).event())
        else:
            if result.error is not None:
                _LOGGER.warning("wyoming: %s: the brain failed: %s", self.peer, result.error.message)
            await self.write_event(NotHandled(text=SORRY, context=context).event())


def _text(data: dict[str, Any], key: str, limit: int | None, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise RequestFailed(f"'{key}' is missing or not text", "bad-request")
    if limit is not None and len(value) > limit:
        raise RequestFailed(f"'{key}' is longer than {limit} characters", "text-too-long")
    return value


def _small_context(context: object) -> dict[str, Any] | None:
    """The client's context (Home Assistant's conversation id), to echo back; None if odd or big."""
    if not isinstance(context, dict):
        return None
    try:
        return context if len(json.dumps(context)) <= MAX_CONTEXT_BYTES else None
    except (TypeError, ValueError):
        return None
