"""The weather as Home Assistant's weather entity publishes it, said aloud: now ("It's cloudy and 12
degrees outside, feels like 9."), a day of the forecast, and whether it will rain.

Home Assistant's conditions and attribute names (temperature, apparent_temperature, humidity,
wind_speed, wind_bearing, *_unit; a forecast's datetime, condition, temperature, templow,
precipitation, precipitation_probability). Only what the entity says is said.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from homeplm.brain.intents.clock_intents import WEEKDAYS
from homeplm.house.statestream import Attribute, ForecastEntry

NO_FORECAST = (
    "Home Assistant doesn't share a forecast with me (a template sensor with a forecast attribute would)"
)
_NOW_WORDS = {  # a condition as said now: "It's ___ and 12 degrees outside."
    "clear-night": "a clear night", "partlycloudy": "partly cloudy", "fog": "foggy", "hail": "hailing",
    "lightning": "thundery", "lightning-rainy": "stormy", "rainy": "raining", "snowy": "snowing",
    "snowy-rainy": "sleeting", "windy-variant": "windy with clouds", "exceptional": "exceptional weather",
}  # fmt: skip
_DAY_WORDS = {  # a day's outlook: "Tomorrow looks ___"
    "clear-night": "clear", "partlycloudy": "partly cloudy", "fog": "foggy", "hail": "stormy, with hail",
    "lightning": "stormy", "lightning-rainy": "stormy", "pouring": "very wet", "windy-variant": "windy",
}  # fmt: skip
WET = frozenset({"rainy", "pouring", "lightning-rainy", "snowy-rainy", "hail"})
SKIES = {
    "rain": WET, "snow": frozenset({"snowy", "snowy-rainy"}), "hail": frozenset({"hail"}),
    "storm": frozenset({"lightning", "lightning-rainy", "hail"}), "sunny": frozenset({"sunny"}),
    "clear": frozenset({"sunny", "clear-night"}), "overcast": frozenset({"cloudy"}),
    "cloudy": frozenset({"cloudy", "partlycloudy", "windy-variant"}),
    "windy": frozenset({"windy", "windy-variant"}), "foggy": frozenset({"fog"}), "misty": frozenset({"fog"}),
}  # fmt: skip
_UNITS = {"km/h": "kilometers an hour", "mph": "miles an hour", "m/s": "meters a second", "kn": "knots",
          "ft/s": "feet a second", "mm": "millimeters", "in": "inches", "cm": "centimeters"}  # fmt: skip
_COMPASS = ("north", "northeast", "east", "southeast", "south", "southwest", "west", "northwest")


@dataclass(frozen=True, slots=True)
class Day:
    """A day's forecast, summed up from its entries (one daily, two twice-daily, or hourly)."""

    condition: str | None
    high: float | None
    low: float | None
    chance: float | None  # precipitation probability in percent: the highest of the day's entries
    amount: float | None  # precipitation: the day's entries added up


def moment(value: Attribute | None, zone: tzinfo | None) -> datetime | None:
    """An ISO 8601 time (the sun's and forecasts', in UTC) or a local "YYYY-MM-DD HH:MM:SS" (a
    calendar's), in the house's zone; None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone) if zone is not None else parsed.astimezone()
    return parsed.astimezone(zone)


def number(value: Attribute | None) -> float | None:
    return value if isinstance(value, float) else None


def say(value: float, digits: int = 0) -> str:
    """A number as a voice reads it: "12", "4.1", "minus 3" (never "12.0")."""
    rounded = round(value, digits) + 0.0  # no "-0"
    return f"minus {-rounded:g}" if rounded < 0 else f"{rounded:g}"


def whole(value: float | None) -> str:
    """A temperature or percentage as said: rounded, "minus 3"."""
    return say(value or 0.0)


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def missing(what: str) -> str:
    return f"Home Assistant's weather doesn't say the {what}."


def day_label(day: date, now: datetime) -> str:
    ahead = (day - now.date()).days
    return "today" if ahead == 0 else "tomorrow" if ahead == 1 else WEEKDAYS[day.weekday()]


def now_line(condition: str, attrs: Mapping[str, Attribute], *, temperature_only: bool = False) -> str:
    """ "It's cloudy and 12 degrees outside, feels like 9." """
    temp, feels = number(attrs.get("temperature")), number(attrs.get("apparent_temperature"))
    said = _NOW_WORDS.get(condition, condition.replace("-", " ").replace("_", " "))
    if temp is None:
        return f"It's {said} outside."
    degrees = f"{whole(temp)} degree{'' if round(temp) in (1, -1) else 's'}"
    feel = f", feels like {whole(feels)}" if feels is not None and round(feels) != round(temp) else ""
    if temperature_only or not said:
        return f"It's {degrees} outside{feel}."
    return f"It's {said} and {degrees} outside{feel}."


def yes_no_now(what: str, condition: str, line: str) -> str:
    """ "is it raining?" → "Yes, it's raining and 8 degrees outside." from the condition now."""
    if what == "dry":
        yes = condition not in WET and condition not in SKIES["snow"]
    elif what in SKIES:
        yes = condition in SKIES[what]
    else:
        return line
    return f"{'Yes' if yes else 'No'}, {line[:1].lower()}{line[1:]}"


def wind(attrs: Mapping[str, Attribute]) -> str:
    speed, bearing = number(attrs.get("wind_speed")), attrs.get("wind_bearing")
    if speed is None:
        return missing("wind")
    unit = attrs.get("wind_speed_unit")
    spoken = _UNITS.get(unit, unit) if isinstance(unit, str) else "kilometers an hour"
    if isinstance(bearing, float):
        bearing = _COMPASS[round(bearing % 360 / 45) % 8]
    frm = f" from the {bearing.lower()}" if isinstance(bearing, str) and bearing else ""
    return f"The wind is {whole(speed)} {spoken}{frm}."


def by_day(entries: Sequence[ForecastEntry], now: datetime, zone: tzinfo | None) -> dict[date, Day]:
    """Entries grouped by local day from today on (hourly ones from this hour on); old ones dropped,
    so a forecast left retained by an older Home Assistant is not read as today's."""
    groups: dict[date, list[tuple[datetime, ForecastEntry]]] = {}
    for entry in entries:
        at = moment(entry.get("datetime"), zone)
        if at is not None and at.date() >= now.date():
            groups.setdefault(at.date(), []).append((at, entry))
    days = {}
    for day, timed in groups.items():
        if len(timed) > 2:  # hourly: what is left of the day
            timed = [(at, e) for at, e in timed if at > now - timedelta(hours=1)]
        group = [e for _, e in timed]
        temps = [t for e in group if (t := number(e.get("temperature"))) is not None]
        lows = [t for e in group if (t := number(e.get("templow"))) is not None]
        if not lows and len(temps) > 1:
            lows = temps  # hourly or twice daily: the lowest of the day's temperatures
        conditions = [c for e in group if isinstance(c := e.get("condition"), str) and c]
        chances = [p for e in group if (p := number(e.get("precipitation_probability"))) is not None]
        amounts = [a for e in group if (a := number(e.get("precipitation"))) is not None]
        if group:
            days[day] = Day(
                Counter(conditions).most_common(1)[0][0] if conditions else None,
                max(temps) if temps else None, min(lows) if lows else None,
                max(chances) if chances else None, sum(amounts) if amounts else None,
            )  # fmt: skip
    return days


def temperatures(day: Day) -> str:
    """ "between 8 and 14 degrees", "around 12 degrees" or ""."""
    if day.high is None:
        return ""
    if day.low is None or round(day.low) == round(day.high):
        return f"around {whole(day.high)} degrees"
    return f"between {whole(day.low)} and {whole(day.high)} degrees"


def brief(label: str, day: Day, *, looks: bool = False) -> str:
    """ "Tomorrow looks rainy, between 8 and 14 degrees, with an 80 percent chance of rain" (or, in a
    list of days, "Saturday sunny, between 5 and 12 degrees")."""
    words = _DAY_WORDS.get(day.condition or "", (day.condition or "").replace("-", " "))
    head = f"{label} looks {words}" if looks and words else f"{label} {words}".rstrip()
    parts = [head, temperatures(day)]
    if day.chance is not None and day.chance >= 20:
        what = "snow" if day.condition in SKIES["snow"] else "rain"
        parts.append(f"with {_a(day.chance)} {whole(day.chance)} percent chance of {what}")
    return ", ".join(p for p in parts if p)


def rain_answer(what: str, day: Day, label: str, attrs: Mapping[str, Attribute]) -> str:
    """Will it rain (snow, storm) on that day, from its forecast: yes, maybe or no, with the odds."""
    wet = day.condition in SKIES.get(what, WET)
    if what != "rain":
        noun = {"storm": "a storm"}.get(what, what)
        return (
            f"Yes, {noun} is forecast {label}." if wet else f"No, there's no {noun} in the forecast {label}."
        )
    chance, amount = day.chance, day.amount
    unit = attrs.get("precipitation_unit")
    spoken = _UNITS.get(unit, unit) if isinstance(unit, str) else "millimeters"
    if (chance is not None and chance >= 50) or (chance is None and (wet or (amount or 0) >= 0.5)):
        parts = [f"{_a(chance)} {whole(chance)} percent chance"] if chance is not None else []
        parts += [f"about {say(amount, 1)} {spoken}"] if amount else []
        return f"Yes, rain is likely {label}" + (f", with {' and '.join(parts)}." if parts else ".")
    if (chance is not None and chance >= 20) or (chance is None and amount):
        odds = f"a {whole(chance)} percent chance" if chance is not None else "a small chance"
        return f"Maybe: there's {odds} of rain {label}."
    odds = f"; the chance of rain is {whole(chance)} percent" if chance else ""
    return f"No, it should stay dry {label}{odds}."


def _a(value: float | None) -> str:
    spoken = whole(value)
    return "an" if spoken.startswith("8") or spoken in ("11", "18") else "a"
