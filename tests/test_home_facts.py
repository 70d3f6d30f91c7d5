"""Everyday home facts from Home Assistant's own entities (issue 12, point 4): the weather, rain,
the temperature outside, sunrise and sunset, the calendar — fast intents fed by mqtt_statestream as
Home Assistant publishes it (a topic per attribute, JSON values, UTC timestamps for the sun, local
"YYYY-MM-DD HH:MM:SS" for calendars), answered exactly, and honestly where Home Assistant says nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from homeplm.brain.intents.router import IntentRoute, make_builtin_intents
from homeplm.config.schema import AssistantSettings, MqttSettings, Settings
from homeplm.core.stages import Turn
from homeplm.house import DeviceActions, DeviceIntents, DeviceRegistry
from homeplm.house.home_facts import ELSEWHERE, NO_WEATHER, HomeFacts
from homeplm.house.statestream import MAX_ATTRIBUTE_TEXT
from homeplm.house.weather import NO_FORECAST
from tests.fakes import FakeChat, FakeLink
from tests.harness import Broker, MqttClient, wait_for

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 27, 14, 0, tzinfo=BERLIN)  # a Friday afternoon, UTC+1
SS = "homeassistant_statestream"

# -- the house as Home Assistant publishes it ----------------------------------------------------------

WEATHER = {  # met.no's weather.forecast_home since HA 2024.3: no forecast attribute
    "temperature": 12.3, "dew_point": 8.2, "temperature_unit": "°C", "humidity": 81, "cloud_coverage": 94.5,
    "pressure": 1012.4, "pressure_unit": "hPa", "wind_bearing": 225.0, "wind_speed": 15.5,
    "wind_speed_unit": "km/h", "visibility_unit": "km", "precipitation_unit": "mm",
    "attribution": "Weather forecast from met.no, delivered by the Norwegian Meteorological Institute.",
    "friendly_name": "Forecast Home", "supported_features": 3, "apparent_temperature": 9.1,
}  # fmt: skip
DAILY = [  # a weather entity's forecast attribute (before HA 2024.3, or a template weather entity)
    {"datetime": "2026-11-26T11:00:00+00:00", "condition": "pouring", "temperature": 9.0, "templow": 3.0,
     "precipitation": 20.0, "precipitation_probability": 100},  # yesterday's, still in the list
    {"datetime": "2026-11-27T11:00:00+00:00", "condition": "rainy", "temperature": 14.0, "templow": 8.2,
     "precipitation": 4.1, "precipitation_probability": 80, "wind_bearing": 200.0, "wind_speed": 20.2},
    {"datetime": "2026-11-28T11:00:00+00:00", "condition": "sunny", "temperature": 11.6, "templow": 4.5,
     "precipitation": 0.0, "precipitation_probability": 5},
    {"datetime": "2026-11-29T11:00:00+00:00", "condition": "partlycloudy", "temperature": 9, "templow": 2,
     "precipitation": 0.2, "precipitation_probability": 30},
    {"datetime": "2026-11-30T11:00:00+00:00", "condition": "snowy", "temperature": 1.0, "templow": -3.4,
     "precipitation": 2.0, "precipitation_probability": 60},
]  # fmt: skip
SUN = {
    "next_dawn": "2026-11-28T06:02:31.470611+00:00", "next_dusk": "2026-11-27T15:48:07.150024+00:00",
    "next_midnight": "2026-11-27T23:57:49+00:00", "next_noon": "2026-11-28T10:57:52+00:00",
    "next_rising": "2026-11-28T06:41:12.345678+00:00", "next_setting": "2026-11-27T15:12:40.116398+00:00",
    "elevation": 9.53, "azimuth": 222.1, "rising": False, "friendly_name": "Sun",
}  # fmt: skip
FAMILY = {
    "message": "Dentist", "all_day": False, "start_time": "2026-11-28 09:30:00",
    "end_time": "2026-11-28 10:30:00", "location": "Smile Clinic", "description": "Bring the card",
    "offset_reached": False, "friendly_name": "Family",
}  # fmt: skip
WORK = {
    "message": "Standup", "all_day": False, "start_time": "2026-11-30 09:00:00",
    "end_time": "2026-11-30 09:15:00", "location": "", "description": "", "offset_reached": False,
    "friendly_name": "Work Calendar",
}  # fmt: skip
DISCOVERY = {  # the house's own sensors, from MQTT discovery: the device intents answer for them
    "homeassistant/sensor/kitchen_t/config": {
        "name": "Kitchen Temperature", "dev_cla": "temperature", "unit_of_meas": "°C",
        "stat_t": "kitchen/temp", "uniq_id": "kitchen_t", "dev": {"sa": "Kitchen"},
    },
    "homeassistant/sensor/landing_t/config": {
        "name": "Landing Temperature", "dev_cla": "temperature", "unit_of_meas": "°C",
        "stat_t": "landing/temp", "uniq_id": "landing_t", "dev": {"sa": "Landing"},
    },
}  # fmt: skip


def publish(link: FakeLink, entity_id: str, state: str | None, attributes: dict[str, Any]) -> None:
    """One entity as mqtt_statestream sends it: `state` raw, each attribute JSON on its own topic."""
    domain, object_id = entity_id.split(".")
    if state is not None:
        link.inject(f"{SS}/{domain}/{object_id}/state", state)
    for name, value in attributes.items():
        link.inject(f"{SS}/{domain}/{object_id}/{name}", json.dumps(value))


def house(
    *, weather: bool = True, sun: bool = True, calendars: bool = True, now: datetime = NOW
) -> tuple[FakeLink, DeviceRegistry, IntentRoute]:
    """The built-in intents, then the device intents, then the home facts: the order the daemon has."""
    link = FakeLink()
    registry = DeviceRegistry(link, MqttSettings(host="127.0.0.1", floors=("upstairs = landing",)))
    registry.start()
    for topic, config in DISCOVERY.items():
        link.inject(topic, config)
    link.inject("kitchen/temp", "19")
    link.inject("landing/temp", "20.5")
    if weather:
        publish(link, "weather.forecast_home", "cloudy", WEATHER)
    if sun:
        publish(link, "sun.sun", "above_horizon", SUN)
    if calendars:
        publish(link, "calendar.family", "off", FAMILY)
        publish(link, "calendar.work_calendar", "off", WORK)
    route = make_builtin_intents(clock=lambda: now.replace(tzinfo=None))
    route.register(DeviceIntents(registry, DeviceActions(link, registry)))
    route.register(HomeFacts(registry.statestream, BERLIN, lambda: now))
    return link, registry, route


async def ask(route: IntentRoute, text: str) -> tuple[str | None, str]:
    """(the intent that answered, what it said); (None, "") when no intent took it."""
    turn = Turn(text)
    decision = route.accepts(turn)
    if decision is None:
        return None, ""
    return decision.route.removeprefix("intent:"), "".join([t async for t in route.reply(turn)])


NOW_LINE = "It's cloudy and 12 degrees outside, feels like 9."
LOWER_NOW_LINE = "it's cloudy and 12 degrees outside, feels like 9."

# -- the weather now, and honestly no forecast -------------------------------------------------------

NO_FORECAST_CASES = [
    ("What's the weather like?", NOW_LINE),
    ("Hey Jarvis, how's the weather?", NOW_LINE),
    ("what's it like outside", NOW_LINE),
    ("Weather.", NOW_LINE),
    ("what's the weather like in the garden", NOW_LINE),
    ("do I need a coat", NOW_LINE),
    ("Is it raining?", f"No, {LOWER_NOW_LINE}"),
    ("is it sunny", f"No, {LOWER_NOW_LINE}"),
    ("is it cloudy outside", f"Yes, {LOWER_NOW_LINE}"),
    ("How cold is it outside?", "It's 12 degrees outside, feels like 9."),
    ("What's the temperature outside?", "It's 12 degrees outside, feels like 9."),
    ("what's the outside temperature", "It's 12 degrees outside, feels like 9."),
    ("is it cold outside", "It's 12 degrees outside, feels like 9."),
    ("how many degrees is it outside", "It's 12 degrees outside, feels like 9."),
    ("what's the humidity outside", "The humidity outside is 81 percent."),
    ("how windy is it", "The wind is 16 kilometers an hour from the southwest."),
    ("What's the weather like today?", f"{NOW_LINE} {NO_FORECAST}, so that's all I know about today."),
    ("will it rain today", f"{NOW_LINE} {NO_FORECAST}, so that's all I know about today."),
    ("do I need an umbrella", f"{NOW_LINE} {NO_FORECAST}, so that's all I know about today."),
    ("what's the forecast", f"{NOW_LINE} {NO_FORECAST}, so that's all I know about today."),
    (
        "What's the weather going to be like tomorrow?",
        f"{NO_FORECAST}, so I can't tell you about tomorrow. Right now it's cloudy and 12 degrees outside, "
        "feels like 9.",
    ),
    (
        "is it going to snow on Sunday",
        f"{NO_FORECAST}, so I can't tell you about Sunday. Right now it's cloudy and 12 degrees outside, "
        "feels like 9.",
    ),
    (
        "how cold will it be tomorrow night",
        f"{NO_FORECAST}, so I can't tell you about tomorrow. Right now it's 12 degrees outside, "
        "feels like 9.",
    ),
    (
        "what's the forecast for the weekend",
        f"{NO_FORECAST}, so I can't tell you about the weekend. Right now {LOWER_NOW_LINE}",
    ),
    ("what's the weather in Paris", ELSEWHERE),
    ("will it rain in London tomorrow", ELSEWHERE),
]


@pytest.mark.parametrize(("text", "expected"), NO_FORECAST_CASES)
async def test_weather_now_and_no_forecast(text: str, expected: str) -> None:
    _, _, route = house()
    intent, reply = await ask(route, text)
    assert intent is not None and intent.startswith("home."), (text, intent)
    assert reply == expected


# -- a forecast: the weather entity's own attribute, or a template sensor's --------------------------

WEEKEND = (
    "Tomorrow sunny, between 4 and 12 degrees; Sunday partly cloudy, between 2 and 9 degrees, with a 30 "
    "percent chance of rain."
)
RAIN_TODAY = "Yes, rain is likely today, with an 80 percent chance and about 4.1 millimeters."
FORECAST_CASES = [
    ("What's the weather like?", NOW_LINE),
    (
        "what's the weather like today",
        f"{NOW_LINE} Today looks rainy, between 8 and 14 degrees, with an 80 percent chance of rain.",
    ),
    ("Will it rain today?", RAIN_TODAY),
    ("do we need an umbrella", RAIN_TODAY),
    ("is it going to rain tomorrow", "No, it should stay dry tomorrow; the chance of rain is 5 percent."),
    ("will it rain on Sunday", "Maybe: there's a 30 percent chance of rain on Sunday."),
    ("will it snow on Monday", "Yes, snow is forecast on Monday."),
    ("will it snow tomorrow", "No, there's no snow in the forecast tomorrow."),
    ("How's the weather looking tomorrow?", "Tomorrow looks sunny, between 4 and 12 degrees."),
    ("what will the weather be like on Sunday", "Sunday looks partly cloudy, between 2 and 9 degrees, with "
     "a 30 percent chance of rain."),
    ("how cold will it be on Monday", "Monday: between minus 3 and 1 degrees."),
    ("what's the high tomorrow", "Tomorrow: between 4 and 12 degrees."),
    ("will it be sunny tomorrow", "Tomorrow looks sunny, between 4 and 12 degrees."),
    ("what's the weather on Tuesday", "The forecast doesn't reach Tuesday."),
    ("what's the forecast for the weekend", WEEKEND),
    ("is it going to rain this weekend", WEEKEND),
    (
        "what's the weather this week",
        "Today rainy, between 8 and 14 degrees, with an 80 percent chance of rain; tomorrow sunny, between 4 "
        "and 12 degrees; Sunday partly cloudy, between 2 and 9 degrees, with a 30 percent chance of rain; "
        "Monday snowy, between minus 3 and 1 degrees, with a 60 percent chance of snow.",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), FORECAST_CASES)
async def test_weather_with_a_forecast(text: str, expected: str) -> None:
    link, _, route = house()
    publish(link, "weather.forecast_home", None, {"forecast": DAILY})
    intent, reply = await ask(route, text)
    assert intent is not None and intent.startswith("home."), (text, intent)
    assert reply == expected


async def test_hourly_forecast_from_a_template_sensor() -> None:
    """Since HA 2024.3 a template sensor stores `weather.get_forecasts`' answer in an attribute."""
    link, registry, route = house()
    hours = [  # 13:00 UTC is 14:00 here, now: the hour before has gone
        ("2026-11-27T12:00:00+00:00", "pouring", 12.0, 100, 9.0),
        ("2026-11-27T13:00:00+00:00", "cloudy", 12.0, 10, 0.0),
        ("2026-11-27T14:00:00+00:00", "rainy", 11.0, 60, 1.2),
        ("2026-11-27T15:00:00+00:00", "rainy", 10.4, 70, 2.0),
        ("2026-11-27T16:00:00+00:00", "cloudy", 9.0, 20, 0.1),
        ("2026-11-28T07:00:00+00:00", "sunny", 3.0, 0, 0.0),
        ("2026-11-28T12:00:00+00:00", "sunny", 10.0, 0, 0.0),
        ("2026-11-28T15:00:00+00:00", "clear-night", 6.0, 0, 0.0),
    ]
    forecast = [
        {
            "datetime": t,
            "condition": c,
            "temperature": temp,
            "precipitation_probability": p,
            "precipitation": mm,
        }
        for t, c, temp, p, mm in hours
    ]
    publish(link, "sensor.weather_forecast_hourly", "12.0", {"forecast": forecast, "friendly_name": "Hourly"})
    assert registry.statestream is not None
    assert len(registry.statestream.attributes("sensor.weather_forecast_hourly")["forecast"]) == 8  # type: ignore[arg-type]
    assert (await ask(route, "will it rain today"))[1] == (
        "Yes, rain is likely today, with a 70 percent chance and about 3.3 millimeters."
    )
    assert (await ask(route, "how cold will it be tomorrow"))[1] == "Tomorrow: between 3 and 10 degrees."


async def test_an_old_forecast_left_retained_is_not_read_as_today() -> None:
    link, _, route = house()
    publish(link, "weather.forecast_home", None, {"forecast": DAILY[:1]})  # yesterday's only
    assert (await ask(route, "will it rain today"))[
        1
    ] == f"{NOW_LINE} {NO_FORECAST}, so that's all I know about today."


async def test_several_weather_entities_prefer_home_and_unavailable_is_said() -> None:
    link = FakeLink()
    registry = DeviceRegistry(link, MqttSettings(host="127.0.0.1"))
    registry.start()
    publish(link, "weather.openweathermap", "sunny", {"temperature": 25.0, "friendly_name": "OpenWeatherMap"})
    publish(link, "weather.forecast_home", "rainy", {"temperature": 7.0, "friendly_name": "Forecast Home"})
    route = IntentRoute([HomeFacts(registry.statestream, BERLIN, lambda: NOW)])
    assert (await ask(route, "what's the weather"))[1] == "It's raining and 7 degrees outside."
    # No temperature sensor in this house: "what's the temperature" is the weather's, said as outside.
    assert (await ask(route, "what's the temperature"))[1] == "It's 7 degrees outside."
    link.inject(f"{SS}/weather/forecast_home/state", "unavailable")  # its attributes stay retained
    assert (await ask(route, "what's the weather"))[1] == "Home Assistant's weather is unavailable right now."


# -- the sun --------------------------------------------------------------------------------------------

SUN_CASES = [
    ("When is sunset?", "Sunset is at 4:12 pm."),
    ("what time's sunset", "Sunset is at 4:12 pm."),
    ("when does the sun go down today", "Sunset is at 4:12 pm."),
    ("What time does the sun rise tomorrow?", "Sunrise tomorrow is at 7:41 am."),
    ("when is sunrise", "Sunrise has passed for today; tomorrow it's at 7:41 am."),
    (
        "when does the sun set tomorrow",
        "I only know the next sunset, today at 4:12 pm; tomorrow's is within a few minutes of it.",
    ),
    ("when does it get dark", "Sunset is at 4:12 pm, and it's dark by 4:48 pm."),
    ("when does it get light", "First light is at 7:02 am tomorrow, and sunrise at 7:41 am tomorrow."),
    ("what time is dawn", "Dawn has passed for today; tomorrow it's at 7:02 am."),
    ("how long until sunset", "Sunset is in 2 hours and 12 minutes, at 4:12 pm."),
    ("is the sun up", "Yes, the sun is up; it sets at 4:12 pm."),
    ("is the sun down", "No, the sun is up; it sets at 4:12 pm."),
]


@pytest.mark.parametrize(("text", "expected"), SUN_CASES)
async def test_sunrise_and_sunset(text: str, expected: str) -> None:
    _, _, route = house()
    assert (await ask(route, text))[1] == expected


async def test_the_sun_in_the_evening_as_home_assistant_updates_it() -> None:
    evening = datetime(2026, 11, 27, 21, 30, tzinfo=BERLIN)
    link, _, route = house(now=evening)
    publish(
        link, "sun.sun", "below_horizon", {"next_setting": "2026-11-28T15:11:58.01+00:00", "rising": False}
    )
    assert (await ask(route, "when is sunset"))[1] == "Sunset has passed for today; tomorrow it's at 4:11 pm."
    assert (await ask(route, "sunrise tomorrow"))[1] == "Sunrise tomorrow is at 7:41 am."
    assert (await ask(route, "is the sun up"))[1] == "No, the sun is down; it rises at 7:41 am tomorrow."
    stale = IntentRoute([HomeFacts(route.handlers[-1].stream, BERLIN, lambda: evening + timedelta(days=3))])  # type: ignore[attr-defined]
    assert (await ask(stale, "when is sunset"))[1] == (
        "Home Assistant's sun is out of date: its next sunset has already passed."
    )


# -- the calendar ---------------------------------------------------------------------------------------

DENTIST = "Dentist, tomorrow at 9:30 am, at Smile Clinic"
CALENDAR_CASES = [
    (
        "What's on the calendar today?",
        "Nothing on the calendar today; the next thing is Dentist, tomorrow at 9:30 am, at Smile Clinic.",
    ),
    ("Do we have anything on tomorrow?", "Tomorrow: Dentist at 9:30 am, at Smile Clinic."),
    ("what have we got on tomorrow", "Tomorrow: Dentist at 9:30 am, at Smile Clinic."),
    (
        "When is my next appointment?",
        f"Next on the calendar: {DENTIST}; then Standup, on Monday at 9 am.",
    ),
    ("anything on the calendar", f"Next on the calendar: {DENTIST}; then Standup, on Monday at 9 am."),
    ("what's on the family calendar", f"Next on the Family calendar: {DENTIST}."),
    (
        "what's on the work calendar tomorrow",
        "Nothing on the Work calendar tomorrow; the next thing is Standup, on Monday at 9 am.",
    ),
    ("what's on the calendar on Monday", "On Monday: Standup at 9 am."),
    ("anything on this weekend", f"At the weekend: {DENTIST}."),
    (
        "are we free on Sunday",
        "I can't see Sunday yet: Home Assistant only shows me the next event, and that is Dentist, tomorrow "
        "at 9:30 am, at Smile Clinic.",
    ),
    ("what's on my school calendar", "I don't have a calendar called school; I have Family and Work."),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), CALENDAR_CASES)
async def test_calendar(text: str, expected: str) -> None:
    _, _, route = house()
    intent, reply = await ask(route, text)
    assert (intent, reply) == ("home.calendar", expected)


async def test_calendar_now_all_day_and_nothing() -> None:
    link, _, route = house()
    publish(link, "calendar.work_calendar", "on", {  # in progress
        "message": "Team meeting", "all_day": False, "start_time": "2026-11-27 13:30:00",
        "end_time": "2026-11-27 15:00:00", "location": "",
    })  # fmt: skip
    publish(link, "calendar.family", "off", {  # all day: the end is the next midnight
        "message": "Bin day", "all_day": True, "start_time": "2026-11-28 00:00:00",
        "end_time": "2026-11-29 00:00:00", "location": "",
    })  # fmt: skip
    assert (await ask(route, "what's on today"))[1] == "Today: Team meeting, now until 3 pm."
    assert (await ask(route, "anything on tomorrow"))[1] == "Tomorrow: Bin day, all day."
    assert (await ask(route, "what's next on the calendar"))[1] == (
        "Next on the calendar: Team meeting, now until 3 pm; then Bin day, all day tomorrow."
    )
    # No event: Home Assistant sends the state and no event attributes; old ones stay retained.
    later = datetime(2026, 11, 29, 9, 0, tzinfo=BERLIN)
    route = IntentRoute([HomeFacts(route.handlers[-1].stream, BERLIN, lambda: later)])  # type: ignore[attr-defined]
    publish(link, "calendar.work_calendar", "off", {})
    assert (await ask(route, "what's on the calendar"))[1] == "Nothing coming up on the calendar."
    assert (await ask(route, "are we busy tomorrow"))[1] == "Nothing on the calendar tomorrow."


# -- what is not theirs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("how warm is it upstairs", "It's 20.5 degrees upstairs."),
        ("what's the temperature in the kitchen", "It's 19 degrees in the kitchen."),
        ("how warm is it in the kitchen", "It's 19 degrees in the kitchen."),
    ],
)
async def test_device_questions_stay_with_the_device_intents(text: str, expected: str) -> None:
    _, _, route = house()
    assert await ask(route, text) == ("sensor.query", expected)


async def test_a_real_outdoor_sensor_answers_before_the_weather() -> None:
    link, _, route = house()
    publish(link, "sensor.outside_temperature", "4.5", {"friendly_name": "Outside Temperature",
                                                         "unit_of_measurement": "°C"})  # fmt: skip
    assert await ask(route, "how cold is it outside") == ("sensor.query", "It's 4.5 degrees outside.")


NOT_MINE = [
    "what time is it", "what's the date", "tell me a joke", "how cold is it", "what's on",
    "I love this weather", "the weather was awful yesterday", "what is a calendar",
    "set the heating schedule", "turn on the kitchen light", "what's the capital of France",
    "is it time for dinner", "sunset boulevard is a film",
    "how do I make pancakes", "what's the dew point of water", "what is on the television tonight",
    "what's the temperature", "what's happening tomorrow", "play the weather channel",
]  # fmt: skip


@pytest.mark.parametrize("text", NOT_MINE)
async def test_not_a_home_fact(text: str) -> None:
    _, _, route = house()
    intent, _ = await ask(route, text)
    assert intent is None or not intent.startswith("home."), (text, intent)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("what's the weather like", NO_WEATHER),
        ("will it rain today", NO_WEATHER),
        ("how cold is it outside", NO_WEATHER),
        ("when is sunset", None),
        ("what's on the calendar today", None),
        ("when is my next appointment", None),
        ("what's the weather in Paris", ELSEWHERE),
    ],
)
async def test_without_the_entities(text: str, expected: str | None) -> None:
    """No weather entity: an honest line, never the language model's weather; no sun or calendar:
    not matched, so the question goes on to the other routes."""
    _, _, route = house(weather=False, sun=False, calendars=False)
    intent, reply = await ask(route, text)
    assert (reply if intent else None) == expected
    off = IntentRoute([HomeFacts(None, BERLIN, lambda: NOW)])  # mqtt.statestream_prefix: null
    assert (await ask(off, text))[1] == (expected or "")


# -- what the statestream keeps, and garbage ------------------------------------------------------------


def test_only_weather_sun_and_calendar_attributes_are_kept(caplog) -> None:
    link, registry, _ = house()
    stream = registry.statestream
    assert stream is not None
    assert stream.attributes("weather.forecast_home") == {
        k: float(v) if isinstance(v, int) else v for k, v in WEATHER.items()
        if k in ("temperature", "apparent_temperature", "dew_point", "humidity", "pressure", "wind_speed",
                 "wind_bearing", "temperature_unit", "wind_speed_unit", "pressure_unit", "precipitation_unit")
    }  # fmt: skip
    assert set(stream.attributes("sun.sun")) == {
        "next_rising",
        "next_setting",
        "next_dawn",
        "next_dusk",
        "next_noon",
    }
    assert stream.attributes("calendar.family")["all_day"] is False
    publish(link, "light.porch", "on", {"brightness": 255, "friendly_name": "Porch"})
    assert stream.attributes("light.porch") == {} and registry.get("light.porch") is not None
    publish(link, "calendar.family", None, {"description": "x" * 3000})
    assert stream.attributes("calendar.family")["description"] == "x" * MAX_ATTRIBUTE_TEXT


def test_garbage_attributes_are_logged_and_ignored(caplog) -> None:
    link, registry, _ = house()
    stream = registry.statestream
    assert stream is not None
    publish(link, "weather.forecast_home", None, {"forecast": DAILY})
    weather = f"{SS}/weather/forecast_home"
    with caplog.at_level(logging.DEBUG, logger="homeplm"):
        link.inject(f"{weather}/forecast", b'[{"datetime": "2026-11-27T11:00:00+00:00", "cond')  # cut short
        assert "forecast" not in stream.attributes("weather.forecast_home")  # not left at the old one
        link.inject(f"{weather}/forecast", json.dumps([{"datetime": "2026-11-27T11:00:00+00:00"}] * 5000))
        link.inject(f"{weather}/forecast", b'"sunny all week"')
        link.inject(f"{weather}/temperature", b"[12, 13]")
        link.inject(f"{weather}/humidity", b"NaN")
        link.inject(f"{weather}/pressure", b"1e999")
        link.inject(f"{weather}/apparent_temperature", b"9" * 4000)
        link.inject(f"{weather}/wind_speed", b"\xff\xfe\x00garbage")
        link.inject(f"{weather}/dew_point", b"[" * 100_000 + b"]" * 100_000)
        link.inject(f"{SS}/sun/sun/next_setting", b"1795000000")
        link.inject(f"{SS}/calendar/family/start_time", b'"next tuesday-ish"')
        link.inject(f"{SS}/calendar/family/all_day", b'{"a": 1}')
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "weather/forecast_home/forecast" in warned and "too large" in warned
    attrs = stream.attributes("weather.forecast_home")
    assert "forecast" not in attrs and "temperature" not in attrs and "wind_speed" not in attrs
    assert "humidity" not in attrs and "pressure" not in attrs and "dew_point" not in attrs
    assert "apparent_temperature" not in attrs
    assert stream.attributes("sun.sun")["next_setting"] == 1795000000.0
    forecast = [{"datetime": "2026-11-27T11:00:00+00:00", "condition": ["rainy"], "temperature": "warm",
                 "precipitation_probability": True}, "garbage", 7, {"no": "datetime"}]  # fmt: skip
    publish(link, "weather.forecast_home", None, {"forecast": forecast})
    assert stream.attributes("weather.forecast_home")["forecast"] == (
        {"datetime": "2026-11-27T11:00:00+00:00", "temperature": "warm", "precipitation_probability": True},
    )  # kept as sent; read as numbers only where they are numbers
    route = IntentRoute([HomeFacts(stream, BERLIN, lambda: NOW)])

    async def replies() -> list[str]:
        said = []
        for text in ("what's the weather like", "will it rain today", "when is sunset", "what's on tomorrow"):
            said.append((await ask(route, text))[1])
        return said

    assert asyncio.run(replies()) == [
        "It's cloudy outside.",
        "No, it should stay dry today.",
        "Home Assistant's sun doesn't say when sunset is.",
        "Nothing on the calendar tomorrow; the next thing is Standup, on Monday at 9 am.",
    ]


# -- the real thing: HouseLink's plug-ins on a real mosquitto, asked through the brain ---------------


def _has_mosquitto() -> bool:
    return bool(shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists())


@pytest.mark.skipif(not _has_mosquitto(), reason="mosquitto is not installed")
async def test_through_a_real_broker_and_the_brain(broker: Broker) -> None:
    from homeplm.assistant import build_brain
    from homeplm.mqtt.house_link import HouseLink

    client = MqttClient(broker)
    sunset = (datetime.now(UTC) + timedelta(minutes=3)).replace(microsecond=0)
    try:
        retained = [(f"{SS}/weather/forecast_home/state", "cloudy")]
        retained += [(f"{SS}/weather/forecast_home/{k}", json.dumps(v)) for k, v in WEATHER.items()]
        retained += [
            (f"{SS}/sun/sun/state", "above_horizon"),
            (f"{SS}/sun/sun/next_setting", json.dumps(sunset.isoformat())),
        ]
        client.publish_all(retained, retain=True)
    finally:
        client.close()
    settings = Settings(
        mqtt=MqttSettings(host=broker.host, port=broker.port, client_id="homeplm-home-facts-test"),
        assistant=AssistantSettings(timezone="UTC"),
    )
    house_link = HouseLink(settings)
    plugins = house_link.plugins()
    assert [type(h).__name__ for h in plugins.intents] == ["SentenceIntents", "DeviceIntents", "HomeFacts"]
    await house_link.start()
    try:
        stream = house_link.registry.statestream
        assert stream is not None
        await wait_for(lambda: "next_setting" in stream.attributes("sun.sun"), timeout=10)
        await wait_for(
            lambda: "apparent_temperature" in stream.attributes("weather.forecast_home"), timeout=10
        )
        chat = FakeChat("Why did the chicken cross the road?")
        brain = build_brain(settings, chat, None, plugins.intents)

        async def say(text: str) -> tuple[str, str]:
            turn = Turn(text, source="cli")
            reply = "".join([t async for t in brain.reply(turn)])
            return turn.record["route"], reply

        assert await say("what's the weather like?") == ("intent:home.weather", NOW_LINE)
        assert await say("will it rain tomorrow?") == (
            "intent:home.rain",
            f"{NO_FORECAST}, so I can't tell you about tomorrow. Right now {LOWER_NOW_LINE}",
        )
        route, reply = await say("how long until sunset")
        assert route == "intent:home.countdown" and reply.startswith("Sunset is in "), reply
        route, reply = await say("tell me a joke")
        assert (route, reply.strip()) == ("llm", chat.reply)  # the language model's, not a home fact
    finally:
        await house_link.stop()
