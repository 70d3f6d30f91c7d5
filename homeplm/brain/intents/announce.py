"""Announcements: "announce dinner is ready", "tell everyone the taxi is here", "announce in the
kitchen that we're leaving in five minutes" — said in every other room (homeplm's own and each
satellite's) or in the one named, then the asker is told where it was said. A room nobody has is
said so, and nothing is announced."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from homeplm.brain.intents.types import IntentMatch, IntentReply
from homeplm.core.stages import Turn

# say(text, room or None for everywhere, the asking room) → where it was said ("the kitchen"); [] if nowhere.
Announcer = Callable[[str, str | None, str | None], Awaitable[list[str]]]

_ANNOUNCE = re.compile(
    r"^(?:(?:please|can you|could you|would you)\s+)?"
    r"(?:announce|broadcast|tell (?:everyone|everybody|the (?:whole )?house))\b[\s,:]*"
    r"(?:(?:in|to)\s+(?:the\s+)?(?P<room>[a-z][a-z' ]{0,30}?)\s*(?:that\b|:|,)\s*|(?:that\b|:)\s*)?"
    r"(?P<text>\S.*?)[\s.!]*$",
    re.IGNORECASE,
)
_EVERYWHERE = {"everyone", "everybody", "all", "all rooms", "every room", "whole house", "house"}


def _rooms(said: list[str]) -> str:
    return said[0] if len(said) == 1 else f"{', '.join(said[:-1])} and {said[-1]}"


class AnnounceIntent:
    """ "announce …" → said in the other rooms (or the one named) through `say`."""

    name = "announce"

    def __init__(self, say: Announcer) -> None:
        self.say = say

    def match(self, text: str, normalised: str) -> IntentMatch | None:
        found = _ANNOUNCE.match(text.strip())
        if found is None:
            return None
        room = (found["room"] or "").strip().lower()
        message = found["text"].strip()
        if room in _EVERYWHERE:
            room = ""
        return IntentMatch("announce", slots={"text": message, "room": room}, matched=normalised)

    async def handle(self, match: IntentMatch, turn: Turn) -> IntentReply:
        room = match.slots.get("room") or None
        message = match.slots["text"]
        message = message[0].upper() + message[1:]
        said = await self.say(message if message[-1] in ".!?" else message + ".", room, turn.room)
        if not said:
            where = f"a room called {room}" if room else "another room to announce it in"
            return IntentReply(f"I don't know {where}; nothing was announced.")
        return IntentReply(f"Announced in {_rooms(said)}.", data={"action": "announce"})
