"""Typed, timestamped pipeline events: logs, MQTT, the CLI, the benchmark and tests read this one stream."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar


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
    FOLLOW_UP = "follow-up"
    ERROR = "error"
    RUN_END = "run-end"


def now_ms() -> float:
    """Monotonic milliseconds: event times are comparable within a process, never wall clock."""
    return time.monotonic() * 1000.0


@dataclass(frozen=True, slots=True)
class EventData:
    """The fields of one kind of event (one dataclass per kind, as Wyoming has one per message), so
    a renamed field fails mypy, not a consumer at run time."""

    kind: ClassVar[EventType]

    def fields(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True, slots=True)
class Ready(EventData):
    """The daemon's models are loaded and warm: load time per part, and start → ready."""

    kind = EventType.READY
    load_ms: Mapping[str, float]
    ready_ms: float


@dataclass(frozen=True, slots=True)
class RunStart(EventData):
    """A turn began: from audio, text or a fixed text to speak, up to which stage."""

    kind = EventType.RUN_START
    start: str
    end: str


@dataclass(frozen=True, slots=True)
class Wake(EventData):
    """The wake word was heard."""

    kind = EventType.WAKE
    name: str
    score: float


@dataclass(frozen=True, slots=True)
class SpeechStart(EventData):
    """Speech began, this far into the recording."""

    kind = EventType.SPEECH_START
    offset_ms: float


@dataclass(frozen=True, slots=True)
class SpeechEnd(EventData):
    """The endpointer ended the utterance (silence, or the length cap)."""

    kind = EventType.SPEECH_END
    speech_ms: float
    reason: str


@dataclass(frozen=True, slots=True)
class NoSpeech(EventData):
    """Nobody spoke after the wake word."""

    kind = EventType.NO_SPEECH
    waited_ms: float


@dataclass(frozen=True, slots=True)
class Transcript(EventData):
    """What was said (wake phrase stripped) and, for speech, what the recogniser heard."""

    kind = EventType.TRANSCRIPT
    text: str
    source: str = "voice"
    heard: str | None = None
    audio_ms: float | None = None
    dropped_segments: int = 0
    early: bool = False
    rechecked: str | None = None  # the command as heard, when the house's own one replaced it


@dataclass(frozen=True, slots=True)
class ReplyStart(EventData):
    """The brain started answering."""

    kind = EventType.REPLY_START
    source: str


@dataclass(frozen=True, slots=True)
class ReplyDelta(EventData):
    """A piece of the reply as it streams."""

    kind = EventType.REPLY_DELTA
    text: str


@dataclass(frozen=True, slots=True)
class ReplyEnd(EventData):
    """The whole reply, and the route that made it (from the turn's route record)."""

    kind = EventType.REPLY_END
    text: str
    route: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class TtsStart(EventData):
    """Speech synthesis of the first sentence began."""

    kind = EventType.TTS_START


@dataclass(frozen=True, slots=True)
class AudioOut(EventData):
    """The first audio of the reply went to the speaker."""

    kind = EventType.AUDIO_OUT
    sample_rate: int


@dataclass(frozen=True, slots=True)
class TtsEnd(EventData):
    """The reply was spoken: how many sentences, how much audio."""

    kind = EventType.TTS_END
    sentences: int
    audio_ms: int


@dataclass(frozen=True, slots=True)
class FollowUp(EventData):
    """The microphone is open for an answer without the wake word (after a reply that asked)."""

    kind = EventType.FOLLOW_UP
    window_ms: int
    reason: str  # "question" (the reply asked something), "always", or "ringing" (say "stop")


@dataclass(frozen=True, slots=True)
class TurnError(EventData):
    """The turn failed: a stable code and a message for people."""

    kind = EventType.ERROR
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class RunEnd(EventData):
    """The turn ended: ok, error, cancelled, no-speech or no-text."""

    kind = EventType.RUN_END
    outcome: str


PAYLOADS: dict[EventType, type[EventData]] = {
    cls.kind: cls
    for cls in (
        Ready,
        RunStart,
        Wake,
        SpeechStart,
        SpeechEnd,
        NoSpeech,
        Transcript,
        ReplyStart,
        ReplyDelta,
        ReplyEnd,
        TtsStart,
        AudioOut,
        TtsEnd,
        FollowUp,
        TurnError,
        RunEnd,
    )
}


@dataclass(frozen=True, slots=True)
class PipelineEvent:
    """One typed, timestamped event of a turn, for logs, MQTT, the CLI and the tests."""

    data: EventData
    run_id: int = 0
    timestamp_ms: float = field(default_factory=now_ms)

    @property
    def type(self) -> EventType:
        return self.data.kind

    @classmethod
    def of(
        cls, kind: EventType, run_id: int = 0, timestamp_ms: float | None = None, **fields: Any
    ) -> PipelineEvent:
        """An event built from its kind and fields (a wrong field name raises TypeError)."""
        data = PAYLOADS[kind](**fields)
        if timestamp_ms is None:
            return cls(data, run_id)
        return cls(data, run_id, timestamp_ms)


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
