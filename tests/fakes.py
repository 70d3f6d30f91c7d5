"""Fakes for fast pipeline tests: audio chunks carry marker values that the fakes react to."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence

import numpy as np

from homeplm.core.audio import CHUNK_SAMPLES
from homeplm.core.stages import ChatMessage, Transcript, Turn, WakeDetection

WAKE = 3000  # a chunk of this value is the wake word
SPEECH = 1000  # speech
SILENCE = 0


def chunk(value: int) -> np.ndarray:
    return np.full(CHUNK_SAMPLES, value, dtype=np.int16)


def chunks(*spec: tuple[int, int]) -> list[np.ndarray]:
    """chunks((WAKE, 5), (SPEECH, 10), (SILENCE, 20)) → a list of 80 ms chunks."""
    return [chunk(value) for value, count in spec for _ in range(count)]


class ListSource:
    def __init__(self, items: Sequence[np.ndarray]) -> None:
        self.items = list(items)
        self.discarded = 0

    async def chunks(self) -> AsyncIterator[np.ndarray]:
        for item in self.items:
            yield item

    def discard_pending(self) -> None:
        self.discarded += 1

    async def close(self) -> None:
        return None


class FakeWake:
    names = ("hey_jarvis",)

    def __init__(self) -> None:
        self.resets = 0

    def process(self, chunk: np.ndarray) -> WakeDetection | None:
        return WakeDetection("hey_jarvis", 0.99) if int(chunk[0]) == WAKE else None

    def reset(self) -> None:
        self.resets += 1


class FakeVad:
    def speech_probability(self, chunk: np.ndarray) -> float:
        return 0.9 if abs(int(chunk[0])) >= SPEECH else 0.05

    def reset(self) -> None:
        return None


class FakeStt:
    """'hey jarvis' for wake chunks, then one word per speech chunk."""

    def __init__(self) -> None:
        self.calls: list[np.ndarray] = []

    def transcribe(self, audio: np.ndarray, *, prompt: str | None = None) -> Transcript:
        self.calls.append(audio)
        frames = audio.reshape(-1, CHUNK_SAMPLES)[:, 0]
        words = ["Hey Jarvis," if f == WAKE else "light" for f in frames if f in (WAKE, SPEECH)]
        deduped = [w for i, w in enumerate(words) if i == 0 or w != words[i - 1] or w == "light"]
        text = " ".join(dict.fromkeys(deduped)) if deduped else ""
        return Transcript(text=text, duration_ms=len(audio) // 16)


class FakeChat:
    name = "fake-chat"

    def __init__(self, reply: str = "The light is on now. Anything else I can do?") -> None:
        self.reply = reply
        self.calls: list[Sequence[ChatMessage]] = []

    def stream_chat(self, messages: Sequence[ChatMessage], *, max_tokens: int) -> Iterator[str]:
        self.calls.append(list(messages))
        for word in self.reply.split(" "):
            yield word + " "


class FakeTts:
    sample_rate = 22050

    def __init__(self) -> None:
        self.texts: list[str] = []

    def synthesize(self, text: str) -> np.ndarray:
        self.texts.append(text)
        return np.full(len(text) * 100, 100, dtype=np.int16)


class Clock:
    """A clock the test moves by hand: `clock.now += DAY`."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeMemory:
    """The memory commands of the built-in intents, recorded instead of carried out."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def remember(self, fact: str, turn: Turn) -> str:
        self.calls.append(("remember", fact))
        return "Okay, I'll remember that."

    async def recall(self, topic: str, turn: Turn) -> str:
        self.calls.append(("recall", topic))
        return f"I know nothing about {topic}."

    async def forget(self, topic: str, turn: Turn) -> str:
        self.calls.append(("forget", topic))
        return "Forgotten."
