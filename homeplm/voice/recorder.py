"""Records one utterance after the wake word: VAD + endpointer, and early speech recognition.

Early recognition: once the speaker has been quiet for `early_after_ms` (well before the endpointer
is sure they are done), the utterance so far is handed to the recogniser in the background. If they
stay quiet, its transcript is ready about when the endpointer decides: the silence wait and the
recognition overlap. If they speak again, that early result is simply not used.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from homeplm.core.audio import CHUNK_MS
from homeplm.core.stages import SpeechToText, Transcript, VoiceActivity
from homeplm.core.workers import VOICE, worker
from homeplm.voice.endpointer import Endpointer, EndpointerConfig, EndpointState
from homeplm.voice.wakegate import ScoredVad

_LOGGER = logging.getLogger(__name__)

# Audio kept before detected speech start and after its end, so words are not clipped.
LEAD_MS = 300
TAIL_MS = 240


@dataclass(slots=True)
class Recording:
    """One endpointed utterance, with the early recognition started on it if any."""

    audio: np.ndarray
    speech_ms: int
    reason: str
    early: asyncio.Task[Transcript] | None = None  # the transcript of exactly `audio`, under way


@dataclass(slots=True)
class _Early:
    end_ms: int
    audio: np.ndarray
    task: asyncio.Task[Transcript]


def utterance(
    preroll: Sequence[np.ndarray], live: list[np.ndarray], start_ms: int, end_ms: int
) -> np.ndarray:
    """The spoken part: with the pre-roll when speech ran straight on from the wake word."""
    last = min(len(live), (end_ms + TAIL_MS) // CHUNK_MS + 1)
    if start_ms <= 2 * CHUNK_MS:
        parts = [*preroll, *live[:last]]
    else:
        parts = live[max(0, (start_ms - LEAD_MS) // CHUNK_MS) : last]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


class UtteranceRecorder:
    """Reads live audio after the wake word until the endpointer decides the command is over."""

    def __init__(
        self,
        vad: VoiceActivity,
        stt: SpeechToText | None,
        config: EndpointerConfig,
        threshold: float,
        early_after_ms: int,
        prompt: str | None,
        on_speech_start: Callable[[int], None],
    ) -> None:
        self.vad = vad
        self.stt = stt
        self.config = config
        self.threshold = threshold
        self.early_after_ms = early_after_ms
        self.prompt = prompt
        self.on_speech_start = on_speech_start
        self.early_started = 0  # early recognitions started, for figures
        self.early_used = 0

    async def record(
        self, chunks: AsyncIterator[np.ndarray], preroll: Sequence[np.ndarray]
    ) -> tuple[Recording | None, Endpointer]:
        endpointer = Endpointer(self.config)
        if not _scored_up_to_now(self.vad, preroll):
            self.vad.reset()
            for chunk in preroll:  # prime the VAD's state with the audio just before the wake word
                self.vad.speech_probability(chunk)
        live: list[np.ndarray] = []
        early: _Early | None = None
        async for chunk in chunks:
            live.append(chunk)
            was_waiting = endpointer.state is EndpointState.WAITING
            speech = self.vad.speech_probability(chunk) >= self.threshold
            state = endpointer.process(CHUNK_MS, speech)
            if was_waiting and state is EndpointState.SPEAKING and endpointer.speech_start_ms is not None:
                self.on_speech_start(endpointer.speech_start_ms)
            if endpointer.finished:
                break
            if endpointer.silence_ms == 0:
                early = None  # they went on speaking: an early result would miss the rest
            elif early is None and self._time_to_start(endpointer):
                early = self._start_early(preroll, live, endpointer)
        if endpointer.speech_start_ms is None:
            return None, endpointer
        end_ms = endpointer.speech_end_ms if endpointer.speech_end_ms is not None else endpointer.elapsed_ms
        recording = Recording(
            utterance(preroll, live, endpointer.speech_start_ms, end_ms),
            end_ms - endpointer.speech_start_ms,
            endpointer.state.value,
        )
        if early is not None and early.end_ms == end_ms:
            recording.audio, recording.early = early.audio, early.task
            self.early_used += 1
        return recording, endpointer

    def _time_to_start(self, endpointer: Endpointer) -> bool:
        return (
            self.stt is not None
            and self.early_after_ms > 0
            and endpointer.state is EndpointState.SPEAKING
            and endpointer.silence_ms >= self.early_after_ms
        )

    def _start_early(
        self, preroll: Sequence[np.ndarray], live: list[np.ndarray], endpointer: Endpointer
    ) -> _Early:
        assert self.stt is not None and endpointer.speech_start_ms is not None
        assert endpointer.silence_start_ms is not None
        end_ms = endpointer.silence_start_ms  # a noisy chunk since then does not move it
        audio = utterance(preroll, live, endpointer.speech_start_ms, end_ms)
        job = partial(self.stt.transcribe, audio, prompt=self.prompt)
        task = asyncio.create_task(worker("stt").call(job, VOICE))
        task.add_done_callback(_consume)  # an unused early result must not warn when dropped
        self.early_started += 1
        return _Early(end_ms, audio, task)


def _scored_up_to_now(vad: VoiceActivity, preroll: Sequence[np.ndarray]) -> bool:
    """True when a shared VAD (the wake gate's) has just scored the pre-roll's last chunk.

    Its model state then runs on from the audio just before the wake word: resetting it and
    scoring the pre-roll again would only repeat that work.
    """
    return isinstance(vad, ScoredVad) and bool(preroll) and vad.score_of(preroll[-1]) is not None


def _consume(task: asyncio.Task[Transcript]) -> None:
    if not task.cancelled() and (err := task.exception()) is not None:
        _LOGGER.debug("early recognition failed: %s", err)
