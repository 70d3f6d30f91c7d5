"""Everyday home facts from Home Assistant's own entities (over mqtt_statestream), without the
language model: the weather now and, where Home Assistant shares one, its forecast ("will it rain
today?"), the temperature outside, sunrise and sunset (`sun.sun`), and each calendar's next event.

Only what Home Assistant says is said. Without a weather entity a weather question gets an honest
line (never a language model's invention); without a sun or calendar entity those questions are not
matched at all. Questions about the house's own sensors ("how warm is it upstairs") are the device
intents', which come first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from homeplm.brain.intents.types import IntentMatch, IntentReply
from homeplm.core.stages import Turn
from homeplm.house import weather as w
from homeplm.house.calendar_events import calendar_name, last_day, pick, read_event, say_at, say_event
from homeplm.house.device_discovery import Device
from homeplm.house.statestream import Attribute, StateStream
from homeplm.planner.when import say_time

if TYPE_CHECKING:
    from homeplm.config.schema import Settings
    from homeplm.house.registry import DeviceRegistry

NO_WEATHER = (
    "I can't see the weather: Home Assistant hasn't sent me a weather entity "
    "(enable mqtt_statestream with publish_attributes)."
)
ELSEWHERE = "I only know the weather here at home, from Home Assistant."

_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY = "|".join(_DAYS)
_PART = r"(?: morning| afternoon| evening| night)?"
_WHEN = re.compile(
    rf"(?:^| )(?:(?P<prep>for|on|in|at|during|over) )?(?P<when>today|tonight|tomorrow{_PART}|this (?:morning"
    rf"|afternoon|evening|weekend|week)|(?:the )?(?:weekend|week|next few days|coming days|rest of the week)"
    rf"|next (?:week|{_DAY}){_PART}|(?:{_DAY}){_PART}|the (?:morning|afternoon|evening)|later(?: on| today)?"
    r"|right now|now|at the moment|currently)(?= |$)"
)
_NOW = frozenset({"now", "right now", "at the moment", "currently"})
_OUT = r"(?: (?P<where>outside|out there|out|here|at home|around here|in the garden|locally))?"
_PLACE = r"(?: (?:in|at|near|for|over) (?P<place>[a-z][a-z ]{0,40}))?"
_HOME_PLACES = frozenset(
    {"the garden", "the house", "home", "here", "our area", "the area", "town", "our town"}
)
_WET = "rain|raining|snow|snowing|pour|pouring|storm|storming|hail|hailing|drizzle|drizzling|sleet|sleeting"
_NOW_FORMS = frozenset({"raining", "snowing", "pouring", "storming", "hailing", "drizzling", "sleeting"})
_SKY = "sunny|cloudy|windy|foggy|misty|stormy|rainy|snowy|wet|dry|clear|overcast|nice|grey|gray"
_TEMP = "cold|warm|hot|chilly|freezing|mild"
_SUN = "sunset|sun set|sundown|sunrise|sun rise|sunup|sun up|dawn|first light|daybreak|dusk|nightfall"
_SUN_VERB = "set|sets|go down|goes down|going down|setting|rise|rises|come up|comes up|coming up|rising"
_CAL = r"(?:the |my |our )?(?:(?P<cal>[a-z][a-z ]{0,30}?) )?(?:calendar|calender|diary|agenda|schedule)"
_WE = "(?:i|we)"
_GOING = "(?:going|supposed|meant|expected|likely|forecast) to "
_R = re.compile
# (pattern on the text without its time words, kind); the first that matches answers.
PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (_R(r"^(?:(?:what|how) (?:is|(?P<fut>will|would)|does) |what about |tell me |give me |check |get |any )?"
        r"(?:the |our )?(?:weather|(?P<fc>forecast|weather forecast|weather report|outlook))"
        r"(?: (?:be|going to be|looking|look|doing|do|going to do|supposed to be|like|looking like))*"
        + _OUT + _PLACE + "$"), "weather"),
    (_R(r"^(?:what|how) is it (?:like |looking |looking like )?(?:outside|out there|out)$"), "weather"),
    (_R(rf"^(?:will|is|does|would) it (?P<aux>{_GOING}|look like it will )?(?P<what>{_WET})"
        rf"(?: again| at all| later)?{_OUT}{_PLACE}$"), "rain"),
    (_R(rf"^(?:will|is|are|do) (?:there|we) (?P<aux>{_GOING})?(?:be |get |have |getting |having )?"
        rf"(?:any |some |more )?(?P<what>rain|snow|storms?|thunderstorms?|showers|hail|sleet)"
        rf"(?: expected| forecast| coming| on the way)?{_OUT}{_PLACE}$"), "rain"),
    (_R(r"^(?:any|is there any|(?:what is|what are) (?:the )?(?:chance|chances|odds) of|chance of"
        r"|how likely is) (?P<what>rain|snow)(?: expected| forecast| coming)?" + _OUT + _PLACE + "$"),
     "rain"),
    (_R(rf"^(?:do|will|should) {_WE} (?:need|take|bring) (?:an |my |our |the |a )?"
        r"(?P<what>umbrella|brolly|raincoat)$"), "rain"),
    (_R(rf"^(?:do|will|should) {_WE} (?:need|take|bring|wear) (?:an |my |our |the |a )?(?:coat|jacket|jumper"
        r"|sweater|scarf|gloves|hat|sunscreen|sun cream)$"), "weather"),
    (_R(rf"^(?:is|(?P<fut>will)) it (?P<aux>{_GOING})?(?:be )?(?:a )?(?P<what>{_SKY})"
        r"(?: day| outside| out| out there)?$"), "sky"),
    (_R(rf"^(?:is|(?P<fut>will)) it (?P<aux>{_GOING})?(?:be |get )?(?P<what>{_TEMP}){_OUT}$"), "temperature"),
    (_R(rf"^how (?P<what>{_TEMP}) (?:is it|(?P<aux>will it (?:be|get)|is it going to (?:be|get))"
        rf"|is it getting|does it get){_OUT}$"), "temperature"),
    (_R(r"^what (?:is|(?P<fut>will)) (?:the )?(?:temperature|temp)(?: (?P<aux>going to be)| be| like)?"
        + _OUT + "$"), "temperature"),
    (_R(r"^what is (?:the )?(?P<where>outside|outdoor) (?:temperature|temp)$"), "temperature"),
    (_R(r"^what temperature is it" + _OUT + "$"), "temperature"),
    (_R(r"^how many degree (?:is it|(?P<aux>will it be|is it going to be))" + _OUT + "$"), "temperature"),
    (_R(r"^what is (?:the )?(?P<aux>high|low|highest|lowest|maximum|minimum)(?: temperature)?$"),
     "temperature"),
    (_R(r"^(?:what is (?:the )?humidity|how humid is it) (?P<where>outside|out|out there)$"), "humidity"),
    (_R(r"^(?:how windy is it|what is the wind(?: speed| doing| like)?|how (?:strong|fast) is the wind"
        r"|which way is the wind blowing|where is the wind (?:coming )?from)(?: outside| out| out there)?$"),
     "wind"),
    (_R(rf"^(?:(?:when|what time) (?:is |will be |will |is it )?|what is the time of )(?:the )?(?:next )?"
        rf"(?P<ev>{_SUN})(?: be| time)?$"), "sun"),
    (_R(r"^(?:the )?(?P<ev>sunset|sunrise)(?: time)?$"), "sun"),
    (_R(rf"^(?:when|what time) (?:does|will|is|is going to) the sun (?P<verb>{_SUN_VERB})$"), "sun"),
    (_R(r"^(?:when|what time) (?:does|will|is) it (?:get|go|going to get|getting|start getting) "
        r"(?P<ev>dark|light)$"), "sun"),
    (_R(rf"^how long (?:is it )?(?:until|till|to|before) (?:the )?(?:(?P<ev>{_SUN})|sun (?P<verb>{_SUN_VERB})"
        r"|it (?:gets|get) (?P<ev2>dark|light))$"), "countdown"),
    (_R(r"^is the sun (?P<what>up|down|set)$"), "sun_up"),
    (_R(rf"^(?P<q>what is|what have {_WE} got|what do {_WE} have|is there anything|anything"
        rf"|do {_WE} have anything|have {_WE} got anything|what is coming up|what is next|anything coming up)"
        rf" (?:on|in) {_CAL}$"), "calendar"),
    (_R(rf"^(?:what does |check |read |look at )?{_CAL}(?: look like| say)?$"), "calendar_named"),
    (_R(rf"^(?:(?:what is|what have {_WE} got|what do {_WE} have|(?:do|have) {_WE} (?:have|got) anything"
        rf"|is there anything|anything) on|(?:am i|are we) (?:busy|free)(?: on)?)$"), "calendar_day"),
    (_R(rf"^(?:(?:what|when) is (?:my|our|the) next (?P<q>appointment|event|meeting|engagement|booking)"
        rf"|(?:do|have) {_WE} (?:have|got) any (?:appointments?|events?|meetings?|plans))$"),
     "calendar_next"),
]  # fmt: skip
_WHAT = {"raining": "rain", "pour": "rain", "pouring": "rain", "drizzle": "rain", "drizzling": "rain",
         "showers": "rain", "umbrella": "rain", "brolly": "rain", "raincoat": "rain", "rainy": "rain",
         "wet": "rain", "snowing": "snow", "snowy": "snow", "sleet": "snow", "sleeting": "snow",
         "storming": "storm", "storms": "storm", "thunderstorm": "storm", "thunderstorms": "storm",
         "stormy": "storm", "hailing": "hail"}  # fmt: skip
_SUN_EVENTS = {"sun set": "sunset", "sundown": "sunset", "sun rise": "sunrise", "sunup": "sunrise",
               "sun up": "sunrise", "first light": "dawn", "daybreak": "dawn", "nightfall": "dusk",
               "set": "sunset", "sets": "sunset", "go down": "sunset", "goes down": "sunset",
               "going down": "sunset", "setting": "sunset", "rise": "sunrise", "rises": "sunrise",
               "come up": "sunrise", "comes up": "sunrise", "coming up": "sunrise",
               "rising": "sunrise"}  # fmt: skip
_SUN_ATTR = {"sunset": "next_setting", "sunrise": "next_rising", "dawn": "next_dawn", "dusk": "next_dusk"}


class HomeFacts:
    """The "home" intent handler: weather, sun and calendar facts from Home Assistant's statestream."""

    name = "home"

    def __init__(
        self,
        stream: StateStream | None,
        zone: tzinfo | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.stream = stream
        self.zone = zone
        self.clock = clock or (lambda: datetime.now(self.zone).astimezone(self.zone))

    @classmethod
    def from_settings(cls, registry: DeviceRegistry, settings: Settings) -> HomeFacts:
        """On the registry's statestream, in the house's time zone (the planner's)."""
        from homeplm.core.errors import ConfigError
        from homeplm.planner.service import house_zone

        try:
            zone: tzinfo | None = house_zone(settings.assistant.timezone)
        except ConfigError:
            zone = None  # the box's own; `homeplm doctor` says what is wrong with the setting
        return cls(registry.statestream, zone)

    # -- matching --------------------------------------------------------------------------------
    def match(self, text: str, normalised: str) -> IntentMatch | None:
        found = _WHEN.search(normalised)
        when = prep = ""
        core = normalised
        if found is not None:
            when, prep = found["when"], found["prep"] or ""
            core = " ".join(f"{normalised[: found.start()]} {normalised[found.end() :]}".split())
        for pattern, kind in PATTERNS:
            said = f"{core} on" if prep == "on" and kind == "calendar_day" else core
            if (m := pattern.match(said)) is None:
                continue
            slots = {k: v for k, v in m.groupdict().items() if v} | ({"when": when} if when else {})
            if intent := self._intent(kind, slots):
                return IntentMatch(f"home.{intent}", slots, 0.9, normalised)
            return None
        return None

    def _intent(self, kind: str, slots: dict[str, str]) -> str | None:
        if slots.get("place", "") not in ("", *_HOME_PLACES):
            return "elsewhere" if kind in ("weather", "rain") else None
        if kind == "temperature" and not slots.keys() & {"where", "when", "aux", "fut"}:
            # "how cold is it": the house's sensors answer first; with none, the weather's outside
            return kind if self._entities("weather") else None
        if kind in ("sun", "countdown", "sun_up"):
            return kind if self._entities("sun") else None
        if kind.startswith("calendar"):
            if kind == "calendar_day" and "when" not in slots:
                return None  # "what's on": the television, maybe
            calendars = self._entities("calendar")
            if not calendars or (
                kind == "calendar_named" and slots.get("cal") and not pick(calendars, slots.get("cal", ""))
            ):
                return None  # "check the heating schedule": not a calendar of the house
            return "calendar"
        return kind

    def _entities(self, domain: str) -> list[Device]:
        return [e for e in self.stream.entities() if e.component == domain] if self.stream else []

    def _attributes(self, entity: Device) -> Mapping[str, Attribute]:
        return self.stream.attributes(entity.id) if self.stream else {}

    # -- answering -------------------------------------------------------------------------------
    async def handle(self, match: IntentMatch, turn: Turn) -> IntentReply:
        slots, kind = dict(match.slots), match.intent.removeprefix("home.")
        now = self.clock()
        if kind == "elsewhere":
            return IntentReply(ELSEWHERE)
        if kind in ("sun", "countdown", "sun_up"):
            return IntentReply(self._sun(kind, slots, now))
        if kind == "calendar":
            return IntentReply(self._calendar(slots, now))
        weathers = sorted(self._entities("weather"), key=lambda e: "home" not in f"{e.id} {e.name}".lower())
        if not weathers:
            return IntentReply(NO_WEATHER)
        return IntentReply(self._weather(kind, slots, weathers[0], now))

    def _weather(self, kind: str, slots: dict[str, str], entity: Device, now: datetime) -> str:
        attrs = self._attributes(entity)
        condition = (entity.state.get("state") or "").lower()
        if condition in ("unknown", "unavailable") or not (condition or "temperature" in attrs):
            return "Home Assistant's weather is unavailable right now."  # its attributes: old news
        if kind == "humidity":
            value = w.number(attrs.get("humidity"))
            return (
                f"The humidity outside is {w.whole(value)} percent."
                if value is not None
                else w.missing("humidity")
            )
        if kind == "wind":
            return w.wind(attrs)
        line = w.now_line(condition, attrs, temperature_only=kind == "temperature")
        when, what = slots.get("when", ""), _WHAT.get(slots.get("what", ""), slots.get("what", ""))
        weekend = "weekend" in when
        week = not weekend and ("week" in when or "days" in when)
        day = _day_offset(when, now)
        later = week or day is not None or bool(slots.keys() & {"aux", "fut", "fc"})
        later = (later or (kind == "rain" and slots.get("what") not in _NOW_FORMS)) and when not in _NOW
        if not later:
            return w.yes_no_now(what, condition, line) if kind in ("rain", "sky") else line
        day = day or 0
        label = _label(when, day) if not week else "the week"
        days = self._forecast(entity, now)
        if days is None:
            if day == 0 and not (week or weekend):
                return f"{line} {w.NO_FORECAST}, so that's all I know about {label}."
            about = label.removeprefix("on ").removeprefix("at ")
            return (
                f"{w.NO_FORECAST}, so I can't tell you about {about}. Right now {line[:1].lower()}{line[1:]}"
            )
        if week or weekend:  # a few days, one after the other
            first = now.date() + timedelta(days=day)
            last = first + timedelta(days=(_span(when, now) if weekend else 5) - 1)
            briefs = [w.brief(w.day_label(d, now), s) for d, s in sorted(days.items()) if first <= d <= last]
            return w.cap("; ".join(briefs)) + "." if briefs else "The forecast doesn't reach the weekend."
        summary = days.get(now.date() + timedelta(days=day))
        if summary is None:
            reach = (
                f"has nothing more for {label}" if day == 0 else f"doesn't reach {label.removeprefix('on ')}"
            )
            return f"The forecast {reach}."
        if kind == "rain":
            return w.rain_answer(what, summary, label, attrs)
        if kind == "temperature":
            if summary.high is None:
                return w.missing("temperature")
            return f"{w.cap(label.removeprefix('on '))}: {w.temperatures(summary)}."
        said = w.brief(w.cap(label.removeprefix("on ")), summary, looks=True)
        return f"{line} {said}." if day == 0 else f"{said}."

    def _forecast(self, weather: Device, now: datetime) -> dict[date, w.Day] | None:
        """The forecast by day from today: the weather entity's own, else a sensor's `forecast`
        attribute; None when Home Assistant shares none (or only an old one)."""
        sensors = sorted(self._entities("sensor"), key=lambda e: "forecast" not in e.id)
        for source in (weather, *sensors):
            entries = self._attributes(source).get("forecast")
            if isinstance(entries, tuple) and (days := w.by_day(entries, now, self.zone)):
                return days
        return None

    def _sun(self, kind: str, slots: dict[str, str], now: datetime) -> str:
        sun = self._entities("sun")[0]
        attrs = self._attributes(sun)
        if kind == "sun_up":
            up = sun.state.get("state") == "above_horizon"
            then = w.moment(attrs.get("next_setting" if up else "next_rising"), self.zone)
            answer = "Yes" if up == (slots["what"] == "up") else "No"
            after = f"; it {'sets' if up else 'rises'} at {say_time(then, now)}" if then else ""
            return f"{answer}, the sun is {'up' if up else 'down'}{after}."
        ev = slots.get("ev") or slots.get("ev2") or slots.get("verb", "")
        ev = _SUN_EVENTS.get(ev, ev)
        if ev in ("dark", "light"):
            pair = ("sunset", "dusk") if ev == "dark" else ("dawn", "sunrise")
            first, second = (w.moment(attrs.get(_SUN_ATTR[p]), self.zone) for p in pair)
            if kind == "sun" and first is not None and second is not None:
                if ev == "dark":
                    return f"Sunset is at {say_time(first, now)}, and it's dark by {say_time(second, now)}."
                return f"First light is at {say_time(first, now)}, and sunrise at {say_time(second, now)}."
            ev = pair[1] if ev == "dark" else pair[0]
        at = w.moment(attrs.get(_SUN_ATTR[ev]), self.zone)
        if at is None:
            return f"Home Assistant's sun doesn't say when {ev} is."
        if at < now:  # Home Assistant has stopped; its retained times stay on the broker
            return f"Home Assistant's sun is out of date: its next {ev} has already passed."
        if kind == "countdown":
            return f"{ev.capitalize()} is in {_duration(at - now)}, at {say_time(at, now)}."
        when = slots.get("when", "")
        asked, ahead, clock = _day_offset(when, now) or 0, (at.date() - now.date()).days, say_time(at, at)
        if ahead == asked:
            return f"{ev.capitalize()}{' ' + _label(when, asked) if asked else ''} is at {clock}."
        if asked == 0 and ahead == 1:
            return f"{ev.capitalize()} has passed for today; tomorrow it's at {clock}."
        if asked == 1 and ahead == 0:
            return f"I only know the next {ev}, today at {clock}; tomorrow's is within a few minutes of it."
        return f"I only know the next {ev}: {say_at(at, now)}."

    def _calendar(self, slots: dict[str, str], now: datetime) -> str:
        calendars = self._entities("calendar")
        chosen = pick(calendars, slots.get("cal", ""))
        if not chosen:
            names = " and ".join(sorted({calendar_name(c) for c in calendars})[:4])
            return f"I don't have a calendar called {slots['cal']}; I have {names}."
        named = len(chosen) == 1 and len(calendars) > 1
        where = f"on the {calendar_name(chosen[0])} calendar" if named else "on the calendar"
        events = sorted(
            (e for c in chosen if (e := read_event(self._attributes(c), self.zone, now)) is not None),
            key=lambda e: e.start,
        )
        day = _day_offset(slots.get("when", ""), now)
        if day is None or slots.get("q") in ("what is next", "appointment", "event", "meeting"):
            if not events:
                return f"Nothing coming up {where}."
            return f"Next {where}: " + "; then ".join(say_event(e, now) for e in events[:3]) + "."
        when = slots.get("when", "")
        target, label, span = now.date() + timedelta(days=day), _label(when, day), _span(when, now)
        last = target + timedelta(days=span - 1)
        on_day = [e for e in events if e.start.date() <= last and last_day(e) >= target]
        if on_day:
            said = (say_event(e, now, day=span == 1) for e in on_day)
            return f"{w.cap(label)}: " + "; ".join(said) + "."
        if unknown := [e for e in events if last_day(e) < target]:
            return (
                f"I can't see {label.removeprefix('on ').removeprefix('at ')} yet: Home Assistant only shows "
                "me the next event, "
                f"and that is {say_event(unknown[0], now)}."
            )
        then = f"; the next thing is {say_event(events[0], now)}" if events else ""
        return f"Nothing {where} {label}{then}."


def _day_offset(when: str, now: datetime) -> int | None:
    """Days from today that a time phrase means; None for none, "now" or a week."""
    if "weekend" in when:
        return max(0, 5 - now.weekday())  # Saturday, or today on a Sunday
    if not when or when in _NOW or "week" in when or "days" in when:
        return None
    if when.startswith("tomorrow"):
        return 1
    name = when.removeprefix("next ").split()[0]
    if name in _DAYS:
        ahead = (_DAYS.index(name) - now.weekday()) % 7
        return ahead or (7 if when.startswith("next") else 0)
    return 1 if when == "the morning" and now.hour >= 12 else 0


def _span(when: str, now: datetime) -> int:
    """How many days the phrase covers: a weekend two (one on a Sunday), a day one."""
    return 1 if "weekend" not in when or now.weekday() == 6 else 2


def _label(when: str, day: int) -> str:
    if "weekend" in when:
        return "at the weekend"
    if day == 0:
        return "tonight" if when == "tonight" else "today"
    if day == 1:
        return "tomorrow"
    return f"on {when.removeprefix('next ').split()[0].capitalize()}"


def _duration(delta: timedelta) -> str:
    hours, minutes = divmod(max(0, int(delta.total_seconds() // 60)), 60)  # as the clock says it
    parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    parts += [f"{minutes} minute{'s' if minutes != 1 else ''}"] if minutes else []
    return " and ".join(parts) or "less than a minute"
