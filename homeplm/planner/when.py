"""Durations and times as people say them, read from the intents' normalised text.

"12 minute", "an hour and a half", "a minute and a half", "half an hour", "1 hour 20 minute";
"7", "7 am", "6:30", "19:30", "a quarter past 7", "half past 6", "10 to 8", "noon", "midnight";
"today", "tonight", "tomorrow (morning)", "on saturday", "every weekday", "every day".

Times are resolved in the house's time zone (`zoneinfo`), by wall clock: "every weekday at 7" stays
7 o'clock across a daylight-saving change, and a time that does not exist that night (02:30 when the
clocks go forward) moves to the first minute that does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_COUNT = r"(?:\d+(?:\.\d+)?|an?|one|a couple of|a few)"
_PART = rf"(?P<count>{_COUNT})(?P<half1> and a half)? (?P<unit>second|minute|hour|day)(?P<half> and a half)?"
_PART_RE = re.compile(_PART)
_FRACTIONS = {
    "half an hour": 1800, "half a minute": 30, "a half hour": 1800, "a quarter of an hour": 900,
    "quarter of an hour": 900, "quarter hour": 900, "three quarters of an hour": 2700,
    "half a day": 43200, "3 quarters of an hour": 2700, "3 quarter of an hour": 2700,
}  # fmt: skip
_DURATION = re.compile(
    "(?:"
    + "|".join(sorted(_FRACTIONS, key=len, reverse=True))
    + rf"|{_PART}(?: (?:and )?{_PART.replace('?P<', '?P<x')})*)"
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_PARTS_OF_DAY = {"morning": 9, "afternoon": 15, "evening": 18, "tonight": 20, "night": 20}


@dataclass(frozen=True, slots=True)
class Span:
    """Where in the text something was found, so the rest can be read (a timer's name, a reminder)."""

    start: int
    end: int


def duration(text: str) -> tuple[float, Span] | None:
    """The first duration in `text` in seconds, and where it was; None when there is none."""
    found = _DURATION.search(text)
    if found is None:
        return None
    phrase = found.group()
    if phrase in _FRACTIONS:
        return float(_FRACTIONS[phrase]), Span(found.start(), found.end())
    total = 0.0
    for part in _PART_RE.finditer(phrase):
        count = _count(part["count"])
        unit = UNITS[part["unit"]]
        total += count * unit + (unit / 2 if part["half"] or part["half1"] else 0)
    return (total, Span(found.start(), found.end())) if total > 0 else None


def _count(word: str) -> float:
    return {"a": 1.0, "an": 1.0, "one": 1.0, "a couple of": 2.0, "a few": 3.0}.get(word) or float(word)


def say_duration(seconds: float) -> str:
    """12 minutes 30 seconds → "12 minutes and 30 seconds"; rounded to what people say."""
    seconds = round(seconds)
    if seconds < 60:
        return _plural(seconds, "second")
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours and secs >= 30:
        minutes += 1
    parts = [_plural(hours, "hour")] if hours else []
    parts += [_plural(minutes, "minute")] if minutes else []
    parts += [_plural(secs, "second")] if secs and not hours and (minutes < 10 or secs == 30) else []
    return " and ".join(parts) if len(parts) <= 2 else f"{parts[0]}, {parts[1]} and {parts[2]}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# -- times of day ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClockTime:
    """A time of day as said: `meridiem` is "am", "pm" or None when it was left open ("at 7")."""

    hour: int
    minute: int
    meridiem: str | None
    span: Span


_CLOCK = re.compile(
    r"(?P<noon>noon|midday|midnight)"
    r"|(?P<quarter>a quarter|quarter|half|\d{1,2}) (?P<rel>past|to|after) (?P<h1>\d{1,2})"
    r"|(?P<h2>\d{1,2})(?:[:.](?P<m2>\d{2}))?(?: ?(?P<mer>am|pm|a m|p m|oclock|in the morning|in the evening"
    r"|in the afternoon|at night|tonight))?"
)


def clock_time(text: str) -> ClockTime | None:
    """The first time of day in `text` ("at 7", "half past 6", "19:30", "noon")."""
    for found in _CLOCK.finditer(text):
        span = Span(found.start(), found.end())
        if found["noon"]:
            return ClockTime(
                0 if found["noon"] == "midnight" else 12,
                0,
                "pm" if found["noon"] != "midnight" else "am",
                span,
            )
        if found["rel"]:
            hour = int(found["h1"])
            minutes = {"a quarter": 15, "quarter": 15, "half": 30}.get(found["quarter"]) or int(
                found["quarter"]
            )
            if not (0 <= hour <= 23 and 0 < minutes < 60):
                continue
            if found["rel"] == "to":
                hour, minutes = (hour - 1) % 24, 60 - minutes
            return ClockTime(hour, minutes, None if hour <= 12 else "pm", span)
        hour, minute = int(found["h2"]), int(found["m2"] or 0)
        if hour > 23 or minute > 59:
            continue
        mer = (found["mer"] or "").replace(" ", "")
        if not found["m2"] and not mer and not _after_at(text, found.start()):
            continue  # a bare number not introduced by "at": a count, not a time
        meridiem = {"am": "am", "pm": "pm", "inthemorning": "am", "intheevening": "pm",
                    "intheafternoon": "pm", "atnight": "pm", "tonight": "pm"}.get(mer)  # fmt: skip
        if hour == 0 or hour > 12:
            meridiem = None if hour > 12 else "am"
        return ClockTime(hour, minute, meridiem, span)
    return None


def _after_at(text: str, start: int) -> bool:
    return text[:start].rstrip().endswith(("at", "for", "until", "till", "by", "to"))


def hour24(t: ClockTime, meridiem: str) -> int:
    """The 24-hour hour of `t`, with `meridiem` used when it was left open."""
    if t.hour > 12 or t.hour == 0:
        return t.hour
    m = t.meridiem or meridiem
    if m == "pm":
        return t.hour if t.hour == 12 else t.hour + 12
    return 0 if t.hour == 12 and t.meridiem == "am" else t.hour


# -- days ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DaySpec:
    """Which day(s): a date offset ("tomorrow" = 1), a weekday, or a repeat rule."""

    offset: int | None = None
    weekday: int | None = None  # 0 = Monday
    repeat: tuple[int, ...] = ()  # weekdays it repeats on (every day: all seven)
    part: str | None = None  # morning, afternoon, evening, tonight
    span: Span | None = None


_DAY = re.compile(
    r"(?P<every>every (?:day|weekday|week day|weekend|morning|night|(?P<ewd>" + "|".join(WEEKDAYS) + r")))"
    r"|(?P<weekdays>on weekdays|weekdays|on weekends|weekends)"
    r"|(?P<rel>today|tonight|tomorrow|the day after tomorrow)(?: (?P<part>morning|afternoon|evening|night))?"
    r"|(?:on |this |next )?(?P<wd>"
    + "|".join(WEEKDAYS)
    + r")(?: (?P<wpart>morning|afternoon|evening|night))?"
    r"|(?:this |in the )(?P<part2>morning|afternoon|evening)"
)


def day_spec(text: str) -> DaySpec | None:
    found = _DAY.search(text)
    if found is None:
        return None
    span = Span(found.start(), found.end())
    if found["every"] or found["weekdays"]:
        word = found["every"] or found["weekdays"]
        if found["ewd"]:
            return DaySpec(repeat=(WEEKDAYS.index(found["ewd"]),), span=span)
        if "weekend" in word:
            return DaySpec(repeat=(5, 6), span=span)
        if "weekday" in word or "week day" in word:
            return DaySpec(repeat=(0, 1, 2, 3, 4), span=span)
        part = "morning" if "morning" in word else ("night" if "night" in word else None)
        return DaySpec(repeat=tuple(range(7)), part=part, span=span)
    if found["rel"]:
        rel = found["rel"]
        offset = {"today": 0, "tonight": 0, "tomorrow": 1, "the day after tomorrow": 2}[rel]
        part = found["part"] or ("tonight" if rel == "tonight" else None)
        return DaySpec(offset=offset, part=part, span=span)
    if found["wd"]:
        return DaySpec(weekday=WEEKDAYS.index(found["wd"]), part=found["wpart"], span=span)
    return DaySpec(offset=0, part=found["part2"], span=span)


# -- putting it together -------------------------------------------------------------------------


def at_local(day: date, hour: int, minute: int, zone: tzinfo) -> datetime:
    """`day` at hour:minute on the wall clock of `zone`; a time the clocks skip moves forward."""
    naive = datetime.combine(day, time(hour, minute))
    local = naive.replace(tzinfo=zone)
    roundtrip = local.astimezone(UTC).astimezone(zone)  # a skipped time comes back shifted
    if roundtrip.replace(tzinfo=None) != naive:
        return roundtrip  # the first valid moment after the gap
    return local


def next_time(
    now: datetime,
    clock: ClockTime | None,
    day: DaySpec | None,
    *,
    kind: str,
    default_hour: int = 9,
) -> datetime | None:
    """The next moment meant by `clock` on `day`, after `now` (aware, in the house's zone).

    An open "at 7" is 7 am for an alarm, and for a reminder the next 7 o'clock (am or pm) to come.
    "tomorrow morning" without a time is `default_hour` (or the part of the day's usual hour)."""
    zone = now.tzinfo
    assert zone is not None, "now must be aware"
    if clock is None:
        if day is None:
            return None
        hour, minute = _PARTS_OF_DAY.get(day.part or "", default_hour), 0
        options = [hour]
    else:
        minute = clock.minute
        if clock.meridiem or clock.hour > 12 or clock.hour == 0 or kind == "alarm":
            meridiem = clock.meridiem or (
                "pm" if day is not None and day.part in ("evening", "tonight", "night") else "am"
            )
            if day is not None and day.part == "afternoon" and not clock.meridiem:
                meridiem = "pm"
            options = [hour24(clock, meridiem)]
        else:
            options = [hour24(clock, "am"), hour24(clock, "pm")]
            if day is not None and day.part in ("evening", "tonight", "night", "afternoon"):
                options = [hour24(clock, "pm")]
            elif day is not None and day.part == "morning":
                options = [hour24(clock, "am")]
        hour = options[0]
    candidates = []
    for h in options:
        for offset in range(0, 8):
            d = now.date() + timedelta(days=offset)
            if day is not None and not _day_matches(day, d, now.date()):
                continue
            when = at_local(d, h, minute, zone)
            if when > now:
                candidates.append(when)
                break
    return min(candidates) if candidates else None


def _day_matches(day: DaySpec, d: date, today: date) -> bool:
    if day.repeat:
        return d.weekday() in day.repeat
    if day.weekday is not None:
        return d.weekday() == day.weekday
    return (d - today).days == (day.offset or 0)


def say_time(when: datetime, now: datetime) -> str:
    """ "7 am tomorrow", "6:30 pm", "9 am on Saturday": how the confirmation says it back."""
    hour = when.hour % 12 or 12
    clock = f"{hour}:{when.minute:02d}" if when.minute else f"{hour}"
    text = f"{clock} {'am' if when.hour < 12 else 'pm'}"
    if when.hour == 12 and when.minute == 0:
        text = "noon"
    elif when.hour == 0 and when.minute == 0:
        text = "midnight"
    days = (when.date() - now.date()).days
    if days == 0:
        return text
    if days == 1:
        return f"{text} tomorrow"
    return f"{text} on {WEEKDAYS[when.weekday()].capitalize()}"
