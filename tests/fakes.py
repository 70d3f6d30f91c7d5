"""Fakes for fast pipeline tests: audio chunks carry marker values that the fakes react to."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence

import numpy as np
from paho.mqtt.client import topic_matches_sub

from homeplm.assistant import LoadedParts, build_pipeline
from homeplm.brain.router import RouteDecision
from homeplm.config.schema import ConversationSettings, Settings, VadSettings, WakeSettings
from homeplm.core.audio import CHUNK_SAMPLES
from homeplm.core.events import EventRecorder
from homeplm.core.stages import ChatMessage, Transcript, Turn, WakeDetection
from homeplm.mqtt.types import MessageHandler, MqttMessage
from homeplm.voice.wavio import NullSink

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


class SlowChat(FakeChat):
    """A language model that takes `seconds` per answer and holds its thread meanwhile."""

    def __init__(self, seconds: float) -> None:
        super().__init__("Slow answer.")
        self.seconds = seconds
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def stream_chat(self, messages: Sequence[ChatMessage], *, max_tokens: int) -> Iterator[str]:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            time.sleep(self.seconds)
            yield from super().stream_chat(messages, max_tokens=max_tokens)
        finally:
            with self._lock:
                self.running -= 1


class FakeControl:
    """The daemon's knobs as the Home Assistant bridge sees them, recorded instead of applied."""

    def __init__(self) -> None:
        self.state = {"muted": False, "private": False, "wake_word": "hey_jarvis", "sensitivity": 0.5}
        self.state["volume"] = 1.0
        self.calls: list[tuple[object, ...]] = []

    def snapshot(self) -> dict[str, object]:
        return dict(self.state)

    def _set(self, key: str, value: object) -> None:
        self.state[key] = value
        self.calls.append((key, value))

    def set_muted(self, muted: bool) -> None:
        self._set("muted", muted)

    def set_private(self, private: bool) -> None:
        self._set("private", private)

    async def set_wake_word(self, name: str) -> None:
        self._set("wake_word", name)

    def set_sensitivity(self, threshold: float) -> None:
        self._set("sensitivity", threshold)

    def set_volume(self, volume: float) -> None:
        self._set("volume", volume)

    async def announce(self, text: str) -> None:
        self.calls.append(("announce", text))

    async def ask(self, text: str) -> str:
        self.calls.append(("ask", text))
        return f"the answer to {text}"

    async def forget_last(self) -> bool:
        self.calls.append(("forget_last",))
        return True


class FakeLink:
    """An MQTT link in memory: records what is published, hands injected messages to subscribers."""

    def __init__(self) -> None:
        self.subs: list[tuple[str, MessageHandler]] = []
        self.published: list[tuple[str, str]] = []
        self.connected = True

    def publish(self, topic: str, payload: str | bytes, *, retain: bool = False, qos: int = 0) -> None:
        self.published.append((topic, payload if isinstance(payload, str) else payload.decode()))

    def subscribe(self, pattern: str, handler: MessageHandler) -> None:
        self.subs.append((pattern, handler))

    def on_connect(self, callback) -> None:
        callback()

    def inject(self, topic: str, payload: str | bytes | dict, retain: bool = True) -> None:
        data = json.dumps(payload) if isinstance(payload, dict) else payload
        raw = data.encode() if isinstance(data, str) else data
        for pattern, handler in list(self.subs):
            if topic_matches_sub(pattern, topic):
                handler(MqttMessage(topic, raw, retain))


# Fast endpointing for pipeline tests: short silences and timeouts.
PIPELINE_SETTINGS = Settings(
    wake=WakeSettings(chime=False, preroll_s=0.4, refractory_s=1.0),
    vad=VadSettings(silence_s=0.4, start_timeout_s=1.0, min_speech_s=0.16),
    # FakeChat's reply ends with a question: these tests are about the wake word, not follow-ups.
    conversation=ConversationSettings(follow_up="never"),
)


def make_pipeline(settings: Settings = PIPELINE_SETTINGS, chat: FakeChat | None = None, sink=None):
    recorder = EventRecorder()
    stt, tts, chat = FakeStt(), FakeTts(), chat or FakeChat()
    loaded = LoadedParts(parts={"vad": FakeVad(), "stt": stt, "llm": chat, "tts": tts})
    sink = sink or NullSink()
    pipeline = build_pipeline(settings, loaded, recorder, sink)
    return pipeline, recorder, stt, chat, tts


class FactsMemory:
    """Just enough of the household memory for the routes: recall returns fixed facts."""

    private = False

    def __init__(self, facts: list[str]) -> None:
        from homeplm.memory.types import MemoryHit, MemoryItem, MemoryKind

        self.hits = [
            MemoryHit(MemoryItem(f"id{i}", MemoryKind.FACT, text, 0.0), 0.9, 0.9)
            for i, text in enumerate(facts)
        ]
        self.exchanges: list[tuple[str, str]] = []

    def recall(self, query: str, *, kinds=None):
        return list(self.hits)

    def record_exchange(self, question: str, answer: str, **kw) -> None:
        self.exchanges.append((question, answer))


class NeverCalled:
    """The language model's place in a router, for phrasings that must never reach it."""

    name = "llm"
    calls = 0

    def accepts(self, turn: Turn) -> RouteDecision:
        return RouteDecision("llm", "general question")

    def new_conversation(self) -> None:
        pass

    async def reply(self, turn: Turn, decision: RouteDecision) -> AsyncIterator[str]:
        NeverCalled.calls += 1
        yield "the LLM was asked"


class SlowSink:
    """Each play takes `seconds` unless stop() comes first."""

    sample_rate = 22050

    def __init__(self, seconds: float = 0.3) -> None:
        self.seconds = seconds
        self.stops = 0
        self.played = 0

    async def play(self, audio: np.ndarray) -> None:
        self.played += 1
        stops = self.stops
        loop = asyncio.get_running_loop()
        end = loop.time() + self.seconds
        while loop.time() < end and self.stops == stops:
            await asyncio.sleep(0.005)

    async def drain(self) -> None:
        return None

    def stop(self) -> None:
        self.stops += 1

    async def close(self) -> None:
        return None
