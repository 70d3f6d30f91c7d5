"""The small interfaces between stages. Backends implement them; tests use fakes.

Audio everywhere is int16 numpy arrays at 16 kHz mono unless a `sample_rate` says otherwise.
Blocking methods (model calls) are synchronous and are run in worker threads by the pipeline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True, slots=True)
class WakeDetection:
    """The wake word model fired: which word, with what score."""

    name: str
    score: float


@dataclass(frozen=True, slots=True)
class Transcript:
    """What speech recognition heard, and what it dropped."""

    text: str
    language: str = "en"
    duration_ms: int = 0
    dropped_segments: int = 0  # segments suppressed as probable hallucinations


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a chat prompt (system, user or assistant)."""

    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True, slots=True)
class Turn:
    """One request to the brain: what was said, and where it came from."""

    text: str
    source: str = "voice"  # voice | cli | mqtt
    room: str | None = None
    speaker: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    # The route record, filled by the brain as it answers (route, reason, details: memories used,
    # what was sent to an expert, a fallback): it travels back with the turn, so concurrent turns
    # never read each other's record from the brain.
    record: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class AudioSource(Protocol):
    """Produces 80 ms chunks of 16 kHz s16 mono audio until the input ends or close()."""

    def chunks(self) -> AsyncIterator[np.ndarray]: ...

    def discard_pending(self) -> None:
        """Drop audio captured while the assistant was busy (live sources only)."""

    async def close(self) -> None: ...


@runtime_checkable
class AudioSink(Protocol):
    """Plays 16-bit mono audio at its own rate (speaker, WAV file, nothing)."""

    sample_rate: int

    async def play(self, audio: np.ndarray) -> None:
        """Queue int16 mono audio at `sample_rate`; returns once it is accepted."""

    async def drain(self) -> None:
        """Wait until everything queued has been played."""

    def stop(self) -> None:
        """Stop playback now and drop what is queued."""

    async def close(self) -> None: ...


class WakeDetector(Protocol):
    """Scores 80 ms chunks for the wake word."""

    @property
    def names(self) -> Sequence[str]: ...

    def process(self, chunk: np.ndarray) -> WakeDetection | None:
        """Feed one 80 ms chunk; a detection when a wake word's score crosses its threshold."""

    def reset(self) -> None: ...


class VoiceActivity(Protocol):
    """Scores 80 ms chunks for speech (a probability)."""

    def speech_probability(self, chunk: np.ndarray) -> float:
        """Probability that the 80 ms chunk holds speech (streaming, stateful)."""

    def reset(self) -> None: ...


class SpeechToText(Protocol):
    """Turns an utterance (16 kHz int16) into text."""

    def transcribe(self, audio: np.ndarray, *, prompt: str | None = None) -> Transcript: ...


class ChatModel(Protocol):
    """A chat LLM: messages in, text deltas out (blocking iterator, run in a worker thread)."""

    name: str

    def stream_chat(self, messages: Sequence[ChatMessage], *, max_tokens: int) -> Iterator[str]: ...


@runtime_checkable
class ConstrainedChat(Protocol):
    """A chat LLM that can be held to a grammar (GBNF): the reply is always one the grammar allows.

    Blocking (run it in a worker thread); greedy (temperature 0), so the same prompt gives the same
    reply. `homeplm.house.free_phrasing` uses it to pick one of the house's known device actions.
    """

    def complete_constrained(
        self, messages: Sequence[ChatMessage], grammar: str, *, max_tokens: int
    ) -> str: ...


class TextToSpeech(Protocol):
    """Turns a sentence into int16 mono audio at its own sample rate."""

    sample_rate: int

    def synthesize(self, text: str) -> np.ndarray:
        """int16 mono audio at `sample_rate`."""


class Brain(Protocol):
    """Between transcript and reply: routes a turn (fast intents, memory, LLM) and streams the reply."""

    def reply(self, turn: Turn) -> AsyncIterator[str]: ...

    def new_conversation(self) -> None:
        """Forget the running conversation (follow-up context), not the household's memory."""


def inner_wake(detector: Any) -> Any:
    """The wake word model itself, inside the VAD gate if there is one (its threshold lives there)."""
    return getattr(detector, "wake", detector)
