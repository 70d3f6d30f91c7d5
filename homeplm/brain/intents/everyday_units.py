"""Numbers as a voice says them, kitchen amounts ("a cup and a half", "3/4 cup") and unit conversion:
cups, spoons, ounces, grams, pounds, °F/°C, miles and kilometres, for the everyday intents.

Everything here works on the intents' normal form (tests/test_everyday.py lists what people say):
digits for number words, "degrees" → "degree", and the symbols the recogniser writes ("3/4", "-40",
"20%") already turned into words by `everyday.spoken_symbols`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

NUM = r"(?:minus )?\d+(?:\.\d+)?"

# Fraction words → the denominator ("two thirds" is 2 × 1/3).
FRACTIONS = {"half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4, "fourth": 4,
             "fourths": 4, "fifth": 5, "fifths": 5, "sixth": 6, "sixths": 6, "eighth": 8, "eighths": 8,
             "tenth": 10, "tenths": 10}  # fmt: skip
_KITCHEN_FRACTIONS = "half|halves|third|thirds|quarter|quarters|fourth|fourths|eighth|eighths"
_ALL_FRACTIONS = "|".join(sorted(FRACTIONS, key=len, reverse=True))
# "a third", "2 thirds", "3 over 4" (the recogniser's "3/4"); never a whole number alone.
FRACTION = rf"(?:(?:a |an |1 |{NUM} )?(?:{_ALL_FRACTIONS})|{NUM} over {NUM})"
# An amount of a unit: "2", "a", "half a", "a quarter of a", "3 quarters of a", "1 and a half", "1 1 over 2".
AMOUNT = (
    rf"(?:{NUM} and (?:a |an |{NUM} )(?:{_KITCHEN_FRACTIONS})|(?:{NUM} )?{NUM} over {NUM}"
    rf"|(?:a |an |{NUM} )?(?:{_KITCHEN_FRACTIONS})(?: of)?(?: a| an)?|a half|a|an|{NUM})"
)

# name: (dimension, size in the base unit (ml, g, m), other words for it, the plural).
_TABLE: dict[str, tuple[str, float, str, str]] = {
    "milliliter": ("volume", 1.0, "milliliters millilitre millilitres ml mls", ""),
    "liter": ("volume", 1000.0, "liters litre litres", ""),
    "cup": ("volume", 236.588, "cups", ""),
    "tablespoon": ("volume", 14.7868, "tablespoons tablespoonful tbsp tbsps", ""),
    "teaspoon": ("volume", 4.92892, "teaspoons teaspoonful tsp tsps", ""),
    "fluid ounce": ("volume", 29.5735, "fluid_ounces fl_oz", "fluid ounces"),
    "pint": ("volume", 473.176, "pints", ""),
    "quart": ("volume", 946.353, "quarts", ""),
    "gallon": ("volume", 3785.41, "gallons", ""),
    "stick": ("volume", 118.294, "sticks", ""),  # of butter: half a cup
    "gram": ("mass", 1.0, "grams gramme grammes g", ""),
    "kilogram": ("mass", 1000.0, "kilograms kilo kilos kg kgs", ""),
    "ounce": ("mass", 28.3495, "ounces oz", ""),
    "pound": ("mass", 453.592, "pounds lb lbs", ""),
    "stone": ("mass", 6350.29, "stones", "stone"),
    "millimeter": ("length", 0.001, "millimeters millimetre millimetres mm", ""),
    "centimeter": ("length", 0.01, "centimeters centimetre centimetres cm", ""),
    "meter": ("length", 1.0, "meters metre metres", ""),
    "kilometer": ("length", 1000.0, "kilometers kilometre kilometres km kms", ""),
    "inch": ("length", 0.0254, "inches", "inches"),
    "foot": ("length", 0.3048, "feet ft", "feet"),
    "yard": ("length", 0.9144, "yards", ""),
    "mile": ("length", 1609.344, "miles", ""),
    "Celsius": ("temperature", 0.0, "celsius centigrade c", "Celsius"),
    "Fahrenheit": ("temperature", 0.0, "fahrenheit f", "Fahrenheit"),
    "Kelvin": ("temperature", 0.0, "kelvin kelvins", "Kelvin"),
}
# Other words for a unit are separated by spaces; "_" stands for a space inside one ("fl_oz").
_FORMS = {
    form.replace("_", " "): name for name, row in _TABLE.items() for form in (name.lower(), *row[2].split())
}
# "degree" alone is a temperature in the other scale ("what is 21 degrees in Fahrenheit").
_UNIT_WORDS = "|".join(sorted(map(re.escape, _FORMS), key=len, reverse=True))
_SCALES = "|".join(sorted((f for f, u in _FORMS.items() if _TABLE[u][0] == "temperature"), key=len)[::-1])
UNIT = rf"(?:degree (?:{_SCALES})|{_UNIT_WORDS}|degree)"
KITCHEN = frozenset({"cup", "tablespoon", "teaspoon", "stick"})

# Grams per US cup of what people measure by the cup (for "how many grams in a cup of flour").
_DENSITY = {"flour": 125.0, "plain flour": 125.0, "all purpose flour": 125.0, "self raising flour": 125.0,
            "self rising flour": 125.0, "bread flour": 130.0, "sugar": 200.0, "white sugar": 200.0,
            "granulated sugar": 200.0, "caster sugar": 200.0, "brown sugar": 220.0, "icing sugar": 120.0,
            "powdered sugar": 120.0, "butter": 226.8, "rice": 185.0, "water": 236.588, "milk": 245.0,
            "oats": 90.0, "rolled oats": 90.0, "honey": 340.0, "cocoa": 85.0, "cocoa powder": 85.0,
            "salt": 288.0, "oil": 218.0, "olive oil": 216.0, "vegetable oil": 218.0, "cream": 240.0,
            "yogurt": 245.0, "yoghurt": 245.0}  # fmt: skip
_LIQUIDS = frozenset({"water", "milk", "oil", "olive oil", "vegetable oil", "cream"})
# An ingredient: up to three words, none of them the sentence's own ("of milk in a cup").
_GLUE = r"(?!(?:in|into|is|are|to|per|make|makes|do|does|there|a|an|of|weigh|as|go|fit)\b)[a-z]+"
WHAT = rf"{_GLUE}(?: {_GLUE}){{0,2}}"
_WHAT = rf"(?: of (?P<what>{WHAT}))?"
_WHAT2 = rf"(?: of (?P<what2>{WHAT}))?"
CONVERT = [
    # "how many grams in a cup of flour", "how many tablespoons make a cup", "how many km is 5 miles"
    re.compile(
        rf"^how (?:many|much) (?P<to>{UNIT}){_WHAT} (?:(?:are|is|do you get|go|does it take|fit|make"
        rf"|are there|is there|there|does) )?(?:in |into |to |per |make |makes )?(?:(?P<n>{AMOUNT}) )?"
        rf"(?P<fr>{UNIT}){_WHAT2}$"
    ),
    # "convert 2 cups to ml", "what is 200 grams of flour in cups", "350 f in c", "3 over 4 cup in ml"
    re.compile(
        rf"^(?:convert |change |what is |how much is |what are |how far is |how long is |how heavy is "
        rf"|what temperature is |how hot is )?"
        rf"(?P<n>{AMOUNT}) (?P<fr>{UNIT}){_WHAT} (?:in|to|into|as|in to) (?P<to>{UNIT}){_WHAT2}$"
    ),
    # "how much does a cup of flour weigh"
    re.compile(
        rf"^(?:how much|what) (?:does|do) (?P<n>{AMOUNT}) (?P<fr>{UNIT}) of (?P<what>{WHAT}) weigh"
        rf"(?: in (?P<to>{UNIT}))?$"
    ),
]
# "a cup and a half" → "1 and a half cup": the amount before its unit, as the grammar above reads it.
_AND_A_HALF = re.compile(rf"\b(a|an|\d+(?:\.\d+)?) ({_UNIT_WORDS}) and a (half|quarter)\b")


def tidy_amounts(n: str) -> str:
    return _AND_A_HALF.sub(lambda m: f"{'1' if m[1] in ('a', 'an') else m[1]} and a {m[3]} {m[2]}", n)


def say_number(value: float) -> str:
    """63, 2.5, 0.333, 1,234 — as a voice would read it (never "63.0")."""
    if math.isinf(value) or math.isnan(value):
        return "not a number"
    if value < 0 and round(value, 3) != 0:
        return "minus " + say_number(-value)
    if abs(value - round(value)) < 1e-9 * max(1.0, abs(value)):
        return f"{round(value):,}"
    digits = 2 if abs(value) >= 1 else 3
    return f"{value:,.{digits}f}".rstrip("0").rstrip(".")


def is_rounded(value: float, said: float) -> bool:
    return abs(said - value) > 1e-9 * max(1.0, abs(value))


def said_value(value: float) -> float:
    """The value `say_number` reads out."""
    if abs(value - round(value)) < 1e-9 * max(1.0, abs(value)):
        return float(round(value))
    return round(value, 2 if abs(value) >= 1 else 3)


def number(tokens: list[str]) -> float:
    """ "minus 40" → -40.0."""
    if tokens and tokens[0] == "minus":
        return -number(tokens[1:])
    return float(tokens[0])


def amount_value(text: str) -> float:
    """ "1 and a half" → 1.5, "3 over 4" → 0.75, "a quarter of a" → 0.25, "half a" → 0.5, "a" → 1."""
    words = text.split()
    if "and" in words:
        i = words.index("and")
        return amount_value(" ".join(words[:i])) + amount_value(" ".join(words[i + 1 :]))
    words = [w for w in words if w != "of"]
    if len(words) > 1 and words[-1] in ("a", "an"):
        words = words[:-1]
    if "over" in words:
        i = words.index("over")
        whole = number(words[: i - 1]) if i > 1 else 0.0
        return whole + number(words[i - 1 : i]) / number(words[i + 1 :])
    if words[-1] in FRACTIONS:
        count = 1.0 if words[:-1] in ([], ["a"], ["an"]) else number(words[:-1])
        return count / FRACTIONS[words[-1]]
    if words in (["a"], ["an"]):
        return 1.0
    return number(words)


# Kitchen fractions as said: the whole part in digits, the rest in words.
_PARTS = {1 / 8: "an eighth", 1 / 4: "a quarter", 1 / 3: "a third", 1 / 2: "a half", 2 / 3: "two thirds",
          3 / 4: "three quarters"}  # fmt: skip


def _fraction_part(value: float) -> tuple[int, str] | None:
    whole = math.floor(value + 1e-9)
    rest = value - whole
    if rest < 1e-9:
        return whole, ""
    for part, words in _PARTS.items():
        if abs(rest - part) < 1e-6:
            return whole, words
    return None


def unit_name(unit: str) -> str:
    return _FORMS.get(unit.removeprefix("degree "), unit)


def plural(unit: str, n: float) -> str:
    name = unit_name(unit)
    if n == 1:
        return name
    return (_TABLE[name][3] if name in _TABLE else "") or name + "s"


def _article(name: str) -> str:
    return "an" if name[0] in "aeiou" else "a"


def say_amount(value: float, unit: str) -> str:
    """ "half a cup", "1 and a half cups", "three quarters of a cup", "2 cups", "1.3 miles"."""
    name = unit_name(unit)
    parts = _fraction_part(value)
    if parts is None or value > 100:
        return f"{say_number(value)} {plural(name, said_value(value))}"
    whole, words = parts
    if not words:
        return f"{whole:,} {plural(name, whole)}"
    if whole:
        return f"{whole:,} and {words} {plural(name, 2)}"
    if words == "a half":
        return f"half {_article(name)} {name}"
    return f"{words} of {_article(name)} {name}"


def say_result(value: float, unit: str) -> str:
    """A converted amount, rounded for a kitchen or a road, with "about" when it was rounded:
    spoons and cups to the nearest quarter or third when that is within 2 %, else 3 figures or so."""
    name = unit_name(unit)
    if name in KITCHEN and 0.2 <= value < 20:
        nearest = min((round(value * k) / k for k in (4, 3)), key=lambda v: abs(v - value))
        if abs(nearest - value) <= 0.02 * value:
            about = "about " if abs(nearest - value) > 1e-4 * value else ""
            return about + say_amount(nearest, name)
    if value >= 100:
        rounded = float(round(value))
    elif value >= 1:
        rounded = round(value, 1)
    else:
        rounded = round(value, 2) or float(f"{value:.1g}")
    about = "about " if abs(rounded - value) > 1e-4 * max(1.0, abs(value)) else ""
    return f"{about}{say_number(rounded)} {plural(name, rounded)}"


def convert_slots(m: re.Match[str]) -> dict[str, str] | None:
    """The slots of a conversion the house can answer; None sends it on to the language model (an
    unknown ingredient weighed by the cup: "how many grams in a cup of coffee beans")."""
    slots = {k: v for k, v in m.groupdict().items() if v}
    slots.setdefault("to", "gram")
    if "what2" in slots:
        if "what" in slots:
            return None
        slots["what"] = slots.pop("what2")
    src, dst = slots["fr"], slots["to"]
    if "degree" in (src, dst):
        other = unit_name(dst if src == "degree" else src)
        if other == "degree" or _TABLE[other][0] != "temperature":
            return None
        guess = "Fahrenheit" if other in ("Celsius", "Kelvin") else "Celsius"
        slots["fr" if src == "degree" else "to"] = guess
    dims = {_TABLE[unit_name(slots["fr"])][0], _TABLE[unit_name(slots["to"])][0]}
    if "what" in slots and dims == {"volume", "mass"} and density(slots["what"]) is None:
        return None
    return slots


def density(what: str) -> float | None:
    return _DENSITY.get(what) or _DENSITY.get(what.removesuffix("s"))


def convert(slots: Mapping[str, str]) -> str:
    amount = amount_value(slots.get("n", "a"))
    src, dst = unit_name(slots["fr"]), unit_name(slots["to"])
    (dim_from, f_from, *_), (dim_to, f_to, *_) = _TABLE[src], _TABLE[dst]
    what = slots.get("what", "")
    if "temperature" in (dim_from, dim_to):
        if dim_from != dim_to:
            return f"I can't turn {plural(src, 2)} into {plural(dst, 2)}."
        value = _temperature(amount, src, dst)
        value = round(value + math.copysign(1e-9, value), 1)  # 373.15 → 373.2, not 373.1
        return f"{_degrees(amount, src)} is {_degrees(value, dst)}."
    if dim_from != dim_to and "ounce" in (src, dst) and (density(what) is None or what in _LIQUIDS):
        # "how many ounces in a cup", "ounces of milk": fluid ounces, as a measuring jug has them
        src, dst = ("fluid ounce", dst) if src == "ounce" else (src, "fluid ounce")
        (dim_from, f_from, *_), (dim_to, f_to, *_) = _TABLE[src], _TABLE[dst]
    if dim_from != dim_to:
        grams_per_cup = density(what)
        if {dim_from, dim_to} != {"volume", "mass"}:
            return f"I can't turn {plural(src, 2)} into {plural(dst, 2)}."
        if grams_per_cup is None:
            return "That depends on what it is: tell me, like how many grams in a cup of flour."
        grams_per_ml = grams_per_cup / _TABLE["cup"][1]
        base = amount * f_from * (grams_per_ml if dim_from == "volume" else 1 / grams_per_ml)
    else:
        base = amount * f_from
    of = f" of {what}" if what else ""
    return f"{say_amount(amount, src)}{of} is {say_result(base / f_to, dst)}."


def _degrees(value: float, scale: str) -> str:
    return f"{say_number(value)} degree{'' if value == 1 else 's'} {scale}"


def _temperature(value: float, src: str, dst: str) -> float:
    celsius = {"Celsius": value, "Fahrenheit": (value - 32) * 5 / 9, "Kelvin": value - 273.15}[src]
    return {"Celsius": celsius, "Fahrenheit": celsius * 9 / 5 + 32, "Kelvin": celsius + 273.15}[dst]
