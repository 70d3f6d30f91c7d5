"""The house's commands as a closed set of sentences, and the ones nearest to what was heard.

Rhasspy recognised against a closed grammar of the house's own commands; homeplm lets Whisper
write freely and then, when a command names nothing the house has ("turn off the Heaton"), asks
the recogniser itself which of the house's own sentences nearest in letters and sounds the audio
supports best (`voice/recheck.py`). This module builds those sentences from the registry — the
devices' names and aliases, "<area> <kind>" and "<kind> in the <area>", the phrasing families of
`phrasing.py` — and ranks them against a transcript (lexical and phonetic similarity).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Protocol

from homeplm.brain.intents.normalise import normalise
from homeplm.house.matching import phonetic_key

# The words people use for each kind of device, after the area ("bedroom blinds").
_KIND_WORDS = {
    "light": ("light", "lights"),
    "cover": ("blinds",),
    "fan": ("fan",),
    "climate": ("heating",),
}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
SLOT = "{n}"  # a number slot, filled with the number heard


class Named(Protocol):
    """What the command space needs of a device (the registry's Device has it)."""

    @property
    def name(self) -> str: ...

    @property
    def component(self) -> str: ...

    @property
    def area(self) -> str | None: ...


def _targets(devices: Iterable[Named]) -> dict[str, set[str]]:
    """Component → the phrases that name its devices."""
    targets: dict[str, set[str]] = {}
    for d in devices:
        names = {d.name.lower(), *(a.lower() for a in getattr(d, "aliases", ()) if a)}
        area = (d.area or "").lower()
        for kind in _KIND_WORDS.get(d.component, ()) if area else ():
            names |= {f"{area} {kind}", f"{kind} in the {area}"}
        if d.component == "climate":
            names |= {"heating", "thermostat"}
        targets.setdefault(d.component, set()).update(n for n in names if n.strip())
    if "light" in targets:
        targets["light"] |= {"lights", "all the lights"}
    return targets


def the(target: str) -> str:
    """'the hall light', 'all the lights'."""
    return target if target.startswith("all ") else f"the {target}"


def command_sentences(devices: Iterable[Named]) -> list[str]:
    """Every command sentence of the house ("turn off the hall light", "set the bedroom fan to {n}
    percent", "lock the front door"), and questions about the same devices ("is the front door
    locked"), so that a question heard stays a question."""
    devices = list(devices)
    targets = _targets(devices)
    said: set[str] = set()
    onoff = targets.get("light", set()) | targets.get("switch", set()) | targets.get("fan", set())
    for t in onoff | targets.get("climate", set()):
        for v in ("on", "off"):
            said |= {f"turn {v} {the(t)}", f"switch {v} {the(t)}", f"turn {the(t)} {v}",
                     f"switch {the(t)} {v}", f"put {the(t)} {v}"}  # fmt: skip
    for t in targets.get("switch", set()) | targets.get("fan", set()):
        said |= {f"start the {t}", f"stop the {t}"}
    for t in targets.get("light", set()) | targets.get("cover", set()) | targets.get("fan", set()):
        said |= {f"set {the(t)} to {SLOT} percent", f"turn {the(t)} to {SLOT} percent"}
    for t in targets.get("light", set()):
        said |= {f"dim {the(t)} to {SLOT} percent", f"dim {the(t)}", f"brighten {the(t)}"}
    for t in targets.get("cover", set()):
        said |= {f"open the {t}", f"close the {t}", f"raise the {t}", f"lower the {t}"}
        said |= {f"lower the {t} to {SLOT} percent", f"raise the {t} to {SLOT} percent"}
    modes = {m.lower() for d in devices if d.component == "climate" for m in getattr(d, "modes", ())}
    for t in targets.get("climate", set()):
        said |= {f"set the {t} to {SLOT} degrees", f"turn the {t} to {SLOT} degrees"}
        said |= {f"set the {t} to {mode}" for mode in (modes or {"heat", "auto", "off"})}
    for t in targets.get("lock", set()):
        said |= {f"lock the {t}", f"unlock the {t}"}
    for comp, names in targets.items():
        states = {"lock": ("locked", "unlocked"), "cover": ("open", "closed")}.get(comp, ("on", "off"))
        said |= {f"{'are' if t.endswith('s') else 'is'} {the(t)} {state}" for t in names for state in states}
    for area in {(d.area or "").lower() for d in devices} - {""}:
        said |= {f"how warm is it in the {area}", f"what is the temperature in the {area}"}
    if "light" in targets:
        said.add("which lights are on")
    return sorted(said)


def norm(text: str) -> str:
    """The intents' normal form (lower case, numbers as digits), "%" said as "percent"."""
    return normalise(text.replace("%", " percent"))


def _sound(text: str) -> str:
    """The consonant skeleton of each word, numbers kept as they are."""
    parts = re.split(r" ?(\d+) ?", text)
    return " ".join(p if p.isdigit() else phonetic_key(p) for p in parts if p)


class CommandSpace:
    """The house's sentences, ranked against what was heard."""

    def __init__(self, sentences: Sequence[str]) -> None:
        self.sentences = list(sentences)
        self._norms = [norm(s.replace(SLOT, "0")) for s in self.sentences]
        self._sounds = [_sound(n) for n in self._norms]

    @classmethod
    def of(cls, devices: Iterable[Named]) -> CommandSpace:
        return cls(command_sentences(devices))

    def nearest(self, text: str, count: int = 6, floor: float = 0.8) -> list[tuple[str, float]]:
        """Up to `count` sentences near `text` (similarity ≥ `floor`, best first), each number slot
        filled with the one number heard; a sentence with a slot needs exactly one number heard,
        and one without needs none."""
        from rapidfuzz import fuzz, process

        heard = norm(text)
        numbers = _NUMBER.findall(heard)
        shape = _NUMBER.sub("0", heard)
        if not shape or len(numbers) > 1:
            return []
        sound = _sound(shape)
        pool = {i for _, _, i in process.extract(shape, self._norms, scorer=fuzz.token_sort_ratio, limit=40)}
        pool |= {i for _, _, i in process.extract(sound, self._sounds, scorer=fuzz.ratio, limit=40)}
        ranked: list[tuple[float, str]] = []
        for i in pool:
            sentence = self.sentences[i]
            if (SLOT in sentence) != bool(numbers):
                continue
            lexical = fuzz.token_sort_ratio(shape, self._norms[i])
            close = max(lexical, 0.95 * fuzz.ratio(sound, self._sounds[i]))
            filled = sentence.replace(SLOT, numbers[0]) if numbers else sentence
            # Among sentences as near, the one worded most like what was heard ("switch" kept).
            ranked.append((close / 100 + fuzz.ratio(heard, norm(filled)) / 2000, filled))
        ranked.sort(reverse=True)
        return [(s, round(score, 3)) for score, s in ranked[:count] if score >= floor]
