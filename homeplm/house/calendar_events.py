"""A Home Assistant calendar entity's event, as mqtt_statestream publishes it, said aloud.

A calendar entity shows only its current or next event: `message`, `start_time` and `end_time`
(local "YYYY-MM-DD HH:MM:SS"; an all-day event ends at the next midnight), `all_day`, `location`.
When it has none, Home Assistant sends no event attributes, and the old ones stay retained on the
broker: an event that has ended is no event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from homeplm.brain.intents.clock_intents import MONTHS, WEEKDAYS
from homeplm.house.device_discovery import Device
from homeplm.house.statestream import Attribute
from homeplm.house.weather import moment
from homeplm.planner.when import say_time


@dataclass(frozen=True, slots=True)
class Event:
    title: str
    start: datetime
    end: datetime
    all_day: bool
    location: str


def read_event(attrs: Mapping[str, Attribute], zone: tzinfo | None, now: datetime) -> Event | None:
    """The calendar's current or next event; None when it has none (or an old one left retained)."""
    title, start = attrs.get("message"), moment(attrs.get("start_time"), zone)
    end = moment(attrs.get("end_time"), zone) or start
    if not isinstance(title, str) or not title or start is None or end is None or end <= now:
        return None
    place = attrs.get("location")
    all_day = attrs.get("all_day") in (True, "true", "True")
    return Event(title, start, max(end, start), all_day, place if isinstance(place, str) else "")


def last_day(event: Event) -> date:
    """The last day an event covers (an all-day event's end is the next midnight)."""
    return (event.end - timedelta(seconds=1)).date() if event.end > event.start else event.start.date()


def say_event(event: Event, now: datetime, *, day: bool = False) -> str:
    """ "Dentist, tomorrow at 9:30 am, at Smile Clinic"; with `day`, the day is already said."""
    at = f", at {event.location}" if event.location else ""
    if event.all_day:
        on = "" if day else " " + say_at(max(event.start, now), now, clock=False)
        return f"{event.title}, all day{on}{at}"
    if event.start <= now:
        return f"{event.title}, now until {say_time(event.end, now)}{at}"
    if day:
        return f"{event.title} at {say_time(event.start, event.start)}{at}"
    return f"{event.title}, {say_at(event.start, now)}{at}"


def say_at(at: datetime, now: datetime, *, clock: bool = True) -> str:
    """ "today at 5 pm", "tomorrow at 9:30 am", "on Friday at 9 am", "on Friday, December 4 at 9 am"."""
    ahead = (at.date() - now.date()).days
    day = "today" if ahead == 0 else "tomorrow" if ahead == 1 else f"on {WEEKDAYS[at.weekday()]}"
    if ahead >= 7 or ahead < 0:
        day += f", {MONTHS[at.month - 1]} {at.day}"
    return f"{day} at {say_time(at, at)}" if clock else day


def calendar_name(calendar: Device) -> str:
    """ "Work Calendar" → "Work" (said as "the Work calendar")."""
    name = " ".join(re.sub(r"\bcalendar\b", "", calendar.name, flags=re.IGNORECASE).split())
    return name or calendar.name


def pick(calendars: list[Device], named: str) -> list[Device]:
    """The calendars the words name ("family" in "the family calendar"), or every one for none."""
    asked = set(named.split()) - {"the", "my", "our"}
    if not asked:
        return calendars
    return [c for c in calendars if asked <= set(re.findall(r"[a-z0-9]+", f"{c.name} {c.id}".lower()))]
