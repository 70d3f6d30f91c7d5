"""The time and the date, spoken, from a clock that tests can set."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from homeplm.brain.intents.phrases import PhraseSet
from homeplm.brain.intents.types import IntentMatch, IntentReply
from homeplm.core.stages import Turn

Clock = Callable[[], datetime]

# Spelled out here rather than strftime("%A"), which follows the process locale.
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS: tuple[str, ...] = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
)
MONTHS += ("October", "November", "December")

_NOW = {"now", "right", "currently", "exactly", "precisely", "please", "again", "actually", "tell", "me"}

TIME_PHRASES = PhraseSet.of(
    [
        "what time is it", "what's the time", "what is the time now", "what time it is", "time",
        "time please", "the time", "tell me the time", "tell me what time it is", "give me the time",
        "current time", "what's the current time", "what hour is it", "do you have the time",
        "have you got the time", "got the time", "time check", "check the time", "how late is it",
    ],
    extras=_NOW | {"at", "the", "moment", "here", "quickly"},
    exclude=["what is time", "what's time"],  # a child's philosophy question, not the clock
)  # fmt: skip

DATE_PHRASES = PhraseSet.of(
    [
        "what's the date", "what's today's date", "today's date", "date", "the date", "date please",
        "tell me the date", "what date is it", "what's the date today", "what's the current date",
        "current date", "what day is it", "what day is today", "what's today", "what's the day",
        "which day is it", "what day of the week is it", "which day of the week is it",
        "what day of the week is today", "what month is it",
    ],
    extras=_NOW | {"today", "the"},
    exclude=["what is date", "what's a date", "what is a date"],
)  # fmt: skip


def spoken_time(now: datetime) -> str:
    """ "It's 7:45 PM." — or "It's 7 o'clock." on the hour (12-hour, as people say it)."""
    hour = now.hour % 12 or 12
    if now.minute == 0:
        return f"It's {hour} o'clock."
    return f"It's {hour}:{now.minute:02d} {'AM' if now.hour < 12 else 'PM'}."


def spoken_date(now: datetime) -> str:
    """ "Today is Monday, November 23." """
    return f"Today is {WEEKDAYS[now.weekday()]}, {MONTHS[now.month - 1]} {now.day}."


class TimeIntent:
    """ "what time is it" → "It's 7:45 PM." """

    name = "time"

    def __init__(self, clock: Clock = datetime.now) -> None:
        self.clock = clock

    def match(self, text: str, normalised: str) -> IntentMatch | None:
        hit = TIME_PHRASES.match(normalised)
        return IntentMatch("time", score=hit.score, matched=hit.phrase) if hit else None

    async def handle(self, match: IntentMatch, turn: Turn) -> IntentReply:
        now = self.clock()
        return IntentReply(spoken_time(now), data={"time": now.strftime("%H:%M")})


class DateIntent:
    """ "what's the date" → "Today is Monday, November 23." """

    name = "date"

    def __init__(self, clock: Clock = datetime.now) -> None:
        self.clock = clock

    def match(self, text: str, normalised: str) -> IntentMatch | None:
        hit = DATE_PHRASES.match(normalised)
        return IntentMatch("date", score=hit.score, matched=hit.phrase) if hit else None

    async def handle(self, match: IntentMatch, turn: Turn) -> IntentReply:
        now = self.clock()
        return IntentReply(spoken_date(now), data={"date": now.date().isoformat()})
