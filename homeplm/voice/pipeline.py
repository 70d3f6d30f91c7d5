"""One turn through the ordered stages: record → speech to text → brain → speech, with events.

A turn can start from audio (after the wake word, or a whole WAV) or from text, and can stop after
any stage. Every turn ends with a RUN_END event, whatever happened.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import itertools
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, TypeVar, cast

import numpy as np

from homeplm.config.schema import Settings
from homeplm.core import events as ev
from homeplm.core.errors import HomeplmError
from homeplm.core.events import EventCallback, FollowUp, PipelineEvent
from homeplm.core.stages import AudioSink, Brain, SpeechToText, TextToSpeech, Turn, VoiceActivity
from homeplm.core.workers import VOICE, worker
from homeplm.voice.chime import follow_up_earcon, wake_chime
from homeplm.voice.endpointer import EndpointerConfig
from homeplm.voice.recheck import CommandRecheck, Rechecked, Scorer
from homeplm.voice.recorder import Recording, UtteranceRecorder
from homeplm.voice.speaker import SentenceSpeaker
from homeplm.voice.splitter import SentenceSplitter
from homeplm.voice.wakephrase import phrases_for, strip_wake_phrase

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")


class Stage(IntEnum):
    """Where a turn may end: after speech recognition, after the brain, or after speech."""

    STT = 1
    BRAIN = 2
    TTS = 3


@dataclass(slots=True)
class TurnResult:
    """How one turn ended: outcome, transcript, reply, error and the brain's route record."""

    run_id: int
    outcome: str = "ok"  # ok | no-speech | no-text | error | cancelled
    transcript: str | None = None
    reply: str | None = None
    error: HomeplmError | None = None
    record: dict[str, Any] = field(default_factory=dict)  # the brain's route record (Turn.record)


@dataclass(slots=True)
class Components:
    """The stages a pipeline uses; any may be None when a command does not need it."""

    vad: VoiceActivity | None = None
    stt: SpeechToText | None = None
    brain: Brain | None = None
    tts: TextToSpeech | None = None


class Pipeline:
    """One turn through the ordered stages (record, recognise, answer, speak), with events."""

    def __init__(
        self,
        parts: Components,
        settings: Settings,
        emit: EventCallback,
        sink: AudioSink | None,
        asr_prompt: Callable[[], str | None] | None = None,
        asr_candidates: Callable[[str], list[str]] | None = None,
    ) -> None:
        self.parts = parts
        self.settings = settings
        self.emit = emit
        self.sink = sink
        self.wake_phrases = phrases_for(settings.wake.models)
        vad = settings.vad
        self.endpointing = EndpointerConfig(
            start_timeout_ms=int(vad.start_timeout_s * 1000),
            min_speech_ms=int(vad.min_speech_s * 1000),
            silence_ms=int(vad.silence_s * 1000),
            max_utterance_ms=int(vad.max_utterance_s * 1000),
        )
        self._run_ids = itertools.count(1)
        self._speaker: SentenceSpeaker | None = None
        # Speech volume; Home Assistant's volume entity changes it at run time.
        self.volume = settings.tts.volume
        # The house's own words for the recogniser (device and room names), from a plug-in.
        self.asr_prompt: Callable[[], str | None] = asr_prompt or (lambda: None)
        # A command heard about nothing the house has, read again against the house's own (a plug-in).
        self.asr_candidates = asr_candidates
        self.recheck: CommandRecheck | None = None
        if asr_candidates is not None and settings.asr.recheck and hasattr(parts.stt, "score"):
            self.recheck = CommandRecheck(cast("Scorer", parts.stt), asr_candidates)
        self._background: set[asyncio.Task[None]] = set()
        # Called by stop_playback: a ringing timer stops with "stop" too (the planner adds itself).
        self.on_stop: list[Callable[[], object]] = []
        # Set while a spoken turn answers (thinks and speaks): its recording is done.
        self.answering = asyncio.Event()
        # The room this pipeline hears (a satellite's area), given to the brain with each turn.
        self.room: str | None = None

    # -- entry points -------------------------------------------------------------------------

    async def run_audio(
        self,
        chunks: AsyncIterator[np.ndarray],
        preroll: Sequence[np.ndarray] = (),
        end_stage: Stage = Stage.TTS,
        source: str = "voice",
        follow_up: FollowUp | None = None,
        on_speech: Callable[[], object] | None = None,
    ) -> TurnResult:
        """A spoken turn: endpoint the live audio (after the pre-roll), then the later stages. A
        follow-up turn (no wake word) waits only `follow_up.window_ms` for speech to start;
        `on_speech` is called when speech starts."""
        result = self._begin("audio", end_stage)
        async with self._guard(result):
            if follow_up is not None:
                self._emit(result.run_id, follow_up)
            recording = await self._record(
                result.run_id, chunks, preroll, follow_up.window_ms if follow_up else None, on_speech
            )
            if recording is None:
                result.outcome = "no-speech"
                return result
            after_wake = bool(preroll) or follow_up is not None  # "Hey Jarvis, yes" is stripped too
            result.transcript = await self._transcribe(result.run_id, recording, after_wake, source)
            if not result.transcript:
                result.outcome = "no-text"
            elif end_stage > Stage.STT:
                turn = Turn(result.transcript, source=source, room=self.room)
                result.record = turn.record
                self.answering.set()  # the microphone is free: a barge-in may listen now
                try:
                    result.reply = await self._answer(result.run_id, turn, end_stage)
                finally:
                    self.answering.clear()
        return result

    async def run_text(self, text: str, end_stage: Stage = Stage.TTS, source: str = "cli") -> TurnResult:
        """A typed turn: brain (and speech unless end_stage is BRAIN)."""
        result = self._begin("text", end_stage)
        async with self._guard(result):
            result.transcript = text
            self._emit(result.run_id, ev.Transcript(text, source=source))
            turn = Turn(text, source=source, room=self.room)
            result.record = turn.record
            result.reply = await self._answer(result.run_id, turn, end_stage)
        return result

    async def speak(self, text: str) -> TurnResult:
        """Say a fixed text (announcements, `homeplm say`)."""
        result = self._begin("speak", Stage.TTS)
        async with self._guard(result):
            speaker = self._new_speaker(result.run_id)
            if speaker is None:
                raise HomeplmError("nothing to speak with: no TTS or no audio output", code="tts")
            for sentence in SentenceSplitter(min_chars=0, first_clause_chars=None).push(text + " "):
                speaker.put(sentence)
            await self._finish_speaking(speaker)
        return result

    async def chime(self) -> None:
        if self.sink is not None:
            await self.sink.play(wake_chime(self.sink.sample_rate))

    async def earcon(self) -> None:
        """The soft "still listening" tone of a follow-up window; returns once it has played."""
        if self.sink is not None:
            await self.sink.play(follow_up_earcon(self.sink.sample_rate))
            await self.sink.drain()

    def stop_playback(self) -> None:
        """Stop speaking now (the reply in progress is cut), and whatever rings (`on_stop`)."""
        for stop in self.on_stop:
            stop()
        if self.sink is not None:
            self.sink.stop()
        if self._speaker is not None:
            self.in_background(self._speaker.cancel())

    def hold_playback(self) -> bool:
        """Silence the voice now, its place kept (a barge-in may be starting); False when the
        sink cannot hold (then nothing is done)."""
        hold = getattr(self.sink, "hold", None)
        if hold is None:
            return False
        hold()
        return True

    def release_playback(self) -> None:
        """Go on speaking after `hold_playback` (it was no barge-in)."""
        release = getattr(self.sink, "release", None)
        if release is not None:
            release()

    def in_background(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a short side job (chime, stop); a reference is kept until it is done."""
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- stages ---------------------------------------------------------------------------------

    async def _record(
        self,
        run_id: int,
        chunks: AsyncIterator[np.ndarray],
        preroll: Sequence[np.ndarray],
        start_timeout_ms: int | None = None,
        on_speech: Callable[[], object] | None = None,
    ) -> Recording | None:
        endpointing = self.endpointing
        if start_timeout_ms is not None:
            endpointing = dataclasses.replace(endpointing, start_timeout_ms=start_timeout_ms)
        recorder = UtteranceRecorder(
            self._need(self.parts.vad, "voice activity detection"),
            self.parts.stt,
            endpointing,
            self.settings.vad.threshold,
            int(self.settings.vad.early_asr_after_s * 1000),
            self.asr_prompt(),
            lambda offset_ms: self._speech_started(run_id, offset_ms, on_speech),
        )
        recording, endpointer = await recorder.record(chunks, preroll)
        if recording is None:
            self._emit(run_id, ev.NoSpeech(endpointer.elapsed_ms))
            return None
        self._emit(run_id, ev.SpeechEnd(recording.speech_ms, recording.reason))
        return recording

    async def _transcribe(self, run_id: int, recording: Recording, after_wake: bool, source: str) -> str:
        stt = self._need(self.parts.stt, "speech recognition")
        if recording.early is not None:
            transcript = await recording.early  # recognised while the endpointer was still waiting
        else:
            transcript = await worker("stt").call(
                functools.partial(stt.transcribe, recording.audio, prompt=self.asr_prompt()), VOICE
            )
        text = strip_wake_phrase(transcript.text, self.wake_phrases) if after_wake else transcript.text
        rechecked: Rechecked | None = None
        if self.recheck is not None and after_wake and text:
            check = functools.partial(self.recheck.check, recording.audio, transcript.text, text)
            if (rechecked := await worker("stt").call(check, VOICE)) is not None:
                text = rechecked.text
        self._emit(
            run_id,
            ev.Transcript(
                text,
                source=source,
                heard=transcript.text,
                audio_ms=transcript.duration_ms,
                dropped_segments=transcript.dropped_segments,
                early=recording.early is not None,
                rechecked=rechecked.heard if rechecked is not None else None,
            ),
        )
        return text

    async def _answer(self, run_id: int, turn: Turn, end_stage: Stage) -> str:
        brain = self._need(self.parts.brain, "the brain")
        speaker = self._new_speaker(run_id) if end_stage >= Stage.TTS else None
        splitter = SentenceSplitter()
        parts: list[str] = []
        self._emit(run_id, ev.ReplyStart(turn.source))
        try:
            async for delta in brain.reply(turn):
                parts.append(delta)
                self._emit(run_id, ev.ReplyDelta(delta))
                if speaker is not None:
                    for sentence in splitter.push(delta):
                        speaker.put(sentence)
        except BaseException:
            if speaker is not None:
                await speaker.cancel()
            raise
        reply = "".join(parts).strip()
        route = turn.record.get("route")
        if route == "intent:stop":
            self.stop_playback()
        self._emit(run_id, ev.ReplyEnd(reply, route=route, reason=turn.record.get("reason")))
        if speaker is not None:
            for sentence in splitter.flush():
                speaker.put(sentence)
            await self._finish_speaking(speaker)
        return reply

    # -- plumbing -------------------------------------------------------------------------------

    def _speech_started(self, run_id: int, offset_ms: int, on_speech: Callable[[], object] | None) -> None:
        self._emit(run_id, ev.SpeechStart(offset_ms))
        if on_speech is not None:
            on_speech()

    def _new_speaker(self, run_id: int) -> SentenceSpeaker | None:
        if self.parts.tts is None or self.sink is None:
            return None
        self._speaker = SentenceSpeaker(self.parts.tts, self.sink, self.emit, run_id, self.volume)
        return self._speaker

    async def _finish_speaking(self, speaker: SentenceSpeaker) -> None:
        try:
            await speaker.finish()
        except asyncio.CancelledError:
            if asyncio.current_task() is not None and asyncio.current_task().cancelling():  # type: ignore[union-attr]
                raise
            _LOGGER.info("playback stopped")
        finally:
            self._speaker = None

    def _begin(self, start: str, end_stage: Stage) -> TurnResult:
        result = TurnResult(run_id=next(self._run_ids))
        self._emit(result.run_id, ev.RunStart(start, end_stage.name.lower()))
        return result

    def _guard(self, result: TurnResult) -> _TurnGuard:
        return _TurnGuard(self, result)

    def _emit(self, run_id: int, data: ev.EventData) -> None:
        self.emit(PipelineEvent(data, run_id))

    @staticmethod
    def _need(part: _T | None, what: str) -> _T:
        if part is None:
            raise HomeplmError(f"this command was started without {what}", code="internal")
        return part


class _TurnGuard:
    """Turns errors into events and always ends the run; cancellation passes through."""

    def __init__(self, pipeline: Pipeline, result: TurnResult) -> None:
        self.pipeline = pipeline
        self.result = result

    async def __aenter__(self) -> TurnResult:
        return self.result

    async def __aexit__(
        self, kind: type[BaseException] | None, err: BaseException | None, _tb: object
    ) -> bool:
        result, run_id = self.result, self.result.run_id
        handled = False
        if isinstance(err, asyncio.CancelledError):
            result.outcome = "cancelled"
        elif isinstance(err, HomeplmError):
            result.outcome, result.error, handled = "error", err, True
            self.pipeline._emit(run_id, ev.TurnError(err.code, err.message))
        elif isinstance(err, Exception):
            _LOGGER.error("turn %d failed", run_id, exc_info=err)
            result.outcome, handled = "error", True
            result.error = HomeplmError(f"internal error: {err}", code="internal")
            self.pipeline._emit(run_id, ev.TurnError("internal", str(err)))
        self.pipeline._emit(run_id, ev.RunEnd(result.outcome))
        return handled
