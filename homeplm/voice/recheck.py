"""A heard command that names nothing the house has, checked against the house's own commands by
the recogniser itself.

Whisper, biased towards the house's names, still writes "turn off the Heaton" or "close the damaged
door" for a robotic or noisy voice. Rhasspy never had this problem: it recognised only its closed
grammar, and so could not hear anything else. homeplm keeps free recognition, and only when what
was heard is a command about nothing the house has does it ask Whisper to read the house's nearest
sentences (house/command_space.py) against the same audio (forced decoding, the encoder's output
reused: ~30–60 ms a sentence on 2 cores). A sentence wins only when the audio supports it about as
well as what was written (within `MARGIN` of log-probability), so talk that is not a command keeps
its words: "we need a new kettle" is far more likely as said than as "turn on the kettle".
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

_LOGGER = logging.getLogger(__name__)

# Log-probability (summed over the tokens) that a house sentence may fall short of what Whisper
# wrote and still replace it (python -m homeplm.bench.spoken_house, means asr.recheck).
MARGIN = 4.0
_NOT_SAID = re.compile(r"[^\w\s%']")
# Which way a command goes: a recheck never turns a heard "on" into "off", "lock" into "unlock" …
_ON = frozenset({"on", "start", "open", "unlock", "up", "raise"})
_OFF = frozenset({"off", "stop", "close", "lock", "down", "lower"})


def direction(text: str) -> str | None:
    """ "on" or "off" when the words say one way only, else None ("start off the …" says both)."""
    words = set(_NOT_SAID.sub(" ", text.lower()).split())
    on, off = bool(words & _ON), bool(words & _OFF)
    return None if on == off else ("on" if on else "off")


class Scorer(Protocol):
    def score(self, audio: np.ndarray, texts: Sequence[str]) -> list[float]: ...


@dataclass(frozen=True, slots=True)
class Rechecked:
    """What the recheck chose, and the figures behind it (for the route record)."""

    text: str
    heard: str
    score: float
    heard_score: float


def written(text: str) -> str:
    """A sentence as Whisper writes a command, the same for every text compared: lower case, no
    punctuation, "%" for "percent", a full stop (its probabilities differ with case and form)."""
    words = " ".join(_NOT_SAID.sub(" ", text.lower()).split())
    return re.sub(r" percent\b", "%", words) + "."


class CommandRecheck:
    """`check(audio, heard, command)` → a house sentence that the audio supports, or None."""

    def __init__(self, stt: Scorer, candidates: Callable[[str], list[str]], margin: float = MARGIN) -> None:
        self.stt = stt
        self.candidates = candidates
        self.margin = margin

    def check(self, audio: np.ndarray, heard: str, command: str) -> Rechecked | None:
        """`heard`: the whole transcript; `command`: it without the wake phrase."""
        near = self.candidates(command) if command.strip() else []
        heard_way = direction(command)
        if heard_way is not None:
            near = [s for s in near if direction(s) in (None, heard_way)]
        if not near:
            return None
        heard = heard.strip()
        # The wake phrase as Whisper wrote it stays in front of every text: it is in the audio.
        lead = heard[: len(heard) - len(command)] if heard.endswith(command) else ""
        texts = [lead + written(command)] + [lead + written(sentence) for sentence in near]
        scores = self.stt.score(audio, texts)
        best = max(range(len(near)), key=lambda i: scores[i + 1])
        _LOGGER.debug("recheck %r (%.1f) → %r (%.1f)", command, scores[0], near[best], scores[best + 1])
        if scores[best + 1] < scores[0] - self.margin:
            return None
        return Rechecked(near[best], command, round(scores[best + 1], 2), round(scores[0], 2))
