"""Everyday facts answered exactly, without the language model: sums ("nine times seven", "15
percent of 80", "square root of 81"), kitchen and travel conversions (cups, tablespoons, ounces,
grams, pounds, °F/°C, miles/km), days until a date and the weekday of a date, and spelling a word.

A 135M model gets about half of these wrong; arithmetic and unit tables do not.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime

from homeplm.brain.intents.clock_intents import MONTHS, WEEKDAYS
from homeplm.brain.intents.types import IntentMatch, IntentReply
from homeplm.core.stages import Turn

_NUM = r"-?\d+(?:\.\d+)?"
_OPS = {"plus": "+", "add": "+", "and": "+", "minus": "-", "less": "-", "take away": "-", "times": "*",
        "multiplied by": "*", "x": "*", "divided by": "/", "over": "/", "into": "*"}  # fmt: skip
_OP_WORDS = "|".join(sorted(map(re.escape, _OPS), key=len, reverse=True))
_SUM = re.compile(
    rf"^(?:what is |what's |whats |calculate |how much is |compute )?"
    rf"(?P<expr>{_NUM}(?: (?:{_OP_WORDS}) {_NUM})+)$"
)
_PERCENT = re.compile(rf"^(?:what is |how much is |calculate )?(?P<p>{_NUM}) percent of (?P<n>{_NUM})$")
_ROOT = re.compile(rf"^(?:what is |what's )?(?:the )?(?P<kind>square|cube) root of (?P<n>{_NUM})$")
_POWER = re.compile(
    rf"^(?:what is |what's )?(?P<n>{_NUM}) (?P<kind>squared|cubed|to the power of (?P<e>{_NUM}))$"
)

# Units: (dimension, factor to the base unit: ml, g, m; temperatures are special).
_UNITS: dict[str, tuple[str, float]] = {
    "milliliter": ("volume", 1.0), "ml": ("volume", 1.0), "liter": ("volume", 1000.0),
    "litre": ("volume", 1000.0),
    "cup": ("volume", 236.588), "tablespoon": ("volume", 14.7868), "tbsp": ("volume", 14.7868),
    "teaspoon": ("volume", 4.92892), "tsp": ("volume", 4.92892), "fluid ounce": ("volume", 29.5735),
    "pint": ("volume", 473.176), "quart": ("volume", 946.353), "gallon": ("volume", 3785.41),
    "gram": ("mass", 1.0), "g": ("mass", 1.0), "kilogram": ("mass", 1000.0), "kilo": ("mass", 1000.0),
    "kg": ("mass", 1000.0), "ounce": ("mass", 28.3495), "oz": ("mass", 28.3495), "pound": ("mass", 453.592),
    "lb": ("mass", 453.592), "stone": ("mass", 6350.29),
    "millimeter": ("length", 0.001), "centimeter": ("length", 0.01), "cm": ("length", 0.01),
    "meter": ("length", 1.0),
    "metre": ("length", 1.0), "kilometer": ("length", 1000.0), "kilometre": ("length", 1000.0),
    "km": ("length", 1000.0),
    "inch": ("length", 0.0254), "foot": ("length", 0.3048), "feet": ("length", 0.3048),
    "yard": ("length", 0.9144),
    "mile": ("length", 1609.344),
    "celsius": ("temperature", 0.0), "centigrade": ("temperature", 0.0), "fahrenheit": ("temperature", 0.0),
    "kelvin": ("temperature", 0.0),
}  # fmt: skip
_SPOKEN = {"ml": "milliliter", "tbsp": "tablespoon", "tsp": "teaspoon", "g": "gram", "kg": "kilogram",
           "oz": "ounce", "lb": "pound", "cm": "centimeter", "km": "kilometer", "kilo": "kilogram",
           "litre": "liter", "metre": "meter", "kilometre": "kilometer", "feet": "foot"}  # fmt: skip
# Grams per US cup of what people measure by the cup (for "how many grams in a cup of flour").
_DENSITY = {"flour": 125.0, "sugar": 200.0, "brown sugar": 220.0, "icing sugar": 120.0, "butter": 227.0,
            "rice": 185.0, "water": 236.6, "milk": 245.0, "oats": 90.0, "honey": 340.0, "cocoa": 85.0,
            "salt": 288.0, "oil": 218.0, "cream": 240.0, "yogurt": 245.0}  # fmt: skip
_UNIT_WORDS = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
_UNIT = rf"(?:degree |degrees )?(?P<{{g}}>{_UNIT_WORDS})s?"
_AMOUNT = rf"(?P<n>{_NUM}|a|an|one|half a)"
_CONVERT = [
    re.compile(
        rf"^how many {_UNIT.format(g='to')} (?:are |is )?(?:there )?in {_AMOUNT} {_UNIT.format(g='fr')}"
        r"(?: of (?P<what>[a-z ]+))?$"
    ),
    re.compile(
        rf"^(?:convert |what is |what's |how much is )?{_AMOUNT} {_UNIT.format(g='fr')}"
        rf"(?: of (?P<what>[a-z ]+))? (?:in|to|into|as) {_UNIT.format(g='to')}$"
    ),
]  # fmt: skip
_HOLIDAYS = {"christmas": (12, 25), "christmas eve": (12, 24), "new year": (1, 1), "new years day": (1, 1),
             "new years eve": (12, 31), "halloween": (10, 31), "valentines day": (2, 14),
             "valentines": (2, 14), "boxing day": (12, 26)}  # fmt: skip
_MONTH = "|".join(m.lower() for m in MONTHS)
_DATE = (
    rf"(?:the )?(?:(?P<d1>\d{{1,2}})(?:st|nd|rd|th)? (?:of )?(?P<m1>{_MONTH})"
    rf"|(?P<m2>{_MONTH}) (?:the )?(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?|(?P<h>{'|'.join(_HOLIDAYS)}))"
)
_UNTIL = re.compile(
    rf"^how (?:many days?|long) (?:is it |are there |is there )?(?:left )?(?:until|till|to|before) {_DATE}$"
)
_WEEKDAY = re.compile(
    rf"^what day (?:of the week )?(?:is|was|will be|falls on|is it on) {_DATE}(?: this year| next year)?$"
)
_SPELL = re.compile(
    r"^(?:how (?:do|do you|to|would you) spell|spell|can you spell|what is the spelling of) (?:the word )?"
    r"(?!it$|that$|this$|out$)(?P<w>[a-z][a-z'-]{0,30})$"
)


def _number(text: str) -> float:
    return {"a": 1.0, "an": 1.0, "one": 1.0, "half a": 0.5}.get(text) or float(text)


def say_number(value: float) -> str:
    """63, 2.5, 0.33, 1,234 — as a voice would read it (never "63.0")."""
    if math.isinf(value) or math.isnan(value):
        return "not a number"
    if value < 0:
        return "minus " + say_number(-value)
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):,}"
    digits = 2 if abs(value) >= 1 else 3
    return f"{value:,.{digits}f}".rstrip("0").rstrip(".")


def evaluate(expression: str) -> float:
    """ "3 plus 4 times 2" → 11: times and divided by first, as school taught. ZeroDivisionError."""
    tokens = expression.split()
    numbers, ops = [float(tokens[0])], []
    i = 1
    while i < len(tokens):
        word = tokens[i]
        if f"{word} {tokens[i + 1]}" in _OPS:
            word, i = f"{word} {tokens[i + 1]}", i + 1
        ops.append(_OPS[word])
        numbers.append(float(tokens[i + 1]))
        i += 2
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


class EverydayIntents:
    """The "everyday" intent handler: sums, conversions, dates, spelling."""

    name = "everyday"

    def __init__(self, clock: Callable[[], datetime] = datetime.now) -> None:
        self.clock = clock

    def match(self, text: str, n: str) -> IntentMatch | None:
        for kind, pattern in (("sum", _SUM), ("percent", _PERCENT), ("root", _ROOT), ("power", _POWER),
                              ("until", _UNTIL), ("weekday", _WEEKDAY), ("spell", _SPELL)):  # fmt: skip
            if (m := pattern.match(n)) is not None:
                return IntentMatch(f"everyday.{kind}", {k: v for k, v in m.groupdict().items() if v}, 0.95, n)
        for pattern in _CONVERT:
            if (m := pattern.match(n)) is not None:
                slots = {k: v for k, v in m.groupdict().items() if v}
                return IntentMatch("everyday.convert", slots, 0.95, n)
        return None

    async def handle(self, match: IntentMatch, turn: Turn) -> IntentReply:
        slots, kind = match.slots, match.intent.removeprefix("everyday.")
        try:
            return IntentReply(getattr(self, f"_{kind}")(slots, match.matched))
        except ZeroDivisionError:
            return IntentReply("You can't divide by zero.")

    def _sum(self, slots: dict[str, str], said: str) -> str:
        expression = slots["expr"]
        spoken = expression.replace("-", "minus ") if expression.startswith("-") else expression
        return f"{spoken} is {say_number(evaluate(expression))}."

    def _percent(self, slots: dict[str, str], said: str) -> str:
        p, n = float(slots["p"]), float(slots["n"])
        return f"{say_number(p)} percent of {say_number(n)} is {say_number(p * n / 100)}."

    def _root(self, slots: dict[str, str], said: str) -> str:
        n = float(slots["n"])
        if slots["kind"] == "square":
            if n < 0:
                return "A negative number has no real square root."
            return f"The square root of {say_number(n)} is {say_number(math.sqrt(n))}."
        return f"The cube root of {say_number(n)} is {say_number(math.copysign(abs(n) ** (1 / 3), n))}."

    def _power(self, slots: dict[str, str], said: str) -> str:
        n = float(slots["n"])
        e = 2.0 if slots["kind"] == "squared" else 3.0 if slots["kind"] == "cubed" else float(slots["e"])
        if abs(e) > 100 or abs(n) > 1e6:
            return "That number is too big to say."
        return f"{say_number(n)} {slots['kind']} is {say_number(n**e)}."

    def _convert(self, slots: dict[str, str], said: str) -> str:
        amount = _number(slots["n"])
        src, dst = slots["fr"], slots["to"]
        (dim_from, f_from), (dim_to, f_to) = _UNITS[src], _UNITS[dst]
        what = (slots.get("what") or "").strip()
        if dim_from == "temperature" or dim_to == "temperature":
            if dim_from != dim_to:
                return f"I can't turn {_plural(src, 2)} into {_plural(dst, 2)}."
            value = round(_temperature(amount, _SPOKEN.get(src, src), _SPOKEN.get(dst, dst)), 1)
            said = f"{say_number(amount)} degrees {_name(src).capitalize()}"
            return f"{said} is {say_number(value)} degrees {_name(dst).capitalize()}."
        if dim_from != dim_to:
            density = _DENSITY.get(what) or _DENSITY.get(what.removesuffix("s"))
            if density is None or {dim_from, dim_to} != {"volume", "mass"}:
                return "That depends on what it is: tell me, like 'how many grams in a cup of flour'."
            grams_per_ml = density / _UNITS["cup"][1]
            base = amount * f_from * (grams_per_ml if dim_from == "volume" else 1 / grams_per_ml)
        else:
            base = amount * f_from
        value = base / f_to
        of = f" of {what}" if what else ""
        return f"{_amount(amount, src)}{of} is {_amount(value, dst)}."

    def _until(self, slots: dict[str, str], said: str) -> str:
        today = self.clock().date()
        when, label = _date(slots, today)
        if when is None:
            return "I don't know that date."
        if when < today:
            when = when.replace(year=when.year + 1)
        days = (when - today).days
        if days == 0:
            return f"{label} is today!"
        return f"{days} day{'s' if days != 1 else ''} until {label}, on {WEEKDAYS[when.weekday()]}."

    def _weekday(self, slots: dict[str, str], said: str) -> str:
        today = self.clock().date()
        when, label = _date(slots, today)
        if when is None:
            return "I don't know that date."
        if "next year" in said:
            when = when.replace(year=when.year + 1)
        tense = "is" if when >= today else "was"
        return (
            f"{label} {tense} a {WEEKDAYS[when.weekday()]} this year."
            if "next year" not in said
            else f"{label} is a {WEEKDAYS[when.weekday()]} next year."
        )

    def _spell(self, slots: dict[str, str], said: str) -> str:
        word = slots["w"].strip()
        letters = "-".join(c.upper() for c in word if c.isalpha())
        return f"{word.capitalize()}: {letters}."


def _temperature(value: float, src: str, dst: str) -> float:
    celsius = {
        "celsius": value,
        "centigrade": value,
        "fahrenheit": (value - 32) * 5 / 9,
        "kelvin": value - 273.15,
    }[src]
    return {
        "celsius": celsius,
        "centigrade": celsius,
        "fahrenheit": celsius * 9 / 5 + 32,
        "kelvin": celsius + 273.15,
    }[dst]


def _name(unit: str) -> str:
    return _SPOKEN.get(unit, unit)


def _plural(unit: str, n: float) -> str:
    name = _name(unit)
    if n == 1:
        return name
    return {"foot": "feet", "inch": "inches", "fluid ounce": "fluid ounces"}.get(name, name + "s")


def _amount(value: float, unit: str) -> str:
    if value == 0.5:
        return f"half a {_name(unit)}"
    rounded = round(value) if value >= 100 else round(value, 1) if value >= 10 else round(value, 2)
    about = "about " if abs(rounded - value) > 1e-4 * max(1.0, abs(value)) else ""
    return f"{about}{say_number(rounded)} {_plural(unit, rounded)}"


def _date(slots: dict[str, str], today: date) -> tuple[date | None, str]:
    if "h" in slots:
        month, day = _HOLIDAYS[slots["h"]]
        label = slots["h"].title().replace("Valentines", "Valentine's").replace("Years", "Year's")
    else:
        month = MONTHS.index((slots.get("m1") or slots.get("m2") or "").capitalize()) + 1
        day = int(slots.get("d1") or slots.get("d2") or 0)
        label = f"{MONTHS[month - 1]} {day}"
    try:
        return date(today.year, month, day), label
    except ValueError:
        return None, label
