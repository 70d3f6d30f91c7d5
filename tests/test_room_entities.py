"""Each satellite room as its own device in Home Assistant (issue 14): the discovery payloads, and the
room bridge over a real mosquitto on loopback with fake satellites (tests/test_satellites.py)."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace

from homeplm.backends.mqtt_paho import PahoLink
from homeplm.config.schema import MqttSettings
from homeplm.mqtt import ha_entities as disco
from homeplm.mqtt import room_entities as rooms_disco
from homeplm.mqtt.room_bridge import RoomBridge
from homeplm.mqtt.room_entities import Room
from homeplm.wyoming import satellites as sat
from tests.fakes import chunks
from tests.harness import MqttClient, link_settings, wait_for
from tests.test_satellites import QUESTION, FakeSatellite, start_rooms

SETTINGS = MqttSettings(host="127.0.0.1")
KITCHEN = Room("kitchen", "Kitchen", "Kitchen")
OFFICE = Room("office", "Office")
ROOMS = "homeplm/homeplm/rooms"


def test_every_room_payload_is_valid_and_its_own() -> None:
    own = {p["unique_id"] for _, p in disco.discovery_messages(SETTINGS)}
    seen: set[str] = set()
    for room in (KITCHEN, OFFICE):
        messages = rooms_disco.discovery_messages(SETTINGS, room)
        assert {t.split("/")[1] for t, _ in messages} == {"sensor", "switch"}
        for topic, payload in messages:
            component = topic.split("/")[1]
            assert disco.validate_discovery(component, payload) == [], topic
            assert topic.startswith(f"homeassistant/{component}/homeplm/room_{room.slug}_")
            assert payload["unique_id"] not in seen | own
            seen.add(payload["unique_id"])
            device = payload["device"]
            assert device["identifiers"] == [f"homeplm_{room.slug}"] and device["via_device"] == "homeplm"
            assert device["name"] == f"homeplm {room.name}"
            assert device.get("suggested_area") == (room.area or None)
            assert "availability_topic" not in payload and payload["availability_mode"] == "all"
            assert [a["topic"] for a in payload["availability"]] == [
                "homeplm/homeplm/availability",
                f"{ROOMS}/{room.slug}/availability",
            ]
            for key, value in payload.items():
                if key.endswith("_topic"):
                    assert value.startswith(f"{ROOMS}/{room.slug}/"), (key, value)
            json.dumps(payload)
    assert len(seen) == 6


def test_the_validator_checks_the_availability_list() -> None:
    (topic, payload), *_ = rooms_disco.discovery_messages(SETTINGS, KITCHEN)
    both = {**payload, "availability_topic": "homeplm/homeplm/availability"}
    assert disco.validate_discovery("sensor", both) == [
        "availability and availability_topic must not be used together"
    ]
    assert disco.validate_discovery("sensor", {**payload, "availability": []})
    assert disco.validate_discovery("sensor", {**payload, "availability": [{"topic": "a/+/b"}]})
    assert disco.validate_discovery("sensor", {**payload, "availability_mode": "most"})
    none = {k: v for k, v in payload.items() if k != "availability"}
    assert disco.validate_discovery("sensor", none) == ["availability_topic is required"]
    assert disco.validate_discovery("sensor", {**payload, "device": {**payload["device"], "via_device": 1}})


def test_room_slugs_are_safe_and_distinct() -> None:
    assert rooms_disco.room_slugs(["Living room", "living-room", "Küche", "客厅"])[:3] == [
        "living_room",
        "living_room_2",
        "k_che",
    ]
    assert rooms_disco.room_slug("客厅").startswith("room_")


def test_the_last_turn_says_what_was_said_only_where_allowed() -> None:
    private = replace(SETTINGS, publish_transcript=False, publish_reply=False)
    turn = {"route": "intent:everyday.sum", "outcome": "ok", "latency_ms": 812.4}
    said = {"transcript": "what is my bank PIN", "reply": "It is 1234."}
    state, attributes = rooms_disco.last_turn(private, **turn, **said)
    assert state == "intent:everyday.sum ok"
    assert attributes == {"route": "intent:everyday.sum", "outcome": "ok", "latency_ms": 812}
    assert "PIN" not in state + json.dumps(attributes) and "1234" not in json.dumps(attributes)
    state, attributes = rooms_disco.last_turn(SETTINGS, **turn, **said)
    assert (attributes["transcript"], attributes["reply"]) == (said["transcript"], said["reply"])
    assert state == "intent:everyday.sum ok", "the state never holds what was said"
    assert rooms_disco.last_turn(SETTINGS, route=None, outcome="no-speech")[0] == "no-speech"


# -- over a real broker ---------------------------------------------------------------------------------


class Leaving(FakeSatellite):
    """A fake satellite that can drop off: its connections are closed with its server."""

    writers: list[asyncio.StreamWriter]

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers = [*getattr(self, "writers", []), writer]
        await super()._session(reader, writer)

    async def stop(self) -> None:
        for writer in getattr(self, "writers", []):
            writer.close()
        await super().stop()


class Rig:
    """homeplm's link to the broker, the fake satellites' rooms, the room bridge, and an observer."""

    async def start(self, broker, *satellites: FakeSatellite, **overrides) -> Rig:
        self.settings = link_settings(broker, **overrides)
        self.link = PahoLink(
            self.settings,
            asyncio.get_running_loop(),
            availability_topic=disco.availability_topic(self.settings),
        )
        self.observer = MqttClient(broker, "#")
        await self.link.start()
        await wait_for(lambda: self.link.connected)
        self.satellites = await start_rooms(*satellites)
        self.bridge = RoomBridge(self.link, self.settings, self.satellites.rooms, jitter=lambda: 0.0)
        self.bridge.start()
        await asyncio.sleep(0.3)  # the mute subscriptions acknowledged
        return self

    def last(self, room: str, key: str) -> bytes | None:
        return self.observer.last(f"{ROOMS}/{room}/{key}")

    def states(self, room: str) -> list[bytes]:
        return self.observer.payloads(f"{ROOMS}/{room}/state")

    async def stop(self) -> None:
        await self.satellites.close()
        self.bridge.stop()
        await self.link.stop()
        self.observer.close()


async def test_each_room_is_discovered_and_online_while_its_satellite_is(broker, monkeypatch) -> None:
    monkeypatch.setattr(sat, "BACKOFF_S", (0.05,))
    async with Leaving([]) as kitchen, FakeSatellite([]) as office:
        rig = await Rig().start(broker, kitchen, office)
        try:
            await wait_for(
                lambda: rig.last("room0", "availability") == rig.last("room1", "availability") == b"online"
            )
            late = MqttClient(broker, "homeassistant/#")  # a Home Assistant that starts now
            topics = [t for r in ("room0", "room1") for t, _ in rooms_disco.discovery_messages(
                rig.settings, Room(r, r))]  # fmt: skip
            await wait_for(lambda: all(late.last(t) for t in topics))
            assert all(retained for t, _, retained in late.messages if t in topics)
            config = json.loads(late.last(topics[0]) or b"{}")
            assert config["device"]["suggested_area"] == "Area 0" and config["name"] == "Assist state"
            late.close()
            await kitchen.stop()  # the kitchen's satellite drops off; the office stays
            await wait_for(lambda: rig.last("room0", "availability") == b"offline")
            assert rig.last("room1", "availability") == b"online"
            late = MqttClient(broker, f"{ROOMS}/+/availability")  # and one that starts after that
            await wait_for(lambda: len(late.messages) == 2)
            assert sorted(late.messages) == [
                (f"{ROOMS}/room0/availability", b"offline", True),
                (f"{ROOMS}/room1/availability", b"online", True),
            ]
            late.close()
        finally:
            await rig.stop()


async def test_a_question_moves_the_room_s_assist_state_and_sets_its_last_turn(broker) -> None:
    async with FakeSatellite(chunks(*QUESTION)) as kitchen, FakeSatellite([]) as office:
        rig = await Rig().start(broker, kitchen, office, publish_transcript=False, publish_reply=False)
        try:
            await wait_for(lambda: rig.last("room0", "last_turn") is not None)
            await wait_for(lambda: rig.last("room0", "state") == b"idle")
            states = rig.states("room0")
            moves = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
            order = [moves.index(s) for s in (b"listening", b"thinking", b"speaking")]
            assert order == sorted(order) and moves[-1] == b"idle", moves
            assert rig.last("room0", "last_turn") == b"llm ok"
            attributes = json.loads(rig.last("room0", "last_turn_attributes") or b"{}")
            assert attributes["route"] == "llm" and attributes["outcome"] == "ok"
            assert isinstance(attributes["latency_ms"], int) and attributes["latency_ms"] >= 0
            assert "transcript" not in attributes and "reply" not in attributes
            assert set(rig.states("room1")) == {b"idle"}, "the other room stayed idle"
        finally:
            await rig.stop()


async def test_the_mute_switch_mutes_that_room_only_and_bad_payloads_are_ignored(broker, caplog) -> None:
    async with FakeSatellite([]) as kitchen, FakeSatellite([]) as office:
        rig = await Rig().start(broker, kitchen, office)
        try:
            await wait_for(lambda: rig.last("room0", "mute") == b"OFF")
            with caplog.at_level(logging.WARNING, logger="homeplm.mqtt.room_bridge"):
                rig.observer.publish(f"{ROOMS}/room0/mute/set", "MAYBE")
                rig.observer.publish(f"{ROOMS}/room0/mute/set", "ON")
                await wait_for(
                    lambda: (rig.last("room0", "mute"), rig.last("room0", "state")) == (b"ON", b"muted")
                )
            kitchen_room, office_room = rig.satellites.rooms
            assert kitchen_room.listener.muted and not office_room.listener.muted
            assert rig.last("room1", "mute") == b"OFF" and rig.last("room1", "state") == b"idle"
            bad = [r for r in caplog.records if r.levelno >= logging.WARNING]
            assert len(bad) == 1 and "MAYBE" in bad[0].getMessage() and not bad[0].exc_info
            rig.observer.publish(f"{ROOMS}/room0/mute/set", "OFF")
            await wait_for(
                lambda: rig.last("room0", "mute") == b"OFF" and rig.last("room0", "state") == b"idle"
            )
            assert not kitchen_room.listener.muted
        finally:
            await rig.stop()


async def test_home_assistant_s_birth_announces_the_rooms_again(broker) -> None:
    async with FakeSatellite([]) as kitchen:
        rig = await Rig().start(broker, kitchen)
        try:
            topic = rooms_disco.discovery_messages(rig.settings, Room("room0", "room0"))[0][0]
            await wait_for(lambda: rig.observer.last(topic))
            before = len(rig.observer.payloads(topic))
            rig.observer.publish("homeassistant/status", "online")
            await wait_for(lambda: len(rig.observer.payloads(topic)) > before)
        finally:
            await rig.stop()


async def test_the_daemon_s_house_link_shows_the_rooms_on_its_own_connection(broker) -> None:
    from homeplm.config.schema import Settings
    from homeplm.mqtt.house_link import HouseLink

    observer = MqttClient(broker, f"{ROOMS}/#")
    house = HouseLink(Settings(mqtt=link_settings(broker)))
    await house.start()
    async with FakeSatellite([]) as kitchen:
        satellites = await start_rooms(kitchen)
        try:
            house.show_rooms(satellites)
            await wait_for(lambda: observer.last(f"{ROOMS}/room0/availability") == b"online")
            assert house.rooms.rooms[0].satellite is satellites.rooms[0]
        finally:
            await satellites.close()
            await wait_for(lambda: observer.last(f"{ROOMS}/room0/availability") == b"offline")
            await house.stop()
            observer.close()
