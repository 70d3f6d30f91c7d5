"""Number words to digits on a token list: "twenty one" → "21", "a hundred and five" → "105"."""

from __future__ import annotations

_UNIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TEEN_WORDS: tuple[str, ...] = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen")
_TEEN_WORDS += ("sixteen", "seventeen", "eighteen", "nineteen")
_TENS_WORDS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")

_UNITS = {word: n for n, word in enumerate(_UNIT_WORDS)}
_TEENS = {word: n for n, word in enumerate(_TEEN_WORDS, start=10)}
_TENS = {word: 10 * n for n, word in enumerate(_TENS_WORDS, start=2)}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
# A lone "one" after these is a pronoun ("this one", "which one"), not a number.
_PRONOUN_ONE = frozenset({"this", "that", "which", "the", "every", "any", "no", "some", "each", "another"})


class _Number:
    """Accumulates one spoken number; `add` says whether a word still belongs to it."""

    def __init__(self) -> None:
        self.total = 0  # finished thousands/millions
        self.group = 0  # the part below the last scale word
        self.words: list[str] = []

    def add(self, word: str) -> bool:
        small = self.group % 100
        if self.words == ["zero"] or (word == "zero" and self.words):
            return False  # "zero" stands alone ("zero one" is not 1)
        if word in _UNITS:
            # "twenty one" joins; "one two" and "fifteen six" are two numbers each.
            if self.words and (small % 10 or 10 <= small < 20):
                return False
            self.group += _UNITS[word]
        elif word in _TEENS or word in _TENS:
            if self.words and small:
                return False
            self.group += _TEENS.get(word) or _TENS[word]
        elif word == "hundred":
            if self.group >= 100:
                return False
            self.group = max(self.group, 1) * 100
        elif word in _SCALES:
            self.total += max(self.group, 1) * _SCALES[word]
            self.group = 0
        else:
            return False
        self.words.append(word)
        return True

    def text(self, previous: str | None) -> str:
        if self.words == ["one"] and previous in _PRONOUN_ONE:
            return "one"
        return str(self.total + self.group)


def _is_number_word(word: str) -> bool:
    return word in _UNITS or word in _TEENS or word in _TENS or word in _SCALES


def _and_joins(number: _Number, following: list[str]) -> bool:
    """ "one hundred and five": "and" joins a scale word to more (non-scale) number words."""
    return (
        bool(number.words)
        and number.words[-1] in _SCALES
        and bool(following)
        and following[0] not in _SCALES
        and _is_number_word(following[0])
    )


def words_to_numbers(tokens: list[str]) -> list[str]:
    """Replace runs of number words by digits; "a hundred" is 100; "half", "quarter" stay words."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        word = tokens[i]
        a_scale = word == "a" and i + 1 < len(tokens) and tokens[i + 1] in _SCALES
        if not (a_scale or _is_number_word(word)):
            out.append(word)
            i += 1
            continue
        number = _Number()
        j = i + 1 if a_scale else i
        while j < len(tokens) and (
            number.add(tokens[j]) or (tokens[j] == "and" and _and_joins(number, tokens[j + 1 : j + 2]))
        ):
            j += 1
        out.append(number.text(out[-1] if out else None))
        i = j
    return out
