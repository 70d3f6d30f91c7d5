"""Questions about the household are answered from what it told, or with an honest "I don't know".

A 135M model asked "when is grandma's birthday?" with nothing remembered invents a date; asked right
after "forget what I said about the gate code", it invents a code. No household should hear either.
This route takes questions about the household's own people, plans, things and codes (by their form:
"our …", "my mum's …", "where did I put …", "Ella's teacher", "do we have …") before the expert and
the language model, and answers them only from the facts it was told, said back as they were told
(dates, numbers and names exact), or says it does not know and how to teach it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from homeplm.brain.router import RouteDecision
from homeplm.core.stages import Turn
from homeplm.memory.types import MemoryKind
from homeplm.memory.words import content_words

if TYPE_CHECKING:
    from homeplm.memory.service import HouseholdMemory
    from homeplm.memory.types import MemoryHit

DONT_KNOW = "I don't know — tell me and I'll remember."
MEMORY_OFF = "I don't know; my memory is switched off."
# A told fact answers a question when it is this similar, about the same people and the same thing.
MIN_SIMILARITY = 0.45
_MAX_TOLD = 2

_FAMILY = (
    r"mum|mom|mummy|mommy|mother|dad|daddy|father|parents?|grandma|grandmas|grandpa|granny|grandad|"
    r"granddad|nan|nana|nanna|gran|grandparents?|husband|wife|partner|son|daughter|sons|daughters|kids?|"
    r"children|child|baby|brother|sister|brothers|sisters|aunt|auntie|uncle|cousin|niece|nephew|"
    r"in-laws|boyfriend|girlfriend|fiance|fiancee|family|neighbou?rs?|babysitter|nanny|cleaner|"
    r"dog|cat|puppy|kitten|hamster|rabbit|pets?"
)
# What a person's name is followed by when the question is about them ("Ella's teacher").
_PERSONAL = (
    r"birthday|birthdays|anniversary|teacher|school|class|lesson|lessons|practice|training|club|"
    r"appointment|appointments|phone|number|email|address|age|allergy|allergies|allergic|favou?rite|"
    r"bedtime|homework|coach|friend|friends|party|flight|train|shift|work|office|doctor|dentist|vet|"
    r"size|shoe|name|surname|middle|plans?|car|bike|room"
)
_THINGS = (
    r"wi-?fi|password|passcode|code|pin|combination|spare key|keys?|bins?|recycling|appointment|"
    r"plumber|electrician|dentist|doctor|gp|vet|boiler|mot|insurance|passport|address|postcode|"
    r"zip code|landlord|mortgage|rent|bill|bills|subscription|account|locker"
)
_QUESTION = (
    r"(?:what|what's|whats|when|when's|where|where's|who|who's|which|how|is|are|do|does|did|have|has|"
    r"can you tell me)"
)
_CAP_NAME = r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]{1,15}\b"
_PATTERNS = (
    # our wifi password / my mum's birthday / our dentist / my keys
    re.compile(rf"\b(?:our|my)\s+(?:(?:{_FAMILY})(?:'s)?\s+)?\w+", re.IGNORECASE),
    # the kids' school, grandma's birthday, the dog's vet
    re.compile(rf"\b(?:the\s+)?(?:{_FAMILY})(?:'s|s'|')?\s+(?:{_PERSONAL}|{_THINGS})\b", re.IGNORECASE),
    # where did I put / park / leave …, what did I say about …, did we …
    re.compile(
        r"\b(?:where|when|what|who)\s+(?:did|do|have|had|was|were)\s+(?:i|we)\s+"
        r"(?:put|park|parked|leave|left|hide|hid|store|say|said|tell|told|book|booked|buy|bought|"
        r"pay|paid|meet|need|have|get|go|going|agree|decide|plan)",
        re.IGNORECASE,
    ),
    re.compile(r"\b(?:do|did|are|were|have|will)\s+we\b", re.IGNORECASE),
    re.compile(r"\bwhat'?s\s+my\s+name\b|\bwho\s+am\s+i\b", re.IGNORECASE),
    # the wifi password, the spare key, the bins, the gate code (a household's own things)
    re.compile(
        r"\bthe\s+(?:(?:front|back|garage|gate|door|alarm|safe|wi-?fi|guest)\s+)*"
        r"(?:wi-?fi(?:\s+password)?|password|passcode|code|pin|combination|spare key|bins?|recycling|"
        r"plumber|electrician|babysitter|landlord|boiler|locker|gas meter|meter|stopcock|fuse box|"
        r"fusebox|window cleaner|cleaner|dentist|doctor|vet|hairdresser|mot|car insurance|insurance|"
        r"parents' evening|school run|spare room)\b",
        re.IGNORECASE,
    ),
    # school events, parcels: the household's own
    re.compile(
        r"\b(?:parents'? evening|school (?:play|concert|trip|run|holidays?|fair)|sports day|inset day|"
        r"the (?:parcel|package|delivery|post|shopping|groceries))\b",
        re.IGNORECASE,
    ),
    # the dog, the kids, the baby … in a question: the household's own
    re.compile(r"\bthe\s+(?:dog|cat|kids|children|baby|puppy|kitten|neighbou?rs|twins)\b", re.IGNORECASE),
    # who's coming / picking up / staying … (the household's plans)
    re.compile(
        r"^\W*who'?s\s+(?:coming|picking|taking|staying|cooking|driving|visiting|babysitting)\b", re.I
    ),
)
# Given names a household's people often have: "How tall is Lily?", "Where does Mark work?" are
# about someone in the house, not a public figure (a name with a surname after it is let through:
# "Where does Mark Rutte work?").
_GIVEN_NAMES = frozenset(
    """
Aaron Abigail Adam Aiden Alex Alexander Alfie Alice Amelia Amy Andrew Anna Archie Arthur Ava Ben
Benjamin Beth Billy Caleb Callum Charlie Charlotte Chloe Chris Daisy Daniel David Dylan Eleanor Eli
Elijah Ella Ellie Emily Emma Ethan Eva Evie Finn Florence Freddie Freya George Grace Hannah Harper
Harry Harvey Henry Holly Isaac Isabella Isla Ivy Jack Jacob Jake James Jamie Jess Jessica Joe John
Jonah Joseph Josh Joshua Kate Katie Leo Liam Lily Lola Louis Lucas Lucy Luke Maisie Max Maya Mia
Michael Mila Millie Molly Mark Noah Olivia Oliver Oscar Paul Peter Phoebe Poppy Priya Rosie Ruby Ryan
Sam Samuel Sarah Scarlett Sienna Sofia Sophia Sophie Theo Thomas Toby Tom Tommy William Zoe Zara
""".split()  # noqa: SIM905 - a list of names reads better as text
)
_PERSON_QUESTION = re.compile(
    r"^\W*(?:what|what's|where|where's|when|when's|how|who|which|is|does|did|can|has)\b", re.I
)
_NAME_TOKEN = re.compile(r"\b([A-Z][a-z]+)\b(?!\s+[A-Z])")
_NAMED = (  # about a person by name: "how old is Tom", "Ella's teacher", "is Lily allergic"
    re.compile(rf"\b(?i:how old is)\s+{_CAP_NAME}\s*[?.!]?$"),
    re.compile(rf"{_CAP_NAME}'s\s+(?:\w+\s+)?(?i:{_PERSONAL})\b"),
    re.compile(rf"\b(?i:is|does|did|has)\s+{_CAP_NAME}\s+(?i:allergic|like|have|going|coming|need)\b"),
)
_GENERAL = re.compile(  # a general question that merely says "my" / "we"
    r"^\s*(?:how (?:do|can|should|would) (?:i|we)|how to|can (?:i|we|my|our)|should (?:i|we)|"
    r"what should (?:i|we)|what can (?:i|we)|why|is it|are there|what (?:is|are) (?:a|an|the best)|"
    r"tell me (?:a|about)|explain|(?:please )?(?:turn|switch|set|open|close|play|stop|start))\b"
    r"|\bshould\s+(?:i|we|my|our)\b"  # advice: "what temperature should my fridge be?"
    r"|\bour\s+(?:solar system|planet|galaxy|universe|world|sun|moon|bodies|body|brains?|species)\b",
    re.IGNORECASE,
)


def household_question(text: str) -> str | None:
    """Why `text` is a question about the household's own people, plans or things (None if not)."""
    stripped = text.strip().replace("’", "'")
    if not stripped or _GENERAL.search(stripped):
        return None
    question = stripped.endswith("?") or re.match(rf"^\s*{_QUESTION}\b", stripped, re.IGNORECASE)
    if not question:
        return None
    for pattern in (*_PATTERNS, *_NAMED):
        if found := pattern.search(stripped):
            return f"asks about the household ({found.group().strip()!r})"
    if _PERSON_QUESTION.match(stripped):
        first = stripped.split(maxsplit=1)[0]
        for name in _NAME_TOKEN.findall(stripped):
            if name != first and name in _GIVEN_NAMES:
                return f"asks about someone in the house ({name!r})"
    return None


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".!?")
    return text[:1].upper() + text[1:] + "."


# Words a question asks with rather than about ("what day do the bins go out" is about the bins).
_ASKING = frozenset({
    "day", "days", "time", "date", "called", "call", "name", "go", "goe", "going", "out", "get", "happen",
    "getting", "got", "many", "much", "long", "often", "kind", "sort", "type", "thing", "tell", "know",
    "say", "said",
    "put", "left", "leave", "keep", "kept", "anything", "something", "any", "some", "there", "next",
    "last", "again", "did", "can", "could", "would", "should", "remember", "told", "about", "like", "us",
    "due", "today", "tomorrow", "tonight", "week", "weekend", "up", "down", "back", "soon", "still",
    "live", "lives", "living",
    "how", "why", "these", "those", "were", "had", "does", "doe", "need", "whats", "who's", "wheres",
})  # fmt: skip


def _stem(word: str) -> str:
    return word[:5]


def about(question: str) -> set[str]:
    """What a question is about: its content words less the asking words, cut to a stem."""
    return {_stem(word) for word in content_words(question) if word not in _ASKING}


_FAMILY_WORDS = frozenset(w.replace("?", "").removesuffix("s") for w in _FAMILY.split("|")) | {"neighbor"}


def _family(word: str) -> bool:
    return word in _FAMILY_WORDS or word.removesuffix("s") in _FAMILY_WORDS


def people_in(question: str) -> set[str]:
    """The people and animals a question is about (names said, family words), as stems."""
    named = {m.group().lower() for m in re.finditer(_CAP_NAME, question)}
    family = {word for word in content_words(question) if _family(word)}
    return {_stem(word) for word in named | family}


def told_answer(question: str, hits: list[MemoryHit], asker: str | None = None) -> str | None:
    """The facts that answer `question`, said back as they were told; None when none does."""
    # The fact must be about the same people ("grandma's birthday" is not answered by "my sister's
    # birthday is on May 3") and hold every thing asked about ("… nor by "grandma is allergic to
    # peanuts"; "the car insurance" not by "the car's MOT").
    wanted = about(question)
    people = people_in(question) & wanted
    things = wanted - people

    def answers(text: str) -> bool:
        words = {_stem(word) for word in content_words(text)}
        return bool(wanted) and people <= words and things <= words

    told = [
        hit
        for hit in hits
        if hit.item.kind is MemoryKind.FACT and hit.similarity >= MIN_SIMILARITY and answers(hit.item.text)
    ][:_MAX_TOLD]
    if not told:
        return None
    lines = []
    for hit in told:
        who = hit.item.speaker
        if who and asker and who.casefold() == asker.casefold():
            who = "You"
        lines.append(f"{who} told me: {hit.item.text.strip()}" if who else hit.item.text)
    return " ".join(_sentence(line) for line in lines)


class HouseholdRoute:
    """Household questions: the told facts, word for word, or "I don't know — tell me"."""

    name = "household"
    verbatim = True  # told facts said back as told: not a model's words for the reply filter

    def __init__(self, memory: HouseholdMemory | None) -> None:
        self.memory = memory

    def new_conversation(self) -> None:
        pass

    def accepts(self, turn: Turn) -> RouteDecision | None:
        reason = household_question(turn.text)
        return RouteDecision("household", reason) if reason else None

    async def reply(self, turn: Turn, decision: RouteDecision) -> AsyncIterator[str]:
        if self.memory is None or not self.memory.settings.enabled:
            yield MEMORY_OFF
            return
        hits = await asyncio.to_thread(self.memory.recall, turn.text, kinds=[MemoryKind.FACT])
        decision.details["memories"] = [
            {"id": h.item.id, "text": h.item.text, "similarity": round(h.similarity, 3)} for h in hits
        ]
        answer = told_answer(turn.text, hits, turn.speaker)
        decision.details["answered_from"] = "told facts" if answer else "nothing told"
        yield answer or DONT_KNOW
