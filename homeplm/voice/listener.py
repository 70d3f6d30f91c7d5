"""The always-on loop: wake word → a spoken turn → back to listening, with the mic gated meanwhile.

After a reply that asks something ("Are you sure you want to unlock the back door?", "Which light,
the ceiling or the lamp?") — or after any answer, with `conversation.follow_up: always` — the
microphone stays open for `conversation.follow_up_s` for an answer without the wake word. The
window opens only after the reply has played and its tail has passed (the assistant's own voice
never opens or fills it), with a soft earcon; silence closes it quietly; mute wins throughout.

With an echo canceller (`input.echo_cancel`), the microphone is cleaned of what the assistant
itself plays, and the wake word is listened for while it answers: saying it (a barge-in) stops
the speech at once and starts a new turn with what follows it ("hey jarvis, stop", a new
question). It is listened for twice: in WebRTC's cleaned chunk and in the canceller's linear
output (the echo subtracted, the person not bent by a suppressor). Without a canceller, the
microphone is gated while it speaks, as before.

While a timer, alarm or reminder rings (`alert`), the microphone is open without the wake word in
the ring's gaps: a voice hushes the ring at once, and "stop", "cancel", "okay" … end it ("snooze"
snoozes it); other talk lets it ring on. The wake word hushes it too, for as long as its turn lasts.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from collections.abc import AsyncIterator
from typing import Protocol

import numpy as np

from homeplm.core.audio import CHUNK_MS
from homeplm.core.events import EventCallback, FollowUp, PipelineEvent, Wake
from homeplm.core.stages import AudioSource, WakeDetection, WakeDetector
from homeplm.voice.endpointer import RefractoryGate
from homeplm.voice.pipeline import Pipeline, Stage, TurnResult

_LOGGER = logging.getLogger(__name__)

# Follow-ups in a row before the wake word is needed again (a confirmation of a clarification …).
MAX_FOLLOW_UPS = 3
# What the microphone hears right after the speaker stops (room echo, the device's buffer) is
# dropped before a follow-up window opens.
VOICE_TAIL_MS = 320
# While something rings, the microphone listens in windows this long (each its own short turn).
RING_WINDOW_MS = 3000
# A held voice (its wake score rose while it spoke) goes on when no barge-in came in this many
# chunks (640 ms) and the score has fallen again.
HOLD_CHUNKS = 8
# After a barge-in the turn hears the linear output this long (2 s): WebRTC's suppressor goes on
# bending the person's words for a while after the echo has stopped.
AFTER_BARGE_IN_CHUNKS = 25
# The linear filter took this much (dB) out of the microphone over the last 800 ms: it heard the
# assistant's own voice alone, so a wake score now is its own voice coloured by the room. Its own
# voice alone measured 22–32 dB; a person over it at 6 dB under its echo, at most 9 dB
# (python -m homeplm.bench.barge_in).
OWN_VOICE_DB = 15.0
# What ends a ring when said without the wake word (anything else lets it ring on).
_RING_STOP = re.compile(
    r"\b(?:stop|cancel|dismiss|enough|quiet|silence|shut up|off|ok(?:ay)?|thanks?|thank you|got it|"
    r"alright|all right|i'?m (?:up|awake|coming)|i hear you)\b",
    re.IGNORECASE,
)
_SNOOZE = re.compile(r"\bsnooze\b", re.IGNORECASE)


class Alert(Protocol):
    """Something that rings (planner/ringer.Ringer): hushed while someone speaks."""

    def listening(self) -> bool:
        """It rings and is not saying its words: a voice now is a person's."""

    def pause(self) -> None:
        """Hush at once; hold the next ring until resume()."""

    def resume(self) -> None: ...


class EchoFront(Protocol):
    """Cleans each microphone chunk of what the assistant plays (an acoustic echo canceller)."""

    def process(self, chunk: np.ndarray) -> np.ndarray: ...

    def stopped(self) -> None:
        """The speaker dropped what it had queued: that will not be heard, nor echo."""

    @property
    def last_linear(self) -> np.ndarray | None:
        """The last chunk less the echo a linear filter predicts (no suppressor), if there is one."""

    @property
    def linear_erle_db(self) -> float | None:
        """How much that filter took out of the microphone lately (dB); None when nothing played."""


class Listener:
    """Reads a source until it ends; each wake detection runs one turn of the pipeline."""

    def __init__(
        self, pipeline: Pipeline, wake: WakeDetector, emit: EventCallback, echo: EchoFront | None = None
    ) -> None:
        self.pipeline = pipeline
        self.echo = echo
        self.barge_ins = 0
        self.holds = 0  # the voice held for a barge-in that did not come
        self.wake = wake
        self.emit = emit
        settings = pipeline.settings.wake
        self.chime = settings.chime
        self.conversation = pipeline.settings.conversation
        self.preroll: deque[np.ndarray] = deque(maxlen=max(0, round(settings.preroll_s * 1000 / CHUNK_MS)))
        self.gate = RefractoryGate(int(settings.refractory_s * 1000))
        self.turns: list[TurnResult] = []
        self.muted = False
        self.alert: Alert | None = None  # attached by the planner, when there is one
        # While it answers, a second detector on the canceller's linear output: WebRTC's suppressor
        # bends a voice over the echo; the linear output keeps it (python -m homeplm.bench.barge_in).
        self.linear_wake: WakeDetector | None = None
        self._linear: np.ndarray | None = None
        self._linear_for = 0  # chunks that the turn hears from the linear output (after a barge-in)

    async def run(self, source: AudioSource) -> None:
        # Without an echo front the microphone's chunks come straight through (no extra generator).
        chunks = aiter(source.chunks() if self.echo is None else self._cleaned(source.chunks()))
        async for chunk in chunks:
            if self.muted:
                continue
            if self.alert is not None and self.alert.listening():
                await self._while_ringing(chunks)
                continue
            self.gate.advance(CHUNK_MS)
            detection = self.wake.process(chunk)
            self.preroll.append(chunk)
            if detection is None or not self.gate.open:
                continue
            preroll: list[np.ndarray] | None = self._woken(detection.name, detection.score)
            if self.alert is not None:
                self.alert.pause()
            try:
                while preroll is not None:
                    result, preroll = await self._turn(chunks, preroll)
                    self.turns.append(result)
                    if preroll is None:
                        # What the mic heard while we were thinking and speaking is our own voice: drop it.
                        source.discard_pending()
                        preroll = await self._follow_ups(result, source, chunks)
            finally:
                if self.alert is not None:
                    self.alert.resume()
            self.wake.reset()
        _LOGGER.debug("audio input ended")

    def _woken(self, name: str, score: float) -> list[np.ndarray]:
        """The wake word was heard: the event, the chime, and the audio from before it."""
        self.gate.fire()
        self.wake.reset()
        self.emit(PipelineEvent(Wake(name, round(score, 3))))
        if self.chime:
            self.pipeline.in_background(self.pipeline.chime())
        preroll = list(self.preroll)
        self.preroll.clear()
        return preroll

    async def _while_ringing(self, chunks: AsyncIterator[np.ndarray]) -> None:
        """Short listening windows while something rings: a voice hushes it (never its own words:
        the ringer is not `listening()` while it says them); "stop" and the like end it."""
        alert = self.alert
        assert alert is not None

        def hush() -> None:
            if alert.listening():
                alert.pause()

        ended = False

        async def heard() -> AsyncIterator[np.ndarray]:
            nonlocal ended
            async for chunk in self._unless_muted(chunks):
                yield chunk
            ended = True

        while alert.listening() and not self.muted and not ended:
            window = FollowUp(RING_WINDOW_MS, "ringing")
            result = await self.pipeline.run_audio(heard(), [], Stage.STT, follow_up=window, on_speech=hush)
            text = (result.transcript or "").strip()
            try:
                if _SNOOZE.search(text):
                    self.turns.append(await self.pipeline.run_text(text, Stage.TTS, source="voice"))
                elif _RING_STOP.search(text):
                    _LOGGER.info("ring stopped by voice without the wake word: %r", text)
                    self.turns.append(await self.pipeline.run_text("stop", Stage.BRAIN, source="voice"))
                elif result.outcome == "ok" and text:
                    _LOGGER.info("heard while ringing, not a stop: %r", text)
            finally:
                alert.resume()
            if result.outcome in ("error", "cancelled"):
                break
        self.wake.reset()

    async def _cleaned(self, chunks: AsyncIterator[np.ndarray]) -> AsyncIterator[np.ndarray]:
        assert self.echo is not None
        async for chunk in chunks:
            cleaned = self.echo.process(chunk)
            linear = self.echo.last_linear
            self._linear = chunk if linear is None else linear
            if self._linear_for > 0:  # just after a barge-in: the suppressor is still at work
                self._linear_for -= 1
                yield self._linear
            else:
                yield cleaned

    async def _turn(
        self, chunks: AsyncIterator[np.ndarray], preroll: list[np.ndarray], follow_up: FollowUp | None = None
    ) -> tuple[TurnResult, list[np.ndarray] | None]:
        """One turn; with an echo canceller, the wake word is listened for while it answers. Returns
        the turn and, after a barge-in, the pre-roll of the next one."""
        if self.echo is None or not self.conversation.barge_in or not getattr(self.echo, "cancel_echo", True):
            # No canceller (noise suppression alone is no reason to listen over its own voice).
            return await self.pipeline.run_audio(chunks, preroll, follow_up=follow_up), None
        turn = asyncio.create_task(self.pipeline.run_audio(chunks, preroll, follow_up=follow_up))
        watch = asyncio.create_task(self._watch(turn, chunks))
        try:
            result = await turn
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if (current is not None and current.cancelling()) or not watch.done():
                watch.cancel()
                raise
            result = TurnResult(run_id=0, outcome="cancelled")
        return result, await watch

    async def _watch(
        self, turn: asyncio.Task[TurnResult], chunks: AsyncIterator[np.ndarray]
    ) -> list[np.ndarray] | None:
        """While `turn` answers, the (echo-cancelled) microphone's wake word: a barge-in stops the
        speech and the turn at once and returns the pre-roll of the next turn."""
        answering = asyncio.create_task(self.pipeline.answering.wait())
        await asyncio.wait({turn, answering}, return_when=asyncio.FIRST_COMPLETED)
        answering.cancel()
        if turn.done():
            return None
        self.wake.reset()
        if self.linear_wake is not None:
            self.linear_wake.reset()
        self.preroll.clear()
        conversation = self.conversation
        held = -1  # chunks since the voice was held (-1: not held)
        try:
            while not turn.done() and (chunk := await anext(chunks, None)) is not None:
                # A barge-in's words were said over the echo: the next turn hears them as the
                # linear output kept them (the suppressor bends them; "what time is it" came out
                # as "what one is it").
                self.preroll.append(chunk if self._linear is None else self._linear)
                if self.muted:
                    continue
                detection = self.wake.process(chunk)
                score = _score(self.wake, detection)
                if self.linear_wake is not None and self._linear is not None:
                    linear = self.linear_wake.process(self._linear)
                    if _score(self.linear_wake, linear) > score:
                        detection, score = linear, _score(self.linear_wake, linear)
                if self._own_voice():
                    detection, score = None, 0.0
                if detection is not None and score >= conversation.barge_in_threshold:
                    held = -1
                    self.pipeline.stop_playback()
                    if self.echo is not None:
                        self.echo.stopped()
                    turn.cancel()
                    self._linear_for = AFTER_BARGE_IN_CHUNKS
                    self.barge_ins += 1
                    _LOGGER.info("barge-in: the wake word while answering stopped the reply")
                    return self._woken(detection.name, detection.score)
                if held < 0 and 0 < conversation.hold_threshold <= score:
                    # Its score rises: silence the voice now (it may be a barge-in; a held voice
                    # is not in the microphone either), and go on if none comes.
                    held = 0 if self.pipeline.hold_playback() else -1
                    if held == 0 and self.echo is not None:
                        self.echo.stopped()  # what the device had queued is dropped: no echo
                elif held >= 0:
                    held += 1
                    if held > HOLD_CHUNKS and score < conversation.hold_threshold:
                        held = -1
                        self.holds += 1
                        self.pipeline.release_playback()
        finally:
            if held >= 0:
                self.pipeline.release_playback()
        return None

    def _own_voice(self) -> bool:
        """The microphone heard only the assistant's own voice lately (the linear filter took
        nearly all of it away): no wake word of a person's can be in it."""
        erle = getattr(self.echo, "linear_erle_db", None)
        return erle is not None and erle >= OWN_VOICE_DB

    def follow_up_reason(self, result: TurnResult) -> str | None:
        """Why the microphone stays open after `result` ("question", "always"), or None."""
        mode = self.conversation.follow_up
        reply = (result.reply or "").strip()
        if mode == "never" or self.muted or result.outcome != "ok" or not reply:
            return None
        if reply.endswith("?"):
            return "question"
        route = str(result.record.get("route") or "")
        if mode == "always" and route and not route.startswith("intent:"):
            return "always"
        return None

    async def _follow_ups(
        self, result: TurnResult, source: AudioSource, chunks: AsyncIterator[np.ndarray]
    ) -> list[np.ndarray] | None:
        """Follow-up windows while replies ask; the pre-roll of a barge-in during one, if any."""
        for _ in range(MAX_FOLLOW_UPS):
            reason = self.follow_up_reason(result)
            if reason is None or not await self._pass_own_voice(source, chunks):
                return None
            if self.muted:
                return None
            window = FollowUp(round(self.conversation.follow_up_s * 1000), reason)
            result, barged = await self._turn(self._unless_muted(chunks), [], window)
            self.turns.append(result)
            if barged is not None:
                return barged
            source.discard_pending()
        return None

    async def _pass_own_voice(self, source: AudioSource, chunks: AsyncIterator[np.ndarray]) -> bool:
        """The earcon, then what the mic heard of the reply and the earcon is dropped, and the
        voice's tail after it. False when the audio ended."""
        if self.conversation.earcon:
            await self.pipeline.earcon()
        source.discard_pending()
        for _ in range(VOICE_TAIL_MS // CHUNK_MS):
            if await anext(chunks, None) is None:
                return False
        return True

    async def _unless_muted(self, chunks: AsyncIterator[np.ndarray]) -> AsyncIterator[np.ndarray]:
        """The microphone as the follow-up hears it: silence once muted (mute wins over a window)."""
        async for chunk in chunks:
            yield np.zeros_like(chunk) if self.muted else chunk


def _score(detector: WakeDetector, detection: WakeDetection | None) -> float:
    """The detector's score for the last chunk, whether it fired or not."""
    if detection is not None:
        return detection.score
    return float(getattr(detector, "last_score", 0.0))
