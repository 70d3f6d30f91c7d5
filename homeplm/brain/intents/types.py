"""The intent interface: the built-in intents, device control and timers all plug in here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from homeplm.core.stages import Turn


@dataclass(frozen=True, slots=True)
class IntentMatch:
    """A fast intent that matched: which, its slots, the score and the phrase."""

    intent: str  # e.g. "time", "stop", "memory.remember", "light.turn_on"
    slots: Mapping[str, str] = field(default_factory=dict)
    score: float = 1.0  # 0…1: how sure the matcher is
    matched: str = ""  # the normalised text it matched on (for the route record)


@dataclass(frozen=True, slots=True)
class IntentReply:
    """What a fast intent answers, and data for the pipeline and Home Assistant."""

    text: str  # what to say
    # Fixed replies ("Okay.", "Stopped.") may be served from the phrase cache of rendered audio.
    cacheable: bool = False
    data: Mapping[str, str] = field(default_factory=dict)  # for events (MQTT `event` entity)


class IntentHandler(Protocol):
    """Matches a family of intents and carries them out. `match` must be fast (no I/O, no models)."""

    name: str

    def match(self, text: str, normalised: str) -> IntentMatch | None: ...

    async def handle(self, match: IntentMatch, turn: Turn) -> IntentReply: ...
