"""Typed, timestamped pipeline events: logs, MQTT, the CLI, the benchmark and tests read this one stream."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    """The kinds of pipeline event, in the order a turn emits them."""

    READY = "ready"
    RUN_START = "run-start"
    WAKE = "wake"
    SPEECH_START = "speech-start"
    SPEECH_END = "speech-end"
    NO_SPEECH = "no-speech"
    TRANSCRIPT = "transcript"
    REPLY_START = "reply-start"
    REPLY_DELTA = "reply-delta"
    REPLY_END = "reply-end"
    TTS_START = "tts-start"
    AUDIO_OUT = "audio-out"
    TTS_END = "tts-end"
    ERROR = "error"
    RUN_END = "run-end"


def now_ms() -> float:
    """Monotonic milliseconds: event times are comparable within a process, never wall clock."""
    return time.monotonic() * 1000.0


@dataclass(frozen=True, slots=True)
class PipelineEvent:
    """One typed, timestamped event of a turn, for logs, MQTT, the CLI and the tests."""

    type: EventType
    timestamp_ms: float = field(default_factory=now_ms)
    run_id: int = 0
    data: Mapping[str, Any] = field(default_factory=dict)


EventCallback = Callable[[PipelineEvent], None]

# Events whose data holds what people said or were told: personal data, logged at DEBUG only.
PERSONAL_EVENTS = frozenset({EventType.TRANSCRIPT, EventType.REPLY_DELTA, EventType.REPLY_END})


class EventRecorder:
    """Collects events (tests, benchmark); also usable as the callback itself."""

    def __init__(self) -> None:
        self.events: list[PipelineEvent] = []

    def __call__(self, event: PipelineEvent) -> None:
        self.events.append(event)

    def of(self, kind: EventType) -> list[PipelineEvent]:
        return [e for e in self.events if e.type is kind]

    def first(self, kind: EventType, run_id: int | None = None) -> PipelineEvent | None:
        for event in self.events:
            if event.type is kind and (run_id is None or event.run_id == run_id):
                return event
        return None

    def types(self) -> list[EventType]:
        return [e.type for e in self.events]


class EventBus:
    """Hands each event to every consumer; consumers can join later (the MQTT bridge, once
    connected). A consumer that fails is logged: it never breaks the turn."""

    def __init__(self, *consumers: EventCallback) -> None:
        self.consumers = list(consumers)

    def add(self, consumer: EventCallback) -> None:
        self.consumers.append(consumer)

    def __call__(self, event: PipelineEvent) -> None:
        for consumer in self.consumers:
            try:
                consumer(event)
            except Exception:
                logging.getLogger(__name__).exception("event consumer failed on %s", event.type.value)


def fan_out(*callbacks: EventCallback) -> EventCallback:
    """One callback that calls several, so every consumer sees the same stream."""

    def emit(event: PipelineEvent) -> None:
        for callback in callbacks:
            callback(event)

    return emit
