"""Room-aware device control (issue 14): a satellite's turn carries its room (Turn.room), and a command
that names no area and no device means that room's devices of the kind — as Home Assistant's Assist
does with a satellite's area. Run on the corpus's zigbee2mqtt house (tests/houses/zigbee2mqtt.json), in
memory: its discovery and retained states injected into a FakeLink, every publication checked exactly."""

from __future__ import annotations

import json
from typing import Any

import pytest

from homeplm.brain.intents.router import IntentRoute
from homeplm.config.schema import MqttSettings
from homeplm.core.stages import Turn
from homeplm.house import DeviceActions, DeviceIntents, DeviceRegistry
from tests.fakes import FakeLink
from tests.test_house_corpus import HOUSES, counts


class House:
    def __init__(self, name: str) -> None:
        self.link = FakeLink()
        self.registry = DeviceRegistry(self.link, MqttSettings(host="127.0.0.1"))
        self.registry.start()
        for m in json.loads((HOUSES / f"{name}.json").read_text(encoding="utf-8")):
            payload = m["payload"] if isinstance(m["payload"], (str, dict)) else json.dumps(m["payload"])
            self.link.inject(m["topic"], payload, retain=m.get("retain", True))
        self.route = IntentRoute([DeviceIntents(self.registry, DeviceActions(self.link, self.registry))])
        self.link.published.clear()
        self.turn: Turn | None = None

    async def say(self, text: str, room: str | None = None) -> str | None:
        """The reply; `published` then holds exactly what the utterance published."""
        self.link.published.clear()
        self.turn = turn = Turn(text, room=room)
        if self.route.accepts(turn) is None:
            return None
        return "".join([t async for t in self.route.reply(turn)])

    def published(self) -> Any:
        return counts(self.link.published)


@pytest.fixture()
def house() -> House:
    return House("zigbee2mqtt")


KITCHEN_ON = [("zigbee2mqtt/kitchen_ceiling/set", {"state": "ON"})]
BEDROOM_ON = [("zigbee2mqtt/bedroom_ceiling/set", {"state": "ON"})]


def expect(publications: list[tuple[str, Any]]) -> Any:
    return counts((t, json.dumps(p) if isinstance(p, dict) else p) for t, p in publications)


@pytest.mark.parametrize("text", ["turn on the light", "switch the light on", "light on please"])
async def test_the_light_is_the_asking_rooms(house: House, text: str) -> None:
    reply = await house.say(text, room="Kitchen")
    assert reply is not None and reply.startswith("Okay"), reply
    assert house.published() == expect(KITCHEN_ON)
    assert house.turn is not None and house.turn.record.get("room") == "Kitchen"
    reply = await house.say(text, room="Bedroom")
    assert reply is not None and reply.startswith("Okay"), reply
    assert house.published() == expect(BEDROOM_ON)


async def test_without_a_room_nothing_changes(house: House) -> None:
    without = await house.say("turn on the light")
    before = house.published()
    assert await house.say("turn on the light", room=None) == without
    assert house.published() == before
    assert house.turn is not None and "room" not in house.turn.record
    # a room with no light of its own (the garage): today's house-wide answer
    assert await house.say("turn on the light", room="Garage") == without
    assert house.published() == before


async def test_the_lights_are_every_light_of_the_room_only(house: House) -> None:
    reply = await house.say("turn off the lights", room="Living Room")
    assert reply is not None and reply.startswith("Okay"), reply
    living = expect(
        [
            ("zigbee2mqtt/Living Room Lamp/set", {"state": "OFF"}),
            ("zigbee2mqtt/Ceiling 2/set", {"state": "OFF"}),
        ]
    )
    assert house.published() == living
    assert await house.say("lights off", room="Living Room") == reply
    assert house.published() == living


async def test_what_was_said_wins(house: House) -> None:
    await house.say("turn on the office light", room="Kitchen")
    assert house.published() == expect([("zigbee2mqtt/Desk Lamp/set", {"state": "ON"})])
    await house.say("turn on the porch light", room="Kitchen")
    assert house.published() == expect([("zigbee2mqtt/Porch Light/set", {"state": "ON"})])
    await house.say("turn off the ceiling light in the bedroom", room="Kitchen")
    assert house.published() == expect([("zigbee2mqtt/bedroom_ceiling/set", {"state": "OFF"})])


async def test_a_room_without_that_kind_is_answered_as_today(house: House) -> None:
    today = await house.say("close the blinds")
    before = house.published()
    assert await house.say("close the blinds", room="Kitchen") == today
    assert house.published() == before
    assert house.turn is not None and "room" not in house.turn.record


async def test_all_the_lights_stays_house_wide(house: House) -> None:
    for text in ("turn off all the lights", "all the lights off"):
        today = await house.say(text)
        before = house.published()
        assert len(house.link.published) > 2
        assert await house.say(text, room="Kitchen") == today
        assert house.published() == before


@pytest.mark.parametrize("text", ["how warm is it", "what's the temperature"])
async def test_how_warm_is_the_asking_rooms_reading(house: House, text: str) -> None:
    reply = await house.say(text, room="Kitchen")
    assert reply == "It's 21.3 degrees in the kitchen."

    assert house.link.published == []


async def test_unlocking_in_the_room_still_asks(house: House) -> None:
    reply = await house.say("unlock the door", room="Kitchen")
    assert reply is not None and "sure" in reply.lower() and "Back Door" in reply, reply
    assert house.link.published == []
    assert await house.say("yes", room="Kitchen") == "Okay, unlocking the Back Door."
    assert house.published() == expect([("zigbee2mqtt/Back Door/set", "UNLOCK")])
