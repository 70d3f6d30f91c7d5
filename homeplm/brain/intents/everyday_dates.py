"""Days until a date ("how many days till Christmas", "how many weeks until the 3rd of March") and the
weekday of a date ("what day was the 4th of July 1976"), for the everyday intents.

The patterns read the intents' normal form: digits for number words ("twenty first" is "20 first",
"nineteen seventy six" is "19 76"), no apostrophes ("new year's eve" is "new year eve").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

from homeplm.brain.intents.clock_intents import MONTHS, WEEKDAYS

_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
             "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
             "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
             "nineteenth": 19, "twentieth": 20, "thirtieth": 30}  # fmt: skip
# The normal form of a holiday's name → (month, day, how it is said back).
_HOLIDAYS = {
    "christmas": (12, 25, "Christmas"), "christmas day": (12, 25, "Christmas Day"),
    "xmas": (12, 25, "Christmas"), "christmas eve": (12, 24, "Christmas Eve"),
    "new year": (1, 1, "New Year"), "new years": (1, 1, "New Year"),
    "new year day": (1, 1, "New Year's Day"), "new years day": (1, 1, "New Year's Day"),
    "new year eve": (12, 31, "New Year's Eve"), "new years eve": (12, 31, "New Year's Eve"),
    "halloween": (10, 31, "Halloween"), "valentine day": (2, 14, "Valentine's Day"),
    "valentines day": (2, 14, "Valentine's Day"), "valentines": (2, 14, "Valentine's Day"),
    "boxing day": (12, 26, "Boxing Day"), "st patrick day": (3, 17, "St Patrick's Day"),
    "st patricks day": (3, 17, "St Patrick's Day"), "saint patrick day": (3, 17, "St Patrick's Day"),
    "april fools day": (4, 1, "April Fools' Day"), "april fool day": (4, 1, "April Fools' Day"),
    "bonfire night": (11, 5, "Bonfire Night"), "guy fawkes night": (11, 5, "Bonfire Night"),
}  # fmt: skip
_ORD = "|".join(sorted(_ORDINALS, key=len, reverse=True))
_MONTH = "|".join(m.lower() for m in MONTHS)
_WEEKDAY = "|".join(d.lower() for d in WEEKDAYS)
_HOLIDAY = "|".join(sorted(_HOLIDAYS, key=len, reverse=True))


def _day(i: int) -> str:
    return rf"(?:(?P<d{i}>\d{{1,2}})(?:st|nd|rd|th)?|(?P<o{i}>(?:20 |30 )?(?:{_ORD})))"


DATE = (
    rf"(?:the )?(?:{_day(1)} (?:of )?(?P<m1>{_MONTH})|(?P<m2>{_MONTH}) (?:the )?{_day(2)}|(?P<h>{_HOLIDAY}))"
    r"(?:,? (?:in )?(?P<y>\d{4}|\d{2} \d{2}))?"
)
_SOME = "is it|is there|are there|are left|left|to go|have we got|do we have|do i have|remaining|more"
UNTIL = re.compile(
    rf"^(?:how many (?:more )?(?P<unit>day|week|sleeps|sleep)|how long|(?P<unit2>day|week)|countdown)"
    rf"(?: (?:{_SOME}))? (?:until|till|til|to|before) (?:{DATE}|(?P<wd>{_WEEKDAY}))(?: left| to go)?$"
)
SINCE = re.compile(
    rf"^(?:how many (?P<unit>day|week)|how long)(?: (?:has it been|is it|have passed|has passed|was it))?"
    rf" since {DATE}$"
)
WEEKDAY = re.compile(
    rf"^(?:what|which) day(?: of the week)? (?:is|was|will|does|did|falls on|fell on)(?: it)? {DATE}"
    r"(?: (?P<rel>this|next|last) year)?(?: (?:be|be on|fall|fall on|land|land on|on))?"
    r"(?: (?P<rel2>this|next|last) year)?$"
)


def _resolve(slots: Mapping[str, str], year: int) -> tuple[int, int, str]:
    """(month, day, label) of a matched date; the day 0 when it is not a day at all."""
    if "h" in slots:
        month, day, label = _HOLIDAYS[slots["h"]]
        return month, day, label
    month = MONTHS.index((slots.get("m1") or slots.get("m2") or "").capitalize()) + 1
    if said := slots.get("o1") or slots.get("o2"):
        *tens, word = said.split()
        day = int(tens[0]) + _ORDINALS[word] if tens else _ORDINALS[word]
    else:
        day = int(slots.get("d1") or slots.get("d2") or 0)
    return month, day, f"{MONTHS[month - 1]} {day}"


def _year(slots: Mapping[str, str]) -> int | None:
    said = slots.get("y")
    return int(said.replace(" ", "")) if said else None


def _make(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _count(days: int, unit: str) -> str:
    if unit == "week" and days >= 7:
        weeks, rest = divmod(days, 7)
        spoken = f"{weeks:,} week{'s' if weeks != 1 else ''}"
        return spoken + (f" and {rest} day{'s' if rest != 1 else ''}" if rest else "")
    word = "sleep" if unit.startswith("sleep") else "day"
    return f"{days:,} {word}{'s' if days != 1 else ''}"


def _dated(slots: Mapping[str, str], today: date, *, ahead: bool) -> tuple[date | None, str]:
    """The date asked about and how to say it: with its year when one was said, else the next one
    (this year's or a later one's: a 29th of February is the next leap year's), or the last one."""
    month, day, label = _resolve(slots, today.year)
    year = _year(slots)
    if year is not None:
        return _make(year, month, day), f"{label}, {year}" if "h" not in slots else f"{label} {year}"
    step = 1 if ahead else -1
    years = (_make(today.year + step * y, month, day) for y in range(9))
    return next((d for d in years if d and (d >= today if ahead else d <= today)), None), label


def until(slots: Mapping[str, str], today: date) -> str:
    unit = slots.get("unit") or slots.get("unit2") or "day"
    if "wd" in slots:
        weekday = [d.lower() for d in WEEKDAYS].index(slots["wd"])
        days = (weekday - today.weekday()) % 7 or 7
        return f"{_count(days, unit)} until {WEEKDAYS[weekday]}."
    when, label = _dated(slots, today, ahead=True)
    if when is None:
        return f"There's no {label}."
    days = (when - today).days
    if days == 0:
        return f"{label} is today!"
    if days < 0:
        return f"{label} was {_count(-days, unit)} ago."
    return f"{_count(days, unit)} until {label}, on {WEEKDAYS[when.weekday()]}."


def since(slots: Mapping[str, str], today: date) -> str:
    when, label = _dated(slots, today, ahead=False)
    if when is None:
        return f"There's no {label}."
    days = (today - when).days
    if days == 0:
        return f"{label} is today!"
    if days < 0:
        return f"{label} is still {_count(-days, 'day')} away."
    return f"{_count(days, slots.get('unit') or 'day')} since {label}."


def weekday(slots: Mapping[str, str], today: date) -> str:
    month, day, label = _resolve(slots, today.year)
    year, rel = _year(slots), slots.get("rel") or slots.get("rel2") or ""
    if year is not None:
        when = _make(year, month, day)
        label = f"{label}, {year}" if "h" not in slots else f"{label} {year}"
    else:
        year = today.year + {"next": 1, "last": -1}.get(rel, 0)
        when = _make(year, month, day)
    if when is None:
        return f"There's no {label} in {year}." if month == 2 and day == 29 else f"There's no {label}."
    tense = "is" if when >= today else "was"
    if _year(slots) is not None:
        return f"{label} {tense} a {WEEKDAYS[when.weekday()]}."
    return f"{label} {tense} a {WEEKDAYS[when.weekday()]} {rel or 'this'} year."
