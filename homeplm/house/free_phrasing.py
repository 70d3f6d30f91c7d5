"""Free phrasing, safely: "it's too dark in the hall" → the hall light, on.

When the fixed device phrasings (`device_intents`) miss, the local LLM may choose one action from a
closed set: a GBNF grammar built from the house's own devices (one of the devices named in the
utterance × the actions its capabilities allow, or "none"), so it can only pick what exists.

The model is the last and weakest of the checks. Before it runs, code decides:

* that the utterance asks for something (`wants_action`): an imperative, a request ("can you…"), a
  discomfort ("too dark", "I'm cold"), a short "<device> off"; and that it is not a question, a
  negation ("don't turn on…"), a story ("yesterday…", "I turned…") or a state ("the door is open");
* which devices it names (`relevant`): by their name, or by their kind ("lights", "blind") or a
  word that implies the kind ("dark" → lights, "cold" → the thermostat), within the area it names.

Only those devices go into the grammar, and a pick is re-checked against the same rules before it is
returned. Device names are the house's data: they are sanitised to plain words before they reach the
prompt or the grammar, and compared, never obeyed. Confirmation of unlock and the like is the
caller's, as for the fixed phrasings.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from homeplm.brain.intents.normalise import normalise
from homeplm.core.stages import ChatMessage, ConstrainedChat
from homeplm.house.device_discovery import Device
from homeplm.house.matching import phonetic_key

_LOGGER = logging.getLogger(__name__)

MAX_DEVICES = 12  # devices offered to the model at most (grammar and prompt stay small)
MAX_TOKENS = 24  # the longest option ("living room ceiling light: temperature 35") is ~12 tokens
DEFAULT_SHOTS = 4

# Nouns that name a kind of device. "switch" is left out: it is mostly the verb ("switch it on").
KIND_WORDS: dict[str, frozenset[str]] = {
    "light": frozenset({"light", "lighting", "chandelier", "spotlight"}),
    "switch": frozenset({"plug", "socket", "outlet"}),
    "fan": frozenset({"fan", "ventilator"}),
    "cover": frozenset({"blind", "curtain", "shade", "shutter", "cover", "awning", "door", "window"}),
    "climate": frozenset({"thermostat", "heating", "heater", "climate", "ac", "radiator", "aircon"}),
    "lock": frozenset({"lock", "door", "deadbolt"}),
}
# Words that imply a kind, and are a reason to act by themselves ("it's dark in the hall").
HINT_WORDS: dict[str, frozenset[str]] = {
    "light": frozenset({"dark", "darker", "dim", "dimmer", "gloomy", "bright", "brighter", "brighten",
                        "lit", "pitch", "blinding", "glare", "see"}),
    "cover": frozenset({"open", "close", "shut", "raise", "lower", "sun", "sunny", "glare", "blinding",
                        "air", "draw"}),
    "climate": frozenset({"cold", "colder", "chilly", "freezing", "frozen", "warm", "warmer", "hot",
                          "hotter", "heat", "roasting", "boiling", "baking", "cool", "cooler",
                          "shivering", "temperature", "degree"}),
    "fan": frozenset({"hot", "hotter", "roasting", "boiling", "baking", "stuffy", "air", "breeze",
                      "muggy", "sweating", "stifling", "cool", "cooler"}),
    "lock": frozenset({"lock", "unlock", "bolt", "secure"}),
}  # fmt: skip
_HINT_VERBS = frozenset(
    {"open", "close", "shut", "raise", "lower", "draw", "lock", "unlock", "bolt", "secure", "dim", "brighten"}
)
_SAFE_VERBS = frozenset({"lock", "bolt", "secure"})
_NAMED_KINDS = frozenset({"door", "window"})  # kind words that fit a device only if its name says them
# Discomforts: a reason to act by themselves ("I'm cold", "it's pitch dark in the hall").
_DISCOMFORT = frozenset({
    "dark", "darker", "gloomy", "blinding", "glare", "cold", "colder", "chilly", "freezing",
    "frozen", "hot", "hotter", "roasting", "boiling", "baking", "shivering", "stuffy", "muggy", "sweating",
    "stifling", "brighter", "dimmer", "warmer", "cooler",
})  # fmt: skip
# …when they end the sentence or are followed by one of these ("I'm cold", "freezing in here"), not
# when they describe a thing ("hot lights waste energy") or a person ("cold towards me").
_AFTER_DISCOMFORT = frozenset({"in", "here", "out", "up", "down", "now", "today", "tonight", "and", "so",
                               "me", "again", "already", "at", "inside"})  # fmt: skip
# An utterance that starts with one of these (after "please", "now"…) is a command.
_VERBS = frozenset({
    "turn", "switch", "put", "set", "make", "dim", "brighten", "open", "close", "shut", "lock", "unlock",
    "raise", "lower", "start", "stop", "give", "crank", "bump", "boost", "drop", "cut", "bring",
    "get", "pull", "draw", "kill", "warm", "heat", "cool", "halt", "pause", "secure",
    "increase", "decrease", "reduce", "bolt",
})  # fmt: skip
# After "can you…", only these say the request is for a device action ("can you get me a recipe" isn't).
_ACT_VERBS = _VERBS - {"give", "get", "bring", "pull", "cut", "put", "make", "draw"}
_LEAD_FILLER = frozenset({"please", "now", "then", "quick", "quickly", "go", "and", "jarvis", "hey", "ok"})
_REQUEST = re.compile(
    r"\b(?:can|could|would|will) (?:you|we|u)\b|\bplease\b|\bi (?:want|need|would like|'d like)\b"
    r"|\bi'd like\b|\blet'?s\b|\blet us\b|\bhow about\b|\bmind (?:turning|opening|closing|switching)\b"
)
_QUESTION = frozenset({"what", "who", "why", "when", "where", "which", "how", "tell", "explain",
                       "describe", "is", "are", "was", "were", "do", "does", "did", "has", "have", "should",
                       "define", "whose"})  # fmt: skip
_NEGATION = re.compile(
    r"\b(?:not|never|no need to|no|stop asking to|nobody)\b(?: \w+){0,3} "
    r"(?:turn|switch|open|close|shut|lock|unlock|dim|set|start|stop|touch|change|put|make|raise|lower)\b"
)
_PAST = re.compile(
    r"\b(?:yesterday|ago|earlier|used to|last (?:night|week|time|year|month)|this morning|"
    r"turned|switched|opened|closed|locked|unlocked|dimmed|was|were|had)\b"
)
_STATE = re.compile(
    r"\b(?:is|are|be) (?:\w+ )?(?:open|closed|on|off|locked|unlocked|shut|broken|new|loud|set)\b"
)
_TOO = re.compile(
    r"\btoo (?!much\b|many\b|late\b|early\b|long\b)\w+|\btoo much (?:sun|light|heat|glare)\b"
    r"|\b(?:so|very|really|bit|freaking|quite) (?:dark|cold|hot|warm|bright|dim|stuffy|chilly|gloomy|cool|"
    r"muggy|sunny)\b|\bcan not see\b|\b(?:more|less|some) (?:light|air|heat)\b|\b(?:to|at) \d+\b"
    r"|\bpitch (?:black|dark)\b"
)
_TOGGLE = frozenset({"on", "off"})
# What comes before a complaint: "it is cold", "I am freezing", "getting a bit stuffy".
_FRAME = frozenset({"is", "am", "are", "getting", "feel", "feels", "so", "very", "really", "bit", "quite",
                    "rather", "pretty", "way", "freaking", "bloody", "too", "still"})  # fmt: skip
_STOP = frozenset({"the", "a", "an", "of", "in", "on", "at", "and", "my", "our", "to", "for", "by", "with"})
# Name words too common to name one device by themselves.
_WEAK = frozenset({"room", "main", "big", "small", "little", "new", "old", "left", "right", "front", "back",
                   "top", "bottom", "upper", "lower", "middle", "one", "two", "ceiling", "wall", "floor",
                   "table", "desk", "side", "corner", "light", "all"})  # fmt: skip
_GROUP_WORDS = frozenset({"all", "every", "everything", "everywhere", "whole", "house", "both"})
Floors = Mapping[str, Iterable[str]]  # "upstairs" → its areas (the mqtt.floors setting)
_PLURAL = {"light": "lights", "cover": "blinds", "fan": "fans", "switch": "plugs", "climate": "thermostats",
           "lock": "locks"}  # fmt: skip
_LABEL_CHARS = re.compile(r"[^a-z0-9 ]+")


@dataclass(frozen=True, slots=True)
class Pick:
    """What the model chose: one action (and its value) on a device, or on a group of devices.

    `device_id` is the (first) device; `more` holds the rest for an area or house-wide pick ("all the
    lights"), so `device_ids` is what to act on.
    """

    device_id: str
    action: str  # turn_on, turn_off, brightness, open, close, stop, position, lock, unlock, temperature,…
    value: str | None = None  # "0".."100" (brightness, position, percentage), "5".."35", a mode
    more: tuple[str, ...] = ()

    @property
    def device_ids(self) -> tuple[str, ...]:
        return (self.device_id, *self.more)


@dataclass(frozen=True, slots=True)
class Act:
    """One action an option allows: the words the model writes, and what they mean."""

    words: str  # "turn on", "brightness", "mode heat"
    action: str
    kind: str | None = None  # None (no value), "pct", "temp", or "fixed" (value below)
    value: str | None = None


@dataclass(frozen=True, slots=True)
class Option:
    """A device (or a group of devices of one kind) the model may choose, with its actions."""

    label: str  # sanitised words, unique among the options: "hall light", "all kitchen lights"
    device_ids: tuple[str, ...]
    component: str
    acts: tuple[Act, ...]


@dataclass(slots=True)
class Decision:
    """A pick, or why there is none; `model_text` and `model_ms` when the model ran."""

    pick: Pick | None
    reason: str  # picked | no_request | no_device | model_none | unparsed | refused
    model_text: str | None = None
    model_ms: float = 0.0
    options: list[Option] = field(default_factory=list)


# -- what the utterance says ---------------------------------------------------------------------
def _words(text: str) -> list[str]:
    return normalise(text).split()


def wants_action(utterance: str) -> bool:
    """Does the utterance ask for something to change? Cheap and conservative (no model).

    Yes: an imperative ("kill the lights"), a request for an action ("can you dim…", "I need some
    light"), a complaint ("too dark", "I'm cold"), a bare toggle ("hall light off"). No, whatever else
    it holds: a question ("what is a light year"), a negation ("don't turn on…"), a story ("I
    turned…", "yesterday"), a statement of a state ("the garage door is open") or of a liking ("I
    like it dark"), a request for something else ("can you tell me what a thermostat is").
    """
    raw = " ".join(utterance.lower().replace("’", "'").split())
    words = _words(utterance)
    body = list(words)
    while body and body[0] in _LEAD_FILLER:
        body = body[1:]
    if not body:
        return False
    n = " ".join(words)
    found = _REQUEST.search(raw)
    request = found is not None and _acting(_words(raw[found.end() :]))
    if body[0] in _QUESTION and not request and not raw.startswith("how about"):
        return False
    if _NEGATION.search(n) or (_PAST.search(n) and not request):
        return False
    imperative = body[0] in _VERBS
    if _STATE.search(n) and not (imperative or request):
        return False
    toggle = len(body) <= 6 and bool(_TOGGLE.intersection(body[:4]))
    return imperative or request or toggle or _complaint(body)


def _complaint(words: Sequence[str]) -> bool:
    """ "too dark", "I'm cold", "freezing in here": a discomfort said of the speaker or the place, not
    of a thing ("hot lights waste energy") or a person ("cold towards me")."""
    if _TOO.search(" ".join(words)):
        return True
    for i, word in enumerate(words):
        if word not in _DISCOMFORT or (i + 1 < len(words) and words[i + 1] not in _AFTER_DISCOMFORT):
            continue
        if i == 0 or words[i - 1] in _FRAME or (i > 1 and words[i - 2] in _FRAME):
            return True
    return False


def _acting(words: Sequence[str]) -> bool:
    """Do the words after "can you…" ask for an action ("…dim the office"), not something else
    ("…tell me what a thermostat is")?"""
    return bool(_ACT_VERBS.intersection(words) or _TOGGLE.intersection(words)) or _complaint(words)


def _area_words(area: str) -> list[str]:
    words = [w for w in normalise(area).split() if w not in _STOP]
    return [w for w in words if w != "room"] or words


def _word_hit(word: str, words: Sequence[str]) -> bool:
    if word in words:
        return True
    if len(word) < 5:
        return False
    return any(len(w) >= 4 and fuzz.ratio(word, w) >= 85 for w in words)


def _phrase_hit(phrase: str, words: Sequence[str]) -> bool:
    """The phrase said in a row, word for word or by its sound ("mad room" for "bedroom")."""
    parts = phrase.split()
    if not parts:
        return False
    joined = " ".join(words)
    if re.search(rf"\b{re.escape(phrase)}\b", joined):
        return True
    key = phonetic_key(phrase)
    if len(key) < 4:
        return False
    for size in {max(1, len(parts) - 1), len(parts), len(parts) + 1}:
        for i in range(len(words) - size + 1):
            if phonetic_key(" ".join(words[i : i + size])) == key:
                return True
    return False


def _areas_named(areas: Iterable[str], words: Sequence[str]) -> frozenset[str]:
    """The areas said word for word; failing that, those said nearly or by their sound ("mad room")."""
    exact = frozenset(a for a in areas if (sig := _area_words(a)) and all(w in words for w in sig))
    if exact:
        return exact
    return frozenset(
        a
        for a in areas
        if (sig := _area_words(a))
        and (all(_word_hit(w, words) for w in sig) or _phrase_hit(" ".join(sig), words))
    )


@dataclass(frozen=True, slots=True)
class _Heard:
    words: tuple[str, ...]
    areas: frozenset[str]  # the house's areas (normalised) the utterance names, floors as their areas
    place: str  # what the utterance calls them ("kitchen", "upstairs"), for a group's label
    kinds: frozenset[str]  # components named by a kind word ("blind")
    hints: frozenset[str]  # components implied ("dark" → light)
    area_words: frozenset[str]  # every word of every area of the house


def _hear(utterance: str, devices: Sequence[Device], floors: Floors | None) -> _Heard:
    words = tuple(_words(utterance))
    house_areas = {normalise(d.area) for d in devices if d.area}
    areas = _areas_named(house_areas, words)
    place = " ".join(sorted(areas))
    for floor, members in (floors or {}).items():
        if not areas and all(w in words for w in normalise(floor).split()):
            areas, place = frozenset(normalise(a) for a in members), normalise(floor)
    kinds = frozenset(c for c, ws in KIND_WORDS.items() if ws.intersection(words))
    # A verb alone names no device ("open your mind"): only with the area said ("open up the bedroom"),
    # or for locking, the safe way ("lock up for the night").
    said = set(words) - (_HINT_VERBS if not areas else frozenset()) | (_SAFE_VERBS & set(words))
    hints = frozenset(c for c, ws in HINT_WORDS.items() if ws.intersection(said))
    area_words = frozenset(w for a in house_areas for w in a.split())
    return _Heard(words, areas, place, kinds, hints, area_words)


def _name_hit(device: Device, heard: _Heard) -> bool:
    """The device is named as itself: its whole name, or a word of it that only a name has ("sofa"),
    not qualified by a word the name lacks ("washing machine" is not the "coffee machine")."""
    common = _STOP | _WEAK | heard.area_words | KIND_WORDS.get(device.component, frozenset())
    words = heard.words
    for name in device.names:
        norm = " ".join(_LABEL_CHARS.sub(" ", normalise(name)).split())
        own = norm.split()
        if len(own) > 1 and _phrase_hit(norm, words):
            return True
        for word in (w for w in own if w not in common and len(w) > 2):
            for i, said in enumerate(words):
                if not _word_hit(word, (said,)):
                    continue
                before = words[i - 1] if i else ""
                if not before or before in own or before in _STOP | _VERBS | heard.area_words | _LEAD_FILLER:
                    return True
    return False


def _in_area(device: Device, heard: _Heard) -> bool:
    """In the area named, or nowhere in particular (a house's one thermostat)."""
    if not heard.areas or not device.area:
        return True
    if normalise(device.area) in heard.areas:
        return True
    name = normalise(device.name)
    return any(all(w in name.split() for w in _area_words(a)) for a in heard.areas)


def _kind_hit(device: Device, heard: _Heard) -> bool:
    """A kind word said for this device; "door" and "window" only for one that is called so (the
    garage door, not the blinds)."""
    said = KIND_WORDS.get(device.component, frozenset()).intersection(heard.words)
    own = set(normalise(" ".join((*device.names, device.device_class or ""))).split())
    return any(w not in _NAMED_KINDS or w in own for w in said)


def _evidence(device: Device, heard: _Heard) -> int:
    """0: not named; higher: named more precisely (by name, then kind word, then a hint)."""
    if not _acts(device):
        return 0
    by_name = _name_hit(device, heard)
    if not _in_area(device, heard):
        return 0
    if by_name:
        return 3
    if device.component in heard.kinds and _kind_hit(device, heard):
        return 2
    if device.component in heard.hints:
        return 1
    return 0


def relevant(
    utterance: str, devices: Iterable[Device], room: str | None = None, floors: Floors | None = None
) -> list[Device]:
    """The devices the utterance names (by name, by kind or a kind's hint, within the area or floor it
    names, else the `room` it was said in), most precisely named first, at most MAX_DEVICES; empty:
    do not ask the model at all."""
    pool = list(devices)
    heard = _hear(utterance, pool, floors)
    scored = [(e, i, d) for i, d in enumerate(pool) if (e := _evidence(d, heard)) > 0]
    if any(e == 3 for e, _, _ in scored):  # named by its own name: the rest are noise ("the sofa light")
        scored = [s for s in scored if s[0] == 3]
    # The area said (else the room it was said in) narrows a kind to the devices there, if it has
    # any ("too dark in here": this room's lights); else the kind's devices of no area may serve.
    here = heard.areas or (frozenset({normalise(room)}) if room else frozenset())
    if here:
        local = {d.component for e, _, d in scored if e < 3 and d.area and normalise(d.area) in here}
        scored = [
            s
            for s in scored
            if s[0] == 3
            or (s[2].area and normalise(s[2].area) in here)
            or (s[2].component not in local and (not heard.areas or not s[2].area))
        ]
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [d for _, _, d in scored[:MAX_DEVICES]]


# -- the closed set ----------------------------------------------------------------------------
def _acts(device: Device) -> tuple[Act, ...]:
    caps = device.capabilities
    acts: list[Act] = []
    if "onoff" in caps:
        acts += [Act("turn on", "turn_on"), Act("turn off", "turn_off")]
    if "brightness" in caps:
        acts.append(Act("brightness", "brightness", "pct"))
    if "open_close" in caps:
        acts += [Act("open", "open"), Act("close", "close"), Act("stop", "stop")]
    if "position" in caps:
        acts.append(Act("position", "position", "pct"))
    if "lock" in caps:
        acts += [Act("lock", "lock"), Act("unlock", "unlock")]
    if "mode" in caps and device.component == "climate":
        if "heat" in device.modes or "auto" in device.modes:
            acts.append(Act("turn on", "turn_on"))
        if "off" in device.modes:
            acts.append(Act("turn off", "turn_off"))
        for mode in device.modes:
            words = _LABEL_CHARS.sub("", mode.lower().replace("_", " ")).strip()
            if words and words != "off":
                acts.append(Act(f"mode {words}", "mode", "fixed", mode))
    if "temperature" in caps:
        acts.append(Act("temperature", "temperature", "temp"))
    if "percentage" in caps:
        acts.append(Act("speed", "percentage", "pct"))
    return tuple(acts)


# Which way each word asks a kind of device to go: +1 more (on, open, brighter, warmer), -1 less;
# "*" is every kind. A kind asked both ways is not steered.
_UP_DOWN = ("light", "climate", "fan", "cover")
_STEER_GROUPS: tuple[tuple[tuple[str, ...], dict[str, int]], ...] = (
    (("on", "start"), {"*": 1}), (("off",), {"*": -1}), (("out",), {"light": -1}),
    (("up", "more", "some"), dict.fromkeys(_UP_DOWN, 1)), (("down", "less"), dict.fromkeys(_UP_DOWN, -1)),
    (("open",), {"cover": 1, "lock": 1}), (("raise",), {"cover": 1}),
    (("close", "shut"), {"cover": -1, "lock": -1}), (("lower", "draw"), {"cover": -1}),
    (("lock", "secure", "bolt"), {"lock": -1}), (("unlock",), {"lock": 1}),
    (("dim", "dimmer"), {"light": -1}), (("brighten", "brighter"), {"light": 1}),
    (("dark", "darker", "gloomy", "black", "see"), {"light": 1, "cover": 1}),
    (("bright", "blinding", "glare", "sun", "sunny"), {"light": -1, "cover": -1}),
    (("cold", "colder", "chilly", "freezing", "frozen", "shivering", "warm", "warmer"),
     {"climate": 1, "fan": -1}),
    (("hot", "hotter", "roasting", "boiling", "baking", "stuffy", "muggy", "sweating", "stifling", "cool",
      "cooler"), {"climate": -1, "fan": 1, "cover": 1}),
    (("air", "breeze"), {"fan": 1, "cover": 1}),
)  # fmt: skip
_STEER = {word: table for words, table in _STEER_GROUPS for word in words}
_NUMBER_WORDS = {"half": 50.0, "full": 100.0, "max": 100.0, "maximum": 100.0, "quarter": 25.0}
_STOP_WORDS = frozenset({"stop", "halt", "pause"})
DIM_LEVEL = "30"  # "dim": the brightness offered when no number was said


def _steer(words: Sequence[str], component: str) -> int:
    """+1 or -1 when the words ask this kind of device one way only; 0 when they don't say."""
    signs = set()
    for i, word in enumerate(words):
        if word == "warm" and i and words[i - 1] in _FRAME:
            word = "hot"  # "too warm", "it is warm": a complaint, unlike "warm up the bedroom"
        table = _STEER.get(word) or {}
        if (sign := table.get(component, table.get("*"))) is not None:
            signs.add(sign)
    return signs.pop() if len(signs) == 1 else 0


def _numbers(words: Sequence[str]) -> list[float]:
    found = [_NUMBER_WORDS[w] for w in words if w in _NUMBER_WORDS]
    for w in words:
        try:
            found.append(float(w))
        except ValueError:
            continue
    return list(dict.fromkeys(found))


def _direction(act: Act) -> int:
    if act.action in ("turn_on", "open", "unlock"):
        return 1
    if act.action in ("turn_off", "close", "lock"):
        return -1
    if act.action == "mode":
        return {"heat": 1, "cool": -1}.get(act.value or "", 0)
    if act.kind == "fixed" and act.action in ("brightness", "position", "percentage"):
        return 1 if float(act.value or 0) >= 50 else -1
    return 0


def _offered(device: Device, words: Sequence[str], *, free_values: bool, steer: bool) -> tuple[Act, ...]:
    """The acts offered for this utterance. Unless `free_values`, a value is one the utterance said
    ("twenty percent", "half") or "dim", never a number the model makes up; and unless not `steer`,
    only the acts that go the way the words ask ("too dark": on, not off; "lights off": off, not
    dim). Neither `stop` nor a mode that goes neither way is offered unless said."""
    numbers = _numbers(words)
    acts: list[Act] = []
    for act in _acts(device):
        if free_values or act.kind not in ("pct", "temp"):
            acts.append(act)
            continue
        low, high = (0, 100) if act.kind == "pct" else (5, 35)
        for n in numbers:
            if low <= n <= high:
                acts.append(Act(f"{act.words} {n:g}", act.action, "fixed", f"{n:g}"))
        if not numbers and act.action == "brightness":
            acts.append(Act("dim", "brightness", "fixed", DIM_LEVEL))
    if not steer:
        return tuple(acts)
    way = _steer(words, device.component)
    toggled = bool(_TOGGLE.intersection(words)) and not numbers  # "lights off": off, not dimmed
    kept = []
    for act in acts:
        direction = _direction(act)
        if toggled and act.kind is not None:
            keep = False
        elif act.action == "stop":
            keep = bool(_STOP_WORDS.intersection(words))
        elif direction == 0 and act.kind == "fixed" and act.action == "mode":
            keep = (act.value or "").replace("_", " ") in " ".join(words)
        else:
            keep = way == 0 or direction in (0, way)
        if keep:
            kept.append(act)
    return tuple(kept)


def _label(device: Device) -> str:
    name = " ".join(_LABEL_CHARS.sub(" ", normalise(device.name)).split())[:40].strip()
    area = " ".join(_LABEL_CHARS.sub(" ", normalise(device.area or "")).split())[:30].strip()
    if area and not set(area.split()) <= set(name.split()):
        name = f"{area} {name}".strip()
    return name or device.component


def options(
    utterance: str,
    devices: Iterable[Device],
    room: str | None = None,
    floors: Floors | None = None,
    *,
    free_values: bool = False,
    steer: bool = True,
) -> list[Option]:
    """The closed set for this utterance: the relevant devices with the acts offered (`_offered`).
    When it speaks of all of a kind ("all the lights", "the lights downstairs"), those devices are one
    option ("all downstairs lights") instead of one each."""
    pool = list(devices)
    found = relevant(utterance, pool, room, floors)
    heard = _hear(utterance, pool, floors)
    words = heard.words
    offered = {d.id: _offered(d, words, free_values=free_values, steer=steer) for d in found}
    opts: list[Option] = []
    used = {"none"}
    raw = set(re.findall(r"[a-z]+", utterance.lower()))
    grouped: set[str] = set()
    for component, plural in _PLURAL.items():
        members = [d for d in found if d.component == component]
        wants_group = plural in raw or bool(_GROUP_WORDS & raw)
        if len(members) < 2 or not wants_group or component not in heard.kinds | heard.hints:
            continue
        common = [a for a in offered[members[0].id] if all(a in offered[d.id] for d in members[1:])]
        label = " ".join(f"all {heard.place} {plural}".split())
        if common and label not in used:
            used.add(label)
            grouped.update(d.id for d in members)
            opts.append(Option(label, tuple(d.id for d in members), component, tuple(common)))
    for device in found:
        if device.id in grouped or not offered[device.id]:
            continue
        label = base = _label(device)
        n = 2
        while label in used:
            label, n = f"{base} {n}", n + 1
        used.add(label)
        opts.append(Option(label, (device.id,), device.component, offered[device.id]))
    return opts


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_grammar(opts: Sequence[Option]) -> str:
    """GBNF: exactly `none`, or `<label>: <action>[ <value>]` for one of `opts`."""
    lines = [" | ".join(['root ::= "none"', *(f"o{i}" for i in range(len(opts)))])]
    needs: set[str] = set()
    for i, opt in enumerate(opts):
        alts = []
        for act in opt.acts:
            if act.kind in ("pct", "temp"):
                alts.append(f"{_literal(act.words + ' ')} {act.kind}")
                needs.add(act.kind)
            else:
                alts.append(_literal(act.words))
        lines.append(f"o{i} ::= {_literal(opt.label + ': ')} ({' | '.join(alts)})")
    if "pct" in needs:
        lines.append('pct ::= "100" | [1-9] [0-9] | [0-9]')
    if "temp" in needs:
        lines.append('temp ::= [5-9] | [1-2] [0-9] | "3" [0-5]')
    return "\n".join(lines) + "\n"


def _describe(opt: Option) -> str:
    acts = []
    for act in opt.acts:
        if act.kind == "pct":
            acts.append(f"{act.words} 0-100")
        elif act.kind == "temp":
            acts.append(f"{act.words} 5-35")
        else:
            acts.append(act.words)
    return f"{opt.label}: {' | '.join(dict.fromkeys(acts))}"


SYSTEM = (
    "You control the devices of a house. Read what the person said and answer with one option: "
    "the device, a colon, and one of its actions (with a number where the action has a range). "
    "Answer none when the person does not ask for a change."
)
# (options, said, answer): the first DEFAULT_SHOTS are used unless told otherwise.
SHOTS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("study light: turn on", "study blind: open"), "it is pitch black in the study", "study light: turn on"),
    (("nursery thermostat: turn on | mode heat",), "the nursery is freezing",
     "nursery thermostat: mode heat"),
    (("porch light: turn on | turn off | dim",), "I love the porch light", "none"),
    (("all upstairs lights: turn off",), "lights out upstairs", "all upstairs lights: turn off"),
    (("den curtain: close", "den light: turn off | dim"), "the sun is blinding me in the den",
     "den curtain: close"),
    (("attic fan: turn on", "thermostat: turn off"), "it is boiling up in the attic", "attic fan: turn on"),
    (("garage door: open | close",), "what is a garage door made of", "none"),
)  # fmt: skip


def prompt(
    utterance: str, opts: Sequence[Option], *, shots: int = DEFAULT_SHOTS, style: str = "chat"
) -> list[ChatMessage]:
    """The messages for the model: the options listed, `shots` worked examples, then the utterance.

    style "chat": each example is a user message and the assistant's answer; "inline": the examples
    are written into the system message. The utterance is quoted as data.
    """
    said = " ".join(utterance.split())[:300].replace('"', "'")

    def ask(lines: Iterable[str], text: str) -> str:
        return "Options:\n" + "\n".join(lines) + "\nnone\n" + f'Said: "{text}"'

    examples = SHOTS[: max(0, shots)]
    if style == "inline":
        worked = "\n\n".join(f"{ask(o, s)}\nAnswer: {a}" for o, s, a in examples)
        system = f"{SYSTEM}\n\nExamples:\n\n{worked}" if examples else SYSTEM
        return [ChatMessage("system", system), ChatMessage("user", ask(map(_describe, opts), said))]
    messages = [ChatMessage("system", SYSTEM)]
    for o, s, a in examples:
        messages += [ChatMessage("user", ask(o, s)), ChatMessage("assistant", a)]
    messages.append(ChatMessage("user", ask(map(_describe, opts), said)))
    return messages


def parse(text: str, opts: Sequence[Option]) -> Pick | None:
    """The model's answer as a Pick; None for "none" or anything that is not exactly an option."""
    answer = text.strip()
    if answer == "none" or ": " not in answer:
        return None
    for opt in opts:
        prefix = f"{opt.label}: "
        if not answer.startswith(prefix):
            continue
        said = answer[len(prefix) :]
        for act in opt.acts:
            ok, value = _value(act, said)
            if ok:
                return Pick(opt.device_ids[0], act.action, value, opt.device_ids[1:])
    return None


def _value(act: Act, said: str) -> tuple[bool, str | None]:
    """(is `said` this act, its value: None when the act takes none)."""
    if act.kind is None or act.kind == "fixed":
        return said == act.words, act.value
    m = re.fullmatch(rf"{re.escape(act.words)} (\d{{1,3}})", said)
    if m is None:
        return False, None
    number = int(m[1])
    low, high = (0, 100) if act.kind == "pct" else (5, 35)
    return low <= number <= high, str(number)


def check(
    pick: Pick,
    utterance: str,
    devices: Sequence[Device],
    room: str | None = None,
    floors: Floors | None = None,
) -> bool:
    """The code's own word on a pick: every device it acts on is named by the utterance (by name, or
    by kind or hint within the named area) and allows the action with that value."""
    named = {d.id: d for d in relevant(utterance, devices, room, floors)}
    for device_id in pick.device_ids:
        device = named.get(device_id)
        if device is None:
            return False
        if not any(_allows(a, pick) for a in _acts(device)):
            return False
    return True


def _allows(act: Act, pick: Pick) -> bool:
    if act.action != pick.action:
        return False
    if act.kind is None or act.kind == "fixed":
        return pick.value == act.value
    return pick.value is not None and _value(act, f"{act.words} {pick.value}") == (True, pick.value)


class FreePhrasing:
    """Picks one known device action for a free phrasing, or None. Blocking: run it in a worker thread.

    `chat` is anything with `complete_constrained` (`LlamaChat`). `guards=False` skips the code's
    request gate and re-check (the model alone, for the benchmark; never in the assistant).
    """

    def __init__(
        self,
        chat: ConstrainedChat,
        *,
        shots: int = DEFAULT_SHOTS,
        style: str = "chat",
        max_tokens: int = MAX_TOKENS,
        guards: bool = True,
        floors: Floors | None = None,
        free_values: bool = False,
        steer: bool = True,
    ) -> None:
        self.floors = floors
        self.free_values = free_values
        self.steer = steer
        self.chat = chat
        self.shots = shots
        self.style = style
        self.max_tokens = max_tokens
        self.guards = guards

    def pick(self, utterance: str, devices: Sequence[Device], room: str | None = None) -> Pick | None:
        """The one action to take, or None (also for "none"); blocking."""
        return self.decide(utterance, devices, room).pick

    def decide(self, utterance: str, devices: Sequence[Device], room: str | None = None) -> Decision:
        """The pick with its reason (for the route record and the benchmark)."""
        if self.guards and not wants_action(utterance):
            return Decision(None, "no_request")
        opts = options(utterance, devices, room, self.floors, free_values=self.free_values, steer=self.steer)
        if not opts:
            return Decision(None, "no_device")
        start = time.perf_counter()
        text = self.chat.complete_constrained(
            prompt(utterance, opts, shots=self.shots, style=self.style),
            build_grammar(opts),
            max_tokens=self.max_tokens,
        )
        ms = (time.perf_counter() - start) * 1000
        decision = Decision(None, "model_none", text, ms, opts)
        if text.strip() == "none":
            return decision
        pick = parse(text, opts)
        if pick is None:
            decision.reason = "unparsed"
            _LOGGER.warning("free phrasing: the model's answer %r is no option", text[:80])
        elif self.guards and not check(pick, utterance, devices, room, self.floors):
            decision.reason = "refused"
            _LOGGER.warning("free phrasing: refused %s on %s (not named)", pick.action, pick.device_ids)
        else:
            decision.pick, decision.reason = pick, "picked"
        return decision


def targets(pick: Pick, devices: Iterable[Device]) -> list[Device]:
    """The devices a pick acts on, in order; those gone from the house are left out."""
    by_id = {d.id: d for d in devices}
    return [by_id[i] for i in pick.device_ids if i in by_id]
