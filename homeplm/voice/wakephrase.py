"""Removes the wake phrase that the pre-roll carries into the transcript."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from pathlib import Path

_PHRASES = {
    "hey_jarvis": ("hey jarvis", "jarvis"),
    "alexa": ("alexa",),
    "hey_mycroft": ("hey mycroft", "mycroft"),
    "okay_nabu": ("okay nabu", "ok nabu", "nabu"),
    "ok_nabu": ("okay nabu", "ok nabu", "nabu"),
    "hey_rhasspy": ("hey rhasspy", "rhasspy"),
}
_WORD = re.compile(r"[a-z0-9']+")


def phrases_for(models: Iterable[str]) -> list[str]:
    """Spoken forms of the configured wake words (custom models: the file name, '_' → ' ')."""
    phrases: list[str] = []
    for model in models:
        stem = re.sub(r"_v\d+(\.\d+)*$", "", Path(model).stem.lower())
        phrases.extend(_PHRASES.get(stem, (stem.replace("_", " "),)))
    return sorted(set(phrases), key=len, reverse=True)


def strip_wake_phrase(text: str, phrases: Iterable[str], min_ratio: float = 0.75) -> str:
    """Drop a leading wake phrase (fuzzy: ASR may hear 'Jervis'); keep the rest as said."""
    words = list(_WORD.finditer(text.lower()))
    for phrase in phrases:
        count = len(phrase.split())
        if len(words) < count:
            continue
        heard = " ".join(m.group() for m in words[:count])
        if difflib.SequenceMatcher(None, heard, phrase).ratio() >= min_ratio:
            rest = text[words[count - 1].end() :]
            return rest.lstrip(" ,.!?;:-").strip()
    return text.strip()
