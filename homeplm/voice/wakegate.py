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
SCORES_KEPT = 64  # 5 s of chunk scores: more than any pre-roll


class ScoredVad:
    """A VoiceActivity that scores each chunk once and remembers the last scores by chunk identity.

    The wake gate scores every chunk; the recorder then asks again for the pre-roll (which the
    gate already scored) and goes on with the live chunks on the same model state. Silero is
    stateful (LSTM state, context, partial window), so one session fed each chunk once, in order,
    is also more correct than two sessions that each see a different part of the stream.
    """

    def __init__(self, vad: VoiceActivity, kept: int = SCORES_KEPT) -> None:
        self.vad = vad
        # The chunk itself is kept with its score, so its id cannot be reused while it is here.
        self._scores: deque[tuple[np.ndarray, float]] = deque(maxlen=kept)
        self.calls = 0  # model calls, for figures

    def speech_probability(self, chunk: np.ndarray) -> float:
        if (score := self.score_of(chunk)) is not None:
            return score
        self.calls += 1
        score = self.vad.speech_probability(chunk)
        self._scores.append((chunk, score))
        return score

    def score_of(self, chunk: np.ndarray) -> float | None:
        """The score this chunk already got, if it is among the last ones scored."""
        for seen, score in reversed(self._scores):
            if seen is chunk:
                return score
        return None

    def reset(self) -> None:
        self.vad.reset()
        self._scores.clear()


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

    @property
    def last_score(self) -> float:
        """The wake word model's last score (0 while it sleeps)."""
        return float(getattr(self.wake, "last_score", 0.0)) if self.awake else 0.0

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
