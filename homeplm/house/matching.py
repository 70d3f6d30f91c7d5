"""Tolerant device-name matching: rapidfuzz for spelling and word order, a phonetic key for what
speech recognition mishears ("mad room light" → "bedroom light"), area words to narrow it down.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz

from homeplm.brain.intents.normalise import normalise
from homeplm.house.device_discovery import Device

THRESHOLD = 0.72  # below this a name is not the device asked for
AMBIGUITY_MARGIN = 0.04  # two devices this close to each other: ask which
AREA_THRESHOLD = 0.8

# Words that name a kind of device rather than one device ("the light in the kitchen").
TYPE_WORDS: dict[str, frozenset[str]] = {
    "light": frozenset({"light"}), "fan": frozenset({"fan"}),
    **dict.fromkeys(("blind", "curtain", "shade", "shutter", "cover", "awning"), frozenset({"cover"})),
    **dict.fromkeys(("thermostat", "heating", "heater", "climate", "ac"), frozenset({"climate"})),
    **dict.fromkeys(("switch", "plug", "socket", "outlet"), frozenset({"switch", "light"})),
    "lock": frozenset({"lock"}), "door": frozenset({"lock", "cover", "binary_sensor"}),
    "sensor": frozenset({"sensor", "binary_sensor"}),
}  # fmt: skip
_ARTICLES = frozenset({"the", "my", "our", "a", "all", "every", "both"})

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
    lexical = max(fuzz.token_sort_ratio(query, name), 0.9 * fuzz.token_set_ratio(query, name)) / 100
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
