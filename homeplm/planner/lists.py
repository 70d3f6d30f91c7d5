"""Lists by voice: "add butter, apples and coffee to the shopping list", "is butter on the list?",
"what's on my to-do list", "take apples off the shopping list", "clear the packing list".

Items are kept as said ("apples") under a singular key ("apple"), so "apple" and "apples" are one
item and saying it twice adds it once.
"""

from __future__ import annotations

import re

from homeplm.brain.intents.types import IntentMatch, IntentReply
from homeplm.core.stages import Turn
from homeplm.planner.store import PlannerStore

DEFAULT_LIST = "shopping"
_LIST = r"(?:the |my |our )?(?P<list>[a-z][a-z -]*?) ?list"
_ADD = r"^(?:add|put|write|stick) (?P<items>.+?) (?:to|on|onto|in) "
_REMOVE = r"^(?:remove|take|delete|cross|strike|scratch) (?P<items>.+?) (?:from|off|out of) "
_WHAT = r"^(?:what is|what's|whats|what are|what do i have|what do we have) (?:on|in) "
_SHOPPING = r"^what (?:do|should) (?:i|we) (?:need to )?(?:buy|get)(?: at the (?:shop|store))?$"
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(_ADD + _LIST + "$"), "add"),
    (re.compile(_ADD + r"(?:the |my |our )?(?P<list>shopping|to do|todo|to-do)$"), "add"),
    (re.compile(_REMOVE + _LIST + "$"), "remove"),
    (re.compile(rf"^(?:clear|empty|delete|wipe|reset) (?:out )?{_LIST}$"), "clear"),
    (re.compile(rf"^(?:is|are) (?:there )?(?P<items>.+?) (?:on|in) {_LIST}$"), "has"),
    (re.compile(_WHAT + _LIST + "$"), "read"),
    (re.compile(rf"^(?:read|tell me|read me|show me|show|list) (?:me )?{_LIST}$"), "read"),
    (re.compile(_SHOPPING), "read_shopping"),
]
_LEADING = re.compile(r"^(?:(?:hey|ok|okay) )?(?:jarvis,? )?(?:(?:can|could|would) you |please )*")
_SPLIT = re.compile(r"\s*(?:,|\band also\b|\band\b|&|\bplus\b)\s*")
_ARTICLE = re.compile(r"^(?:some|a|an|the|more|a few|a bag of|a bottle of|a pack of|a packet of) ")


def plain(text: str) -> str:
    """The raw words, lower case, commas kept (normalising drops them, and they separate items)."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^a-z0-9,' -]+", " ", text)
    text = " ".join(text.replace(" ,", ",").split()).strip(" ,")
    text = _LEADING.sub("", text)
    return re.sub(r"(?:,? please| thanks| thank you)$", "", text).strip(" ,")


def list_name(said: str) -> str:
    name = " ".join(said.replace("-", " ").split())
    if name in ("to do", "todo", "things to do", "task", "tasks"):
        return "to-do"
    if name in ("", "the", "my", "shop", "grocery", "groceries", "shopping"):
        return DEFAULT_LIST
    return name


def items_of(said: str) -> list[str]:
    """ "butter, apples and coffee" → ["butter", "apples", "coffee"]."""
    parts = [_ARTICLE.sub("", p.strip()) for p in _SPLIT.split(said)]
    return [p for p in parts if p and len(p) <= 60]


def key(item: str) -> str:
    """One key for "apples" and "apple", "tomatoes" and "tomato", "berries" and "berry"."""
    words = item.lower().split()
    if not words:
        return ""
    last = words[-1]
    if last.endswith("ies") and len(last) > 4:
        last = last[:-3] + "y"
    elif last.endswith(("oes", "ches", "shes", "xes", "sses")):
        last = last[:-2]
    elif last.endswith("s") and not last.endswith(("ss", "us", "is")) and len(last) > 3:
        last = last[:-1]
    return " ".join([*words[:-1], last])


def _plural(item: str) -> bool:
    return key(item) != item.lower()


def _spoken(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} and {items[-1]}"


class ListIntents:
    """The "list" intent handler over the planner's store."""

    name = "list"

    def __init__(self, store: PlannerStore) -> None:
        self.store = store

    def match(self, text: str, normalised: str) -> IntentMatch | None:
        said = plain(text)
        for pattern, op in _PATTERNS:
            if (m := pattern.match(said)) is None:
                continue
            groups = m.groupdict()
            name = DEFAULT_LIST if op == "read_shopping" else list_name(groups.get("list") or "")
            slots = {
                "op": "read" if op == "read_shopping" else op,
                "list": name,
                "items": groups.get("items") or "",
            }
            return IntentMatch(f"list.{slots['op']}", slots, 0.95, said)
        return None

    async def handle(self, match: IntentMatch, turn: Turn) -> IntentReply:
        op, name = match.slots["op"], match.slots["list"]
        items = items_of(match.slots.get("items") or "")
        title = f"{name} list" if name != "to-do" else "to-do list"
        if op == "add":
            added = [i for i in items if self.store.add_to_list(name, key(i), i, turn.speaker or "")]
            there = [i for i in items if i not in added]
            be = "is" if len(there) == 1 and not _plural(there[0]) else "are"
            if not added:
                return IntentReply(f"{_spoken(there).capitalize()} {be} on the {title} already.")
            extra = (
                f" {_spoken(there).capitalize()} {'was' if len(there) == 1 else 'were'} there already."
                if there
                else ""
            )
            return IntentReply(f"Added {_spoken(added)} to the {title}.{extra}")
        if op == "remove":
            gone = [i for i in items if self.store.remove_from_list(name, key(i))]
            if not gone:
                be = "is" if len(items) == 1 and not _plural(items[0]) else "are"
                return IntentReply(f"{_spoken(items).capitalize()} {be}n't on the {title}.")
            return IntentReply(f"Removed {_spoken(gone)} from the {title}.")
        if op == "clear":
            count = self.store.clear_list(name)
            return IntentReply(f"The {title} is empty now." if count else f"The {title} was empty already.")
        if op == "has":
            on = [i for i in items if self.store.has(name, key(i))]
            if len(items) == 1:
                be = "are" if _plural(items[0]) else "is"
                return IntentReply(
                    f"Yes, {items[0]} {be} on the {title}."
                    if on
                    else f"No, {items[0]} {be}n't on the {title}."
                )
            missing = [i for i in items if i not in on]
            return IntentReply(
                f"On the {title}: {_spoken(on) if on else 'none of them'}"
                + (f"; not {_spoken(missing)}." if missing else ".")
            )
        entries = [e.item for e in self.store.list_items(name)]
        if not entries:
            return IntentReply(f"The {title} is empty.")
        return IntentReply(f"On the {title}: {_spoken(entries)}.")
