"""What the memory intents do when spoken to: remember, recall and forget, with short spoken replies."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from homeplm.core.stages import Turn
from homeplm.memory.types import MemoryKind

if TYPE_CHECKING:
    from homeplm.memory.service import HouseholdMemory

_MAX_SPOKEN = 3  # facts read out for "what do you know about …"

REMEMBERED = "Okay, I'll remember that."
PRIVATE = "I'm in private mode, so I won't remember that."
WHAT_TO_REMEMBER = "What should I remember?"
MEMORY_OFF = "Memory is switched off."
FIXED_REPLIES = (REMEMBERED, PRIVATE, WHAT_TO_REMEMBER, MEMORY_OFF)


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".!?")
    return text[:1].upper() + text[1:] + "."


class VoiceMemory:
    """Implements the memory intents' MemoryCommands over the household memory."""

    def __init__(self, memory: HouseholdMemory) -> None:
        self.memory = memory

    async def remember(self, fact: str, turn: Turn) -> str:
        if not fact.strip():
            return WHAT_TO_REMEMBER
        if self.memory.private:
            return PRIVATE
        item = await asyncio.to_thread(
            self.memory.remember_fact, fact, speaker=turn.speaker, room=turn.room, source=turn.source
        )
        return REMEMBERED if item is not None else MEMORY_OFF

    async def recall(self, topic: str, turn: Turn) -> str:
        hits = await asyncio.to_thread(self.memory.recall, topic, kinds=[MemoryKind.FACT])
        if not hits:
            return f"I don't know anything about {topic} yet."
        told = " ".join(_sentence(hit.item.text) for hit in hits[:_MAX_SPOKEN])
        return f"Here's what I know. {told}"

    async def forget(self, topic: str, turn: Turn) -> str:
        deleted = await asyncio.to_thread(self.memory.forget_about, topic)
        if not deleted:
            return f"I didn't have anything about {topic}."
        things = "one thing" if len(deleted) == 1 else f"{len(deleted)} things"
        return f"Done. I forgot {things} about {topic}."
