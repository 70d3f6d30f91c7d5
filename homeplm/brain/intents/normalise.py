"""One normal form for every intent matcher: lowercase words, no fillers, digits, canonical words.

"Hey Jarvis, could you switch on the lamps in twenty minutes, please?"
→ "turn on the light in 20 minute"

The tables are deliberately small and readable: they canonicalise the *command* words. Device and
room names are not listed here; device control (issue 4) matches them fuzzily against the house's own
names. Every step works on a token list, so `normalise` is linear in the input (no regex backtracking).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from homeplm.brain.intents.numbers import words_to_numbers

DEFAULT_NAMES = ("jarvis",)  # the assistant's name, dropped at the edges ("jarvis, what time is it")

# Numbers stay whole ("7:45", "2.5", "3rd"); apostrophes stay inside words until contractions expand.
_TOKEN = re.compile(r"\d+(?:[:.]\d+)*(?:st|nd|rd|th)?|[^\W\d_]+(?:'[^\W\d_]+)*")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'"})

_CONTRACTIONS = {
    "can't": "can not", "cannot": "can not", "won't": "will not", "shan't": "shall not",
    "let's": "let us", "o'clock": "oclock", "y'all": "you all",
    "gonna": "going to", "wanna": "want to", "gotta": "got to", "gimme": "give me",
    # Without the apostrophe, as transcripts and typing sometimes have them.
    "whats": "what is", "thats": "that is", "wheres": "where is", "hows": "how is", "whos": "who is",
    "dont": "do not", "doesnt": "does not", "didnt": "did not", "cant": "can not", "isnt": "is not",
    "arent": "are not", "wasnt": "was not", "im": "i am", "ive": "i have", "youre": "you are",
    "todays": "today",
}  # fmt: skip
_SUFFIXES = {"n't": " not", "'re": " are", "'ve": " have", "'ll": " will", "'d": " would", "'m": " am"}
# "'s" is "is" after these; otherwise it is a possessive and is dropped ("today's date" → "today date").
_IS_WORDS = frozenset(
    {"it", "that", "what", "where", "who", "how", "when", "there", "here", "he", "she", "this", "which"}
)

# One word → its canonical form ("" drops it). Plurals first, then synonyms of the singular.
_PLURALS = {
    "lights": "light", "lamps": "lamp", "bulbs": "bulb", "blinds": "blind", "curtains": "curtain",
    "shades": "shade", "fans": "fan", "plugs": "plug", "switches": "switch", "doors": "door",
    "windows": "window", "rooms": "room", "speakers": "speaker", "heaters": "heater",
    "timers": "timer", "alarms": "alarm", "reminders": "reminder", "notes": "note",
    "seconds": "second", "minutes": "minute", "mins": "minute", "min": "minute", "secs": "second",
    "hours": "hour", "hrs": "hour", "days": "day", "weeks": "week", "months": "month", "years": "year",
    "degrees": "degree", "songs": "song",
}  # fmt: skip
_SYNONYMS = {
    "lamp": "light", "lighting": "light", "bulb": "light", "telly": "television", "tv": "television",
    "kill": "turn off", "ok": "okay", "nevermind": "never mind",
}  # fmt: skip
_FILLERS = frozenset({"please", "kindly", "um", "umm", "uh", "uhm", "uhh", "er", "erm", "hmm", "hey", "just"})

# Two words → canonical words (or none), anywhere in the utterance.
_PHRASES: dict[tuple[str, ...], tuple[str, ...]] = {
    tuple(k.split()): tuple(v.split())
    for k, v in {
        "switch on": "turn on", "power on": "turn on",
        "switch off": "turn off", "shut off": "turn off", "power off": "turn off",
        "could you": "", "can you": "", "would you": "", "will you": "", "for me": "", "okay so": "",
    }.items()
}  # fmt: skip
# Dropped only at the start or the end: greetings, the assistant's name, thanks.
_LEADING = [tuple(p.split()) for p in ("do you know", "i wonder", "excuse me", "hi", "okay", "so")]
_LEADING += [tuple(p.split()) for p in ("well", "oh", "alright", "right", "and")]
_TRAILING = [tuple(p.split()) for p in ("thank you very much", "thank you", "thanks", "okay")]


def _expand(word: str) -> list[str]:
    """Contractions out: "what's" → "what is", "don't" → "do not", "today's" → "today"."""
    if word in _CONTRACTIONS:
        return _CONTRACTIONS[word].split()
    if "'" not in word:
        return [word]
    for suffix, full in _SUFFIXES.items():
        if word.endswith(suffix):
            return (word[: -len(suffix)] + full).split()
    if word.endswith("'s"):
        stem = word[:-2]
        return [stem, "is"] if stem in _IS_WORDS else [stem]
    return [word.replace("'", "")]


def _canonical(word: str) -> str:
    word = _PLURALS.get(word, word)
    return "" if word in _FILLERS else _SYNONYMS.get(word, word)


def _replace_phrases(tokens: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        pair = tuple(tokens[i : i + 2])
        if pair in _PHRASES:
            out.extend(_PHRASES[pair])
            i += 2
        else:
            out.append(tokens[i])
            i += 1
    return out


def _strip_edges(tokens: list[str], names: frozenset[str]) -> list[str]:
    leading = [*_LEADING, *((n,) for n in names)]
    trailing = [*_TRAILING, *((n,) for n in names)]
    changed = True
    while changed and tokens:
        changed = False
        for phrase in leading:
            if tuple(tokens[: len(phrase)]) == phrase:
                tokens, changed = tokens[len(phrase) :], True
        for phrase in trailing:
            if len(tokens) >= len(phrase) and tuple(tokens[-len(phrase) :]) == phrase:
                tokens, changed = tokens[: -len(phrase)], True
    return tokens


def normalise(text: str, names: Iterable[str] = DEFAULT_NAMES) -> str:
    """The matchers' form of `text`: see the module docstring; "" when only fillers were said."""
    lowered = text.lower().translate(_APOSTROPHES)
    tokens = [part for token in _TOKEN.findall(lowered) for part in _expand(token)]
    tokens = [part for token in tokens for part in _canonical(token).split()]
    tokens = _replace_phrases(tokens)
    tokens = _strip_edges(tokens, frozenset(n.lower() for n in names))
    return " ".join(words_to_numbers(tokens))
