"""Everyday facts answered exactly, without the language model: sums ("what's 9 x 7", "15 percent of
80", "a third of 90", "square root of 81"), kitchen and travel conversions (cups, spoons, ounces,
grams, pounds, °F/°C, miles/km: everyday_units), days until a date and the weekday of a date
(everyday_dates), and spelling a word.

A 135M model gets about half of these wrong; arithmetic and unit tables do not. Every pattern is
anchored at both ends, so a sentence that merely contains a number ("set the heating to 21 degrees",
"add 5 minutes to the timer") is never taken from the intents after this one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import ClassVar

from homeplm.brain.intents import everyday_dates as dates
from homeplm.brain.intents.everyday_units import (
    CONVERT,
    FRACTION,
    NUM,
    amount_value,
    convert,
    convert_slots,
    is_rounded,
    number,
    said_value,
    say_number,
    tidy_amounts,
)
from homeplm.brain.intents.normalise import DEFAULT_NAMES, normalise
from homeplm.brain.intents.types import IntentMatch, IntentReply
from homeplm.core.stages import Turn

__all__ = ["EverydayIntents", "evaluate", "say_number", "spoken_symbols"]

_OPS = {"plus": "+", "add": "+", "and": "+", "minus": "-", "less": "-", "take away": "-", "times": "*",
        "multiplied by": "*", "x": "*", "divided by": "/", "over": "/", "into": "*"}  # fmt: skip
_SAID = {"+": "plus", "-": "minus", "*": "times", "/": "divided by"}
_OP_WORDS = "|".join(sorted(map(re.escape, _OPS), key=len, reverse=True))
_ASK = r"(?:what is |how much is |calculate |compute |work out |what does |what do )?"
_MONEY = r"(?: (?P<cur>dollars?|bucks|euros?|pounds|quid))?"
_NOT_A_WORD = "it|that|this|out|them|me|something|anything|check|again|backwards|your|my"
_WORD = rf"(?!(?:{_NOT_A_WORD})(?: |$))(?P<w>[a-z0-9]+)"
_PCT = rf"(?P<p>{NUM}) percent"
_POWERS = "second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth"
_SOURCES: list[tuple[str, str]] = [
    ("sum", rf"^{_ASK}(?P<expr>{NUM}(?: (?:{_OP_WORDS}) {NUM})+)(?: equal| equals| equal to| make)?$"),
    # "add 45 and 37", "subtract 15 from 100", "multiply 6 by 7", "divide 10 by 4"
    ("verbal", rf"^(?P<verb>add|subtract|take|multiply|divide) (?P<a>{NUM}) "
               rf"(?P<how>and|to|from|away from|by) (?P<b>{NUM})$"),
    ("percent", rf"^{_ASK}(?:a )?{_PCT} of (?P<n>{NUM}){_MONEY}$"),
    ("percent", rf"^{_ASK}{_PCT} (?P<off>off) (?:of )?(?P<n>{NUM}){_MONEY}$"),
    ("percent", rf"^{_ASK}(?P<n>{NUM}){_MONEY} (?P<off>plus|minus|less) {_PCT}$"),
    ("percent", rf"^{_ASK}(?:a |the )?{_PCT} (?P<off>tip) (?:on|for) (?P<n>{NUM}){_MONEY}$"),
    # "what percent of 80 is 20", "20 is what percentage of 80", "what percent is 20 of 80"
    ("ratio", rf"^what (?:percent|percentage) of (?P<n>{NUM}) is (?P<x>{NUM})$"),
    ("ratio", rf"^(?:what is )?(?P<x>{NUM}) (?:is what|as a) (?:percent|percentage) of (?P<n>{NUM})$"),
    ("ratio", rf"^what (?:percent|percentage) is (?P<x>{NUM}) (?:of|out of) (?P<n>{NUM})$"),
    ("fraction", rf"^{_ASK}(?P<f>{FRACTION}|double|twice|triple) (?:of )?(?P<n>{NUM}){_MONEY}$"),
    ("root", rf"^{_ASK}(?:the )?(?P<kind>square|cube) root of (?P<n>{NUM})$"),
    ("power", rf"^{_ASK}(?P<n>{NUM}) (?:(?P<kind>squared|cubed)|(?:raised )?to the (?:power of |power )?"
              rf"(?P<e>{NUM})(?:st|nd|rd|th)?(?: power)?|(?:raised )?to the (?P<w>{_POWERS})(?: power)?)$"),
    ("spell", r"^(?:how (?:do|do you|do i|would you|should i|to|does one|would i) spell|spell(?: out)?"
              rf"|what is the (?:correct )?spelling (?:of|for)) (?:the word |the name )?{_WORD}$"),
    ("spell", rf"^how (?:is|are|do you|do i) (?:the word )?{_WORD} (?:spelled|spelt|spell)$"),
]  # fmt: skip
_PATTERNS = [(kind, re.compile(source)) for kind, source in _SOURCES]
_PATTERNS += [("until", dates.UNTIL), ("since", dates.SINCE), ("weekday", dates.WEEKDAY)]
_POWER_WORDS = {"second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
                "ninth": 9, "tenth": 10}  # fmt: skip
_TOO_BIG = 1e15

# The recogniser writes "20%", "3/4", "-40", "2 + 2", "350°F", "$80", "1,000"; the normal form drops
# the symbols, so they become words first.
_SYMBOLS = re.compile(r"[%+×÷*=/°$£€]|\d,\d{3}|-\s*\d")
_REWRITES = [
    (re.compile(r"(?<=\d),(?=\d{3}\b)"), ""),
    (re.compile(r"(\d)\s*/\s*(?=\d)"), r"\1 over "),
    (re.compile(r"\$\s*(?=\d)"), " dollars "),
    (re.compile(r"£\s*(?=\d)"), " pounds "),
    (re.compile(r"€\s*(?=\d)"), " euros "),
    (re.compile(r"(?<=\d)\s*%"), " percent"),
    (re.compile(r"°"), " degrees "),
    (re.compile(r"(?:(?<=^)|(?<=[\s(]))-\s*(?=\d)|(?<=\d)\s*-\s*(?=\d)"), " minus "),
    (re.compile(r"\+"), " plus "),
    (re.compile(r"[×*]"), " times "),
    (re.compile(r"÷"), " divided by "),
    (re.compile(r"="), " "),
]
_MONEY_FIRST = re.compile(r"\b(dollars|pounds|euros) (\d+(?:\.\d+)?)")
_POINT = re.compile(r"\b(\d+) point (\d+)((?: \d\b)*)")


def spoken_symbols(text: str) -> str:
    """ "what's 20% of $60" → "what's 20 percent of 60 dollars"; other text as it was."""
    for pattern, words in _REWRITES:
        text = pattern.sub(words, text)
    return _MONEY_FIRST.sub(r"\2 \1", text)


def _tidy(n: str) -> str:
    """The everyday intents' own touches to the normal form: "3 point 1 4" → "3.14", "per cent",
    "negative 5", "a cup and a half" → "1 and a half cup"."""
    n = _POINT.sub(lambda m: f"{m[1]}.{m[2]}{m[3].replace(' ', '')}", n)
    n = n.replace("per cent", "percent").replace("negative ", "minus ")
    return tidy_amounts(n)


def evaluate(expression: str) -> float:
    """ "3 plus 4 times 2" → 11: times and divided by first, as school taught. ZeroDivisionError."""
    tokens = expression.split()
    i = 0

    def operand() -> float:
        nonlocal i
        sign = 1.0
        while tokens[i] == "minus":
            sign, i = -sign, i + 1
        i += 1
        return sign * float(tokens[i - 1])

    numbers, ops = [operand()], []
    while i < len(tokens):
        word = tokens[i]
        if i + 1 < len(tokens) and f"{word} {tokens[i + 1]}" in _OPS:
            word, i = f"{word} {tokens[i + 1]}", i + 1
        i += 1
        ops.append(_OPS[word])
        numbers.append(operand())
    total, terms = numbers[0], []
    for op, n in zip(ops, numbers[1:], strict=True):
        if op == "*":
            total *= n
        elif op == "/":
            total /= n
        else:
            terms.append(total)
            total = n if op == "+" else -n
    return sum(terms) + total


def _said(expression: str) -> str:
    """The sum as the house says it back: "9 x 7" → "9 times 7", "minus 5 plus 3"."""
    words = f" {expression} "
    for word in sorted(_OPS, key=len, reverse=True):
        if word != "minus":
            words = words.replace(f" {word} ", f" {_SAID[_OPS[word]]} ")
    return " ".join(say_number(float(w)) if w[0].isdigit() else w for w in words.split())


def _is(value: float, slots: Mapping[str, str] | None = None) -> str:
    """ "is 63", "is about 3.33", "is 68 dollars": a number the house had to round says so."""
    if abs(value) >= _TOO_BIG:
        raise OverflowError
    return f"is {'about ' if is_rounded(value, said_value(value)) else ''}{_money(value, slots or {})}"


def _money(value: float, slots: Mapping[str, str]) -> str:
    """ "80", or "80 dollars" when a currency was said."""
    cur = slots.get("cur", "")
    if not cur:
        return say_number(value)
    cur = {"dollar": "dollars", "euro": "euros", "quid": "pounds", "bucks": "dollars"}.get(cur, cur)
    return f"{say_number(value)} {cur.removesuffix('s') if said_value(value) == 1 else cur}"


def _fraction_words(f: str) -> tuple[float, str]:
    """ "3 over 4" → (0.75, "3 quarters"); "a third" → (1/3, "a third"); "double" → (2, "double")."""
    if f in ("double", "twice", "triple"):
        return (3.0 if f == "triple" else 2.0), f
    value = amount_value(f)
    words = f.split()
    if "over" in words:
        top, bottom = number(words[: words.index("over")]), number(words[words.index("over") + 1 :])
        names = {2: ("half", "halves"), 3: ("third", "thirds"), 4: ("quarter", "quarters"),
                 5: ("fifth", "fifths"), 8: ("eighth", "eighths"), 10: ("tenth", "tenths")}  # fmt: skip
        if bottom in names and top == int(top) and top > 0:
            one, many = names[int(bottom)]
            f = f"a {one}" if top == 1 else f"{int(top)} {many}"
    return value, "half" if f in ("a half", "1 half") else f


class EverydayIntents:
    """The "everyday" intent handler: sums, conversions, dates, spelling."""

    name = "everyday"

    def __init__(
        self, clock: Callable[[], datetime] = datetime.now, names: tuple[str, ...] = DEFAULT_NAMES
    ) -> None:
        self.clock = clock
        self.names = names

    def match(self, text: str, n: str) -> IntentMatch | None:
        if _SYMBOLS.search(text):
            n = normalise(spoken_symbols(text), self.names)
        n = _tidy(n)
        for kind, pattern in _PATTERNS:
            if (m := pattern.match(n)) is not None:
                slots = {k: v for k, v in m.groupdict().items() if v}
                if kind == "spell":  # the word as said: the normal form changed some
                    if (word := _spelled(text, slots["w"])) is None:
                        return None
                    slots["w"] = word
                return IntentMatch(f"everyday.{kind}", slots, 0.95, n)
        for pattern in CONVERT:
            if (m := pattern.match(n)) is not None and (found := convert_slots(m)) is not None:
                return IntentMatch("everyday.convert", found, 0.95, n)
        return None

    async def handle(self, match: IntentMatch, turn: Turn) -> IntentReply:
        kind = match.intent.removeprefix("everyday.")
        try:
            text = self._replies[kind](self, match.slots)
        except ZeroDivisionError:
            text = "You can't divide by zero."
        except OverflowError:
            text = "That number is too big to say."
        return IntentReply(text[:1].upper() + text[1:])

    def _sum(self, slots: Mapping[str, str]) -> str:
        return f"{_said(slots['expr'])} {_is(evaluate(slots['expr']))}."

    def _verbal(self, slots: Mapping[str, str]) -> str:
        verb, how, a, b = slots["verb"], slots["how"], slots["a"], slots["b"]
        allowed = {"add": ("and", "to"), "subtract": ("from",), "take": ("from", "away from"),
                   "multiply": ("and", "by"), "divide": ("by",)}  # fmt: skip
        if how not in allowed[verb]:
            return "Say it like: what is 6 times 7."
        expression = {"add": f"{a} plus {b}", "subtract": f"{b} minus {a}", "take": f"{b} minus {a}",
                      "multiply": f"{a} times {b}", "divide": f"{a} divided by {b}"}[verb]  # fmt: skip
        return self._sum({"expr": expression})

    def _percent(self, slots: Mapping[str, str]) -> str:
        p, n, how = number(slots["p"].split()), number(slots["n"].split()), slots.get("off", "")
        pct, money = f"{say_number(p)} percent", _money(n, slots)
        if how == "off":
            return f"{pct} off {money} {_is(n * (100 - p) / 100, slots)}."
        if how == "tip":
            return f"a {pct} tip on {money} {_is(p * n / 100, slots)}."
        if how:
            value = n * (100 + (p if how == "plus" else -p)) / 100
            return f"{money} {'plus' if how == 'plus' else 'minus'} {pct} {_is(value, slots)}."
        return f"{pct} of {money} {_is(p * n / 100, slots)}."

    def _ratio(self, slots: Mapping[str, str]) -> str:
        x, n = number(slots["x"].split()), number(slots["n"].split())
        value = x / n * 100
        about = "about " if is_rounded(value, round(value, 1)) else ""
        return f"{say_number(x)} is {about}{say_number(round(value, 1))} percent of {say_number(n)}."

    def _fraction(self, slots: Mapping[str, str]) -> str:
        value, words = _fraction_words(slots["f"])
        of = "" if words in ("double", "twice", "triple") else " of"
        n = number(slots["n"].split())
        return f"{words}{of} {_money(n, slots)} {_is(value * n, slots)}."

    def _root(self, slots: Mapping[str, str]) -> str:
        n = number(slots["n"].split())
        if slots["kind"] == "square":
            if n < 0:
                return "A negative number has no real square root."
            return f"the square root of {say_number(n)} {_is(math.sqrt(n))}."
        return f"the cube root of {say_number(n)} {_is(math.copysign(abs(n) ** (1 / 3), n))}."

    def _power(self, slots: Mapping[str, str]) -> str:
        n = number(slots["n"].split())
        kind = slots.get("kind", "")
        e = {"squared": 2.0, "cubed": 3.0}.get(kind) or float(
            _POWER_WORDS[slots["w"]] if "w" in slots else number(slots["e"].split())
        )
        if abs(e) > 100 or abs(n) > 1e6:
            raise OverflowError
        if n < 0 and e != int(e):
            return "That has no real answer."
        said = kind or f"to the power of {say_number(e)}"
        return f"{say_number(n)} {said} {_is(n**e)}."

    def _convert(self, slots: Mapping[str, str]) -> str:
        return convert(slots)

    def _until(self, slots: Mapping[str, str]) -> str:
        return dates.until(slots, self.clock().date())

    def _since(self, slots: Mapping[str, str]) -> str:
        return dates.since(slots, self.clock().date())

    def _weekday(self, slots: Mapping[str, str]) -> str:
        return dates.weekday(slots, self.clock().date())

    def _spell(self, slots: Mapping[str, str]) -> str:
        word = slots["w"]
        letters = "-".join(c.upper() for c in word if c.isalpha())
        said = word.upper() if len(word) <= 3 and not set(word) & set("aeiouy") else word.capitalize()
        return f"{said}: {letters}."  # "TV: T-V.", "Rhythm: R-H-Y-T-H-M."

    _replies: ClassVar[dict[str, Callable[[EverydayIntents, Mapping[str, str]], str]]] = {
        "sum": _sum, "verbal": _verbal, "percent": _percent, "ratio": _ratio, "fraction": _fraction,
        "root": _root, "power": _power, "convert": _convert, "until": _until, "since": _since,
        "weekday": _weekday, "spell": _spell,
    }  # fmt: skip


_RAW_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


def _spelled(text: str, word: str) -> str | None:
    """The word to spell as it was said: the normal form changed some ("lamps" → "light", "tv" →
    "television", "seventeen" → "17"); None when no single word of the text is it."""
    said = [w for w in _RAW_WORD.findall(text.lower().replace("’", "'")) if "'" not in w]
    for candidate in reversed(said):
        if candidate == word or normalise(candidate, ()) == word:
            return candidate
    return None
