"""The always-on loop: wake word → a spoken turn → back to listening, with the mic gated meanwhile."""

from __future__ import annotations

import logging
from collections import deque

import numpy as np

from homeplm.core.audio import CHUNK_MS
from homeplm.core.events import EventCallback, PipelineEvent, Wake
from homeplm.core.stages import AudioSource, WakeDetector
from homeplm.voice.endpointer import RefractoryGate
from homeplm.voice.pipeline import Pipeline, TurnResult

_LOGGER = logging.getLogger(__name__)


class Listener:
    """Reads a source until it ends; each wake detection runs one turn of the pipeline."""

    def __init__(self, pipeline: Pipeline, wake: WakeDetector, emit: EventCallback) -> None:
        self.pipeline = pipeline
        self.wake = wake
        self.emit = emit
        settings = pipeline.settings.wake
        self.chime = settings.chime
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
            self.turns.append(await self.pipeline.run_audio(chunks, preroll))
            # What the mic heard while we were thinking and speaking is our own voice: drop it.
            source.discard_pending()
            self.wake.reset()
        _LOGGER.debug("audio input ended")
