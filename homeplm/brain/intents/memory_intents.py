"""Memory commands: "remember that …", "what do you know about …", "forget what I said about …".

Only the matching lives here; a `MemoryCommands` (the memory store's side) carries them out. Slots are
cut from the raw text, word by word, so a fact keeps the speaker's words and casing ("my sister's
birthday is May 3"); the normalised text is not used, since it drops and rewrites words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

from homeplm.brain.intents.normalise import DEFAULT_NAMES
from homeplm.brain.intents.types import IntentMatch, IntentReply
from homeplm.core.stages import Turn


class MemoryCommands(Protocol):
    """Carries out memory commands; each returns what to say."""

    async def remember(self, fact: str, turn: Turn) -> str: ...

    async def recall(self, topic: str, turn: Turn) -> str: ...

    async def forget(self, topic: str, turn: Turn) -> str: ...


def _commands(*phrases: str) -> list[tuple[str, ...]]:
    return [tuple(p.split()) for p in phrases]


# Command words, as lowercase raw words (both "don't" and "do not"); the slot is what follows.
_REMEMBER = _commands(
    "remember that", "don't forget that", "do not forget that", "dont forget that",
    "make a note that", "take a note that", "make a note", "note that", "note down that",
)  # fmt: skip
# "remember my …": the command word is followed by the start of the fact, which is kept.
_REMEMBER_KEEP = _commands("remember")
_KEEP_STARTS = frozenset({"my", "our", "the", "his", "her", "their", "mum's", "dad's"})
_RECALL = _commands(
    "what do you know about", "what do you remember about", "tell me what you know about",
    "tell me what you remember about", "tell me everything you know about", "what have i told you about",
    "do you remember",
)  # fmt: skip
_FORGET = _commands(
    "forget what i said about", "forget what i told you about", "forget everything about",
    "forget everything you know about", "forget about", "delete what you know about",
    "delete everything you know about", "delete everything about",
)  # fmt: skip
# Said before a command without changing it ("hey jarvis, could you please remember that …").
_LEAD = frozenset({
    "hey", "hi", "ok", "okay", "so", "well", "please", "um", "uh", "just",
    "can", "could", "would", "will", "you",
})  # fmt: skip
_POLITE = frozenset({"can", "could", "would", "will"})
_TAIL = frozenset({"please", "thanks"})
# "forget about it" is "stop"; "do you remember that?" needs the conversation, not the memory.
_PRONOUNS = frozenset({"it", "that", "this", "them", "me", "everything", "anything"})
_STRIP = ".,!?;:\"'()"
_WORD = re.compile(r"\S+")


def _key(word: str) -> str:
    return word.lower().replace("’", "'").strip(_STRIP)


class MemoryIntent:
    """Matches memory commands (memory.remember, memory.recall, memory.forget) and delegates them."""

    name = "memory"

    def __init__(self, commands: MemoryCommands, names: Iterable[str] = DEFAULT_NAMES) -> None:
        self.commands = commands
        self.lead = _LEAD | {n.lower() for n in names}
        self.tail = _TAIL | {n.lower() for n in names}

    def match(self, text: str, normalised: str) -> IntentMatch | None:
        spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        keys = [_key(text[a:b]) for a, b in spans]
        start = 0
        while start < len(keys) and keys[start] in self.lead:
            start += 1
        # A question ("remember that time we went camping?") is for the conversation, not a note,
        # unless it is a polite request ("could you remember that …?").
        statement = not text.rstrip().endswith("?") or not _POLITE.isdisjoint(keys[:start])
        keys, spans = keys[start:], spans[start:]
        size = _prefix(keys, _REMEMBER)
        if not size and (keep := _prefix(keys, _REMEMBER_KEEP)):  # "remember my …": "my" is the fact's
            size = keep if keep < len(keys) and keys[keep] in _KEEP_STARTS else 0
        if size and statement:
            return _slot("memory.remember", keys[:size], "fact", text, spans[size:], self.tail)
        if size := _prefix(keys, _RECALL):
            return _slot("memory.recall", keys[:size], "topic", text, spans[size:], self.tail)
        if size := _prefix(keys, _FORGET):
            return _slot("memory.forget", keys[:size], "topic", text, spans[size:], self.tail)
        return None

    async def handle(self, match: IntentMatch, turn: Turn) -> IntentReply:
        kind = match.intent.removeprefix("memory.")
        if kind == "remember":
            text = await self.commands.remember(match.slots["fact"], turn)
        elif kind == "recall":
            text = await self.commands.recall(match.slots["topic"], turn)
        else:
            text = await self.commands.forget(match.slots["topic"], turn)
        return IntentReply(text, data={"action": match.intent})


def _slot(
    intent: str, command: list[str], slot: str, text: str, rest: list[tuple[int, int]], tail: frozenset[str]
) -> IntentMatch | None:
    """The slot is the words after the command (`rest`), as said, minus trailing politeness."""
    keys = [_key(text[a:b]) for a, b in rest]
    while keys and (keys[-1] in tail or keys[-2:] == ["thank", "you"]):
        cut = 2 if keys[-2:] == ["thank", "you"] else 1
        keys, rest = keys[:-cut], rest[:-cut]
    if not rest:
        return None
    if (len(keys) == 1 and keys[0] in _PRONOUNS) or keys[0] in ("to", "when"):
        return None  # "remember to …" is a reminder; "do you remember when …" is conversation
    value = text[rest[0][0] : rest[-1][1]].strip(" .,!?;:")
    return IntentMatch(intent, slots={slot: value}, matched=" ".join(command)) if value else None


def _prefix(keys: list[str], commands: list[tuple[str, ...]]) -> int:
    """Length of the longest command that `keys` starts with (0 when none)."""
    return max((len(c) for c in commands if tuple(keys[: len(c)]) == c), default=0)
