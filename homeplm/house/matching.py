"""Tolerant device-name matching: rapidfuzz for spelling and word order, a phonetic key for what
speech recognition mishears ("mad room light" → "bedroom light"), area words to narrow it down.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rapidfuzz import fuzz

from homeplm.brain.intents.normalise import normalise
from homeplm.house.device_discovery import Device

THRESHOLD = 0.72  # below this a name is not the device asked for
AMBIGUITY_MARGIN = 0.04  # two devices this close to each other: ask which
AREA_THRESHOLD = 0.8

# Words that name a kind of device rather than one device ("the light in the kitchen").
TYPE_WORDS: dict[str, frozenset[str]] = {
    "light": frozenset({"light"}), "fan": frozenset({"fan"}), "alarm": frozenset({"alarm_control_panel"}),
    "window": frozenset({"cover", "binary_sensor"}), "temperature": frozenset({"sensor", "climate"}),
    **dict.fromkeys(("blind", "curtain", "shade", "shutter", "cover", "awning"), frozenset({"cover"})),
    **dict.fromkeys(
        ("thermostat", "heating", "heater", "climate", "ac", "heat", "radiator"), frozenset({"climate"})
    ),
    **dict.fromkeys(("switch", "plug", "socket", "outlet"), frozenset({"switch", "light"})),
    "lock": frozenset({"lock"}), "door": frozenset({"lock", "cover", "binary_sensor"}),
    "sensor": frozenset({"sensor", "binary_sensor"}),
}  # fmt: skip
# Stripped from a name's start: articles, and what a recogniser leaves of a lost verb ("or the
# living room blinds to 20%" for "lower the …").
_ARTICLES = frozenset(
    {"the", "my", "our", "a", "all", "every", "both", "everything", "or", "and", "so", "but"}
)

_DIGRAPHS = (("ph", "f"), ("gh", ""), ("ck", "k"), ("sh", "x"), ("ch", "x"), ("th", "t"), ("qu", "kw"))
_SOFT = re.compile(r"c(?=[eiy])")
_SOFT_G = re.compile(r"g(?=[eiy])")
_CLASSES = str.maketrans(
    {**dict.fromkeys("bpm", "P"), **dict.fromkeys("fv", "F"), **dict.fromkeys("dt", "T"),
     **dict.fromkeys("kqcg", "K"), **dict.fromkeys("szx", "S"), "j": "J", "l": "L", "r": "R", "n": "N",
     **dict.fromkeys("aeiouwhy", "")}
)  # fmt: skip


def phonetic_key(text: str) -> str:
    """A consonant skeleton by place of articulation, word breaks ignored: "bedroom" = "mad room"."""
    word = re.sub(r"[^a-z]", "", text.lower())
    if word.startswith(("kn", "wr")):
        word = word[1:]
    for pair, sound in _DIGRAPHS:
        word = word.replace(pair, sound)
    word = _SOFT_G.sub("j", _SOFT.sub("s", word)).translate(_CLASSES)
    return re.sub(r"(.)\1+", r"\1", word)


def name_score(query: str, name: str) -> float:
    """0…1: how well the heard `query` names `name` (both normalised)."""
    if not query or not name:
        return 0.0
    if query == name:
        return 1.0
    q_words, n_words = query.split(), name.split()
    q_rest = [w for w in q_words if w not in TYPE_WORDS]
    n_rest = [w for w in n_words if w not in TYPE_WORDS]
    if q_rest and n_rest and len(q_rest) < len(q_words) and set(q_words) & set(n_words) & set(TYPE_WORDS):
        # The same kind ("light"): what tells them apart is the rest ("wildcard" is not "garden").
        return min(_score(" ".join(q_rest), " ".join(n_rest)), _score(query, name))
    return _score(query, name)


def _score(query: str, name: str) -> float:
    if query == name:
        return 1.0
    # Extra words are allowed ("the kitchen ceiling light" for "Kitchen Light"), but not a sentence
    # around a name ("i love the new kitchen light"): that is talk about it, not its name.
    extra = len(set(query.split()) - set(name.split()))
    subset = 0.9 * fuzz.token_set_ratio(query, name) if extra <= 1 else 0.0
    lexical = max(fuzz.token_sort_ratio(query, name), subset) / 100
    q_key, n_key = phonetic_key(query), phonetic_key(name)
    phonetic = fuzz.ratio(q_key, n_key) / 100 * (0.95 if min(len(q_key), len(n_key)) >= 3 else 0.75)
    return max(lexical, phonetic)


def area_score(area: str, device: Device) -> float:
    words = set(area.split())
    if any(words <= set(normalise(n).split()) for n in device.names):
        return 1.0
    if not device.area:
        return 0.0
    own = normalise(device.area)
    return max(fuzz.ratio(area, own) / 100, fuzz.ratio(phonetic_key(area), phonetic_key(own)) / 100 * 0.9)


@dataclass(frozen=True, slots=True)
class Found:
    """The devices a spoken name or area matched, and how well."""

    devices: tuple[Device, ...]  # one device, or every device of a kind in an area ("the lights in…")
    score: float
    ambiguous: tuple[Device, ...] = ()  # when set: ask which of these was meant


def clean_query(query: str) -> str:
    words = query.split()
    while words and words[0] in _ARTICLES:
        words = words[1:]
    return " ".join(words)


_OUTSIDE = frozenset({"outside", "outdoor", "outdoors", "exterior", "garden", "patio"})


def in_area(area: str, device: Device, floors: Mapping[str, Iterable[str]] | None = None) -> bool:
    """Whether `device` is in `area` ("kitchen"), or on the floor `area` names ("upstairs")."""
    if area in ("outside", "outdoors") and not (floors and area in floors):
        words = set(normalise(f"{device.name} {device.area or ''}").split())
        return bool(words & _OUTSIDE)
    if floors and area in floors:
        return any(area_score(clean_query(normalise(a)), device) >= AREA_THRESHOLD for a in floors[area])
    return area_score(area, device) >= AREA_THRESHOLD


def kind_of(words: Iterable[str]) -> frozenset[str] | None:
    """The components that kind words name ("light", "blind"…), or None when a word is not one."""
    kinds = [TYPE_WORDS.get(w) for w in words]
    if not kinds or not all(kinds):
        return None
    return frozenset.intersection(*(k for k in kinds if k))


def areas(devices: Iterable[Device], floors: Mapping[str, Iterable[str]] | None = None) -> set[str]:
    """Every area the house's devices name, normalised, and the configured floors."""
    found = {clean_query(normalise(d.area)) for d in devices if d.area}
    return {a for a in found if a} | set(floors or ())


def resolve(
    devices: Iterable[Device],
    query: str,
    area: str | None = None,
    components: Iterable[str] | None = None,
    *,
    every: bool = False,
    floors: Mapping[str, Iterable[str]] | None = None,
) -> Found | None:
    """The device(s) people mean by `query` ("the office light", "lights", "ceiling 2") in `area`.

    An exact name or alias wins; then kind words with an area ("the office light" = the lights in
    the office: all of them, as Home Assistant does); then the tolerant match of `find`. `every`
    (plural, "all"): every device of that kind, or every close name, rather than asking which."""
    wanted = frozenset(components) if components is not None else None
    pool = [d for d in devices if wanted is None or d.component in wanted]
    query = clean_query(normalise(query))
    if area:
        area = clean_query(normalise(area))
        pool = [d for d in pool if in_area(area, d, floors)]
    if not pool:
        return None
    if not query:
        return Found(tuple(pool), 0.9) if area or every else None
    words = query.split()
    if every and not area:  # "the living room lights": every light there, even if one is "Living Room Lamp"
        for cut in range(len(words) - 1, 0, -1):
            place = " ".join(words[:cut])
            if kind_of(words[cut:]) is not None and place in areas(pool, floors):
                return _of_kind([d for d in pool if in_area(place, d, floors)], words[cut:], True)
    exact = [d for d in pool if any(normalise(n) == query for n in d.names)]
    if exact:
        if every or len(exact) == 1:
            return Found(tuple(exact), 1.0)
        return Found((exact[0],), 1.0, ambiguous=tuple(exact))  # two "Ceiling Light"s: ask which
    if kind_of(words) is not None:
        return _of_kind(pool, words, bool(area) or every)
    if not area:  # "kitchen ceiling light", "ceiling light kitchen": an area inside the name
        for place in sorted(areas(pool, floors), key=len, reverse=True):
            rest = _without(query, place)
            if rest is not None and rest != query:
                inside = [d for d in pool if in_area(place, d, floors)]
                found = resolve(inside, rest, place, every=every, floors=floors) if inside and rest else None
                if found is not None:
                    return found
    for cut in range(len(words) - 1, 0, -1):  # "office light": an area, then kind words
        place = " ".join(words[:cut])
        if kind_of(words[cut:]) is not None and place in areas(pool, floors) and not area:
            return _of_kind([d for d in pool if in_area(place, d, floors)], words[cut:], True)
    if every:
        said = [w for w in words if w in TYPE_WORDS]  # "blinds" said: never the lights, however alike
        kin = [
            d for d in pool if not said or any(is_kind(d, w) or w in normalise(d.name).split() for w in said)
        ]
        scored = [d for d in kin if max(name_score(query, n) for n in _names(d, area)) >= THRESHOLD]
        if scored:
            return Found(tuple(scored), 0.9)
    return find(pool, query)


def _without(query: str, place: str) -> str | None:
    """`query` without the area `place` at its start or end, or None when it is not there."""
    if query.startswith(place + " "):
        return query[len(place) + 1 :]
    if query.endswith(" " + place):
        return query[: -len(place) - 1]
    return None


_DOORISH = frozenset({"garage", "gate", "door"})


def is_kind(device: Device, word: str) -> bool:
    """Whether `device` is what the kind word `word` names: a blind is not the garage door, and a
    window is a window (a cover's device class or name), not any cover."""
    if device.component not in TYPE_WORDS.get(word, frozenset()):
        return False
    cls, named = device.device_class or "", set(normalise(device.name).split())
    if device.component == "cover":
        doorish = cls in _DOORISH or bool(named & _DOORISH)
        if word in _DOORISH:
            return doorish
        if word == "window":
            return cls == "window" or "window" in named
        return not doorish
    if device.component == "binary_sensor" and word in ("door", "window"):
        return cls == word or word in named
    return True


def _of_kind(pool: list[Device], words: list[str], all_of_them: bool) -> Found | None:
    head = words[-1]
    of_kind = [d for d in pool if is_kind(d, head)]
    if not all_of_them:  # "the shutter" (one): the one called Shutter, if there is one
        of_kind = [d for d in of_kind if head in normalise(d.name).split()] or of_kind
    if not of_kind:
        return None
    if all_of_them or len(of_kind) == 1:
        return Found(tuple(of_kind), 0.9)
    return Found((of_kind[0],), 0.9, ambiguous=tuple(of_kind))


def find(
    devices: Iterable[Device], query: str, area: str | None = None, components: Iterable[str] | None = None
) -> Found | None:
    """The device(s) `query` names, optionally "in the `area`", among `components`; None if none."""
    wanted = frozenset(components) if components is not None else None
    pool = [d for d in devices if wanted is None or d.component in wanted]
    query = clean_query(normalise(query))
    if area:
        area = clean_query(normalise(area))
        pool = [d for d in pool if area_score(area, d) >= AREA_THRESHOLD]
    if not pool or not query:
        return Found(tuple(pool), 0.9) if pool and area else None
    said_kinds = [w for w in query.split() if w in TYPE_WORDS]
    if said_kinds:  # "the bedroom blinds" is a blind: never the bedroom light, however alike they sound
        pool = [d for d in pool if any(is_kind(d, w) or w in normalise(d.name).split() for w in said_kinds)]
        if not pool:
            return None
    kinds = [TYPE_WORDS.get(w) for w in query.split()]
    if all(kinds):  # only kind words: "the light", "the blind", "heating"
        kind = frozenset.intersection(*(k for k in kinds if k))
        of_kind = [d for d in pool if d.component in kind]
        if of_kind and (area or len(of_kind) == 1):
            return Found(tuple(of_kind), 0.9)
    scored = sorted(
        ((max(name_score(query, n) for n in _names(d, area)), i, d) for i, d in enumerate(pool)),
        key=lambda x: (-x[0], x[1]),
    )
    best_score, _, best = scored[0]
    if best_score < THRESHOLD:
        return None
    close = [d for s, _, d in scored if s >= best_score - AMBIGUITY_MARGIN]
    if len(close) > 1 and best_score < 1.0:
        return Found((best,), best_score, ambiguous=tuple(close))
    return Found((best,), best_score)


def _names(device: Device, area: str | None) -> list[str]:
    names = [normalise(n) for n in device.names]
    if area:  # "the ceiling light in the kitchen" names "Kitchen Ceiling Light" too
        names += [" ".join(w for w in n.split() if w not in area.split()) for n in names]
    return [n for n in names if n]
