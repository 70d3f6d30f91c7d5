"""Saves CPU while the room is quiet: the wake word model runs only around speech.

A small VAD (~0.5 ms per chunk) listens all the time. When it hears speech, the wake word model
catches up on the last seconds of buffered audio (so the start of "hey jarvis" is not lost) and then
runs live until the room has been quiet for a while.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

from homeplm.core.stages import VoiceActivity, WakeDetection, WakeDetector

# The shipped models look at 16 embeddings (1.28 s), each computed from 0.775 s of audio: the
# backlog covers both, so the first live predictions are made on real audio only.
BACKLOG_CHUNKS = 32
HANGOVER_CHUNKS = 25  # 2 s of quiet before the wake word model sleeps again


class VadGatedWake:
    """A WakeDetector that wraps another one and runs it only while there is speech nearby."""

    def __init__(
        self,
        wake: WakeDetector,
        vad: VoiceActivity,
        threshold: float,
        backlog_chunks: int = BACKLOG_CHUNKS,
        hangover_chunks: int = HANGOVER_CHUNKS,
    ) -> None:
        self.wake = wake
        self.vad = vad
        self.threshold = threshold
        self.hangover_chunks = hangover_chunks
        self._backlog: deque[np.ndarray] = deque(maxlen=backlog_chunks)
        self._awake_left = 0
        self.chunks_seen = 0
        self.chunks_run = 0

    @property
    def names(self) -> Sequence[str]:
        return self.wake.names

    @property
    def awake(self) -> bool:
        return self._awake_left > 0

    def process(self, chunk: np.ndarray) -> WakeDetection | None:
        self.chunks_seen += 1
        best: WakeDetection | None = None
        if self.vad.speech_probability(chunk) >= self.threshold:
            if not self.awake:
                best = self._catch_up()
            self._awake_left = self.hangover_chunks
        if not self.awake:
            self._backlog.append(chunk)
            return None
        self._awake_left -= 1
        return _better(best, self._run(chunk))

    def reset(self) -> None:
        self.wake.reset()

    def _catch_up(self) -> WakeDetection | None:
        self.wake.reset()  # its window holds audio from before the gap
        best: WakeDetection | None = None
        while self._backlog:
            best = _better(best, self._run(self._backlog.popleft()))
        return best

    def _run(self, chunk: np.ndarray) -> WakeDetection | None:
        self.chunks_run += 1
        return self.wake.process(chunk)


def _better(a: WakeDetection | None, b: WakeDetection | None) -> WakeDetection | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if a.score >= b.score else b
