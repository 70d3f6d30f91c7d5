"""The always-on loop: wake word → a spoken turn → back to listening, with the mic gated meanwhile.

After a reply that asks something ("Are you sure you want to unlock the back door?", "Which light,
the ceiling or the lamp?") — or after any answer, with `conversation.follow_up: always` — the
microphone stays open for `conversation.follow_up_s` for an answer without the wake word. The
window opens only after the reply has played and its tail has passed (the assistant's own voice
never opens or fills it), with a soft earcon; silence closes it quietly; mute wins throughout.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator

import numpy as np

from homeplm.core.audio import CHUNK_MS
from homeplm.core.events import EventCallback, FollowUp, PipelineEvent, Wake
from homeplm.core.stages import AudioSource, WakeDetector
from homeplm.voice.endpointer import RefractoryGate
from homeplm.voice.pipeline import Pipeline, TurnResult

_LOGGER = logging.getLogger(__name__)

# Follow-ups in a row before the wake word is needed again (a confirmation of a clarification …).
MAX_FOLLOW_UPS = 3
# What the microphone hears right after the speaker stops (room echo, the device's buffer) is
# dropped before a follow-up window opens.
VOICE_TAIL_MS = 320


class Listener:
    """Reads a source until it ends; each wake detection runs one turn of the pipeline."""

    def __init__(self, pipeline: Pipeline, wake: WakeDetector, emit: EventCallback) -> None:
        self.pipeline = pipeline
        self.wake = wake
        self.emit = emit
        settings = pipeline.settings.wake
        self.chime = settings.chime
        self.conversation = pipeline.settings.conversation
        self.preroll: deque[np.ndarray] = deque(maxlen=max(0, round(settings.preroll_s * 1000 / CHUNK_MS)))
        self.gate = RefractoryGate(int(settings.refractory_s * 1000))
        self.turns: list[TurnResult] = []
        self.muted = False

    async def run(self, source: AudioSource) -> None:
        chunks = aiter(source.chunks())
        async for chunk in chunks:
            if self.muted:
                continue
            self.gate.advance(CHUNK_MS)
            detection = self.wake.process(chunk)
            self.preroll.append(chunk)
            if detection is None or not self.gate.open:
                continue
            self.gate.fire()
            self.wake.reset()
            self.emit(PipelineEvent(Wake(detection.name, round(detection.score, 3))))
            if self.chime:
                self.pipeline.in_background(self.pipeline.chime())
            preroll = list(self.preroll)
            self.preroll.clear()
            result = await self.pipeline.run_audio(chunks, preroll)
            self.turns.append(result)
            # What the mic heard while we were thinking and speaking is our own voice: drop it.
            source.discard_pending()
            await self._follow_ups(result, source, chunks)
            self.wake.reset()
        _LOGGER.debug("audio input ended")

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
    ) -> None:
        for _ in range(MAX_FOLLOW_UPS):
            reason = self.follow_up_reason(result)
            if reason is None or not await self._pass_own_voice(source, chunks):
                return
            if self.muted:
                return
            window = FollowUp(round(self.conversation.follow_up_s * 1000), reason)
            result = await self.pipeline.run_audio(self._unless_muted(chunks), follow_up=window)
            self.turns.append(result)
            source.discard_pending()

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
