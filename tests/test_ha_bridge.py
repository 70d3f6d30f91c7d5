"""The Home Assistant bridge: discovery payloads, commands and state over a real mosquitto on loopback."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import replace

import pytest

from homeplm.backends.mqtt_paho import PahoLink
from homeplm.config.schema import MqttSettings
from homeplm.core.events import EventType, PipelineEvent
from homeplm.mqtt import ha_entities as discovery
from homeplm.mqtt.bridge import HomeAssistantBridge
from tests.fakes import FakeControl
from tests.harness import MqttClient, link_settings, wait_for

BASE = "homeplm/homeplm"


def all_configs(settings: MqttSettings) -> list[str]:
    return [topic for topic, _ in discovery.discovery_messages(settings)]


class Rig:
    """A PahoLink + bridge + fake control on the test broker, and an observer."""

    async def start(self, broker, **overrides) -> Rig:
        self.settings = link_settings(broker, **overrides)
        self.link = PahoLink(
            self.settings,
            asyncio.get_running_loop(),
            availability_topic=discovery.availability_topic(self.settings),
        )
        self.control = FakeControl()
        self.bridge = HomeAssistantBridge(self.link, self.settings, self.control, jitter=lambda: 0.0)
        self.observer = MqttClient(broker, "#")
        self.bridge.start()
        await self.link.start()
        last = all_configs(self.settings)[-1]
        await wait_for(lambda: self.observer.last(last) and self.observer.last(f"{BASE}/state"))
        await asyncio.sleep(0.2)  # command subscriptions acknowledged
        return self

    def send(self, key: str, payload: str | bytes) -> None:
        self.observer.publish(f"{BASE}/{key}/set", payload)

    def last(self, key: str) -> bytes | None:
        return self.observer.last(f"{BASE}/{key}")

    async def stop(self) -> None:
        await self.bridge.stop()
        await self.link.stop()
        self.observer.close()


@pytest.mark.parametrize("private", [False, True])
def test_every_discovery_payload_is_valid(private: bool) -> None:
    settings = MqttSettings(host="127.0.0.1", publish_transcript=not private, publish_reply=not private)
    messages = discovery.discovery_messages(settings)
    unique_ids = [payload["unique_id"] for _, payload in messages]
    assert len(unique_ids) == len(set(unique_ids))
    for topic, payload in messages:
        match = re.fullmatch(r"homeassistant/(\w+)/homeplm/(\w+)/config", topic)
        assert match, topic
        component, key = match.groups()
        assert discovery.validate_discovery(component, payload) == [], topic
        assert payload["unique_id"] == f"homeplm_{key}"
        assert payload["availability_topic"] == "homeplm/homeplm/availability"
        assert payload["device"]["identifiers"] == ["homeplm"]
        json.dumps(payload)
    keys = {topic.split("/")[3] for topic, _ in messages}
    assert ("last_transcript" in keys) is not private and ("last_reply" in keys) is not private
    assert {"state", "last_latency", "mute", "private", "wake_word", "sensitivity", "volume"} <= keys
    assert {"announce", "ask", "intent", "forget_last"} <= keys


def test_validator_catches_what_home_assistant_rejects() -> None:
    settings = MqttSettings(host="127.0.0.1")
    payloads = {t.split("/")[3]: (t.split("/")[1], p) for t, p in discovery.discovery_messages(settings)}
    component, select = payloads["wake_word"]
    assert discovery.validate_discovery(component, {**select, "options": []})
    no_command = {k: v for k, v in select.items() if k != "command_topic"}
    assert discovery.validate_discovery(component, no_command) == ["command_topic is required"]
    component, event = payloads["intent"]
    assert discovery.validate_discovery(component, {**event, "event_types": []})
    component, sensor = payloads["state"]
    assert discovery.validate_discovery(component, {k: v for k, v in sensor.items() if k != "state_topic"})
    assert discovery.validate_discovery(component, {**sensor, "state_topic": "homeplm/+/state"})
    assert discovery.validate_discovery(component, {**sensor, "unique_id": ""})
    assert discovery.validate_discovery("light", sensor) == ["unknown component 'light'"]


async def test_commands_reach_the_assistant(broker) -> None:
    rig = await Rig().start(broker)
    assert rig.last("mute") == b"OFF" and rig.last("wake_word") == b"hey_jarvis"
    assert rig.observer.last("homeplm/homeplm/availability") == b"online"
    rig.send("mute", "ON")
    rig.send("private", "ON")
    rig.send("wake_word", "alexa")
    rig.send("sensitivity", "0.6")
    rig.send("volume", "50")  # Home Assistant's slider: percent
    rig.send("announce", "  dinner is ready  ")
    rig.send("ask", "what time is it")
    rig.send("forget_last", "PRESS")
    await wait_for(lambda: len(rig.control.calls) == 8)
    assert [c for c in rig.control.calls if c[0] in ("muted", "private", "sensitivity", "volume")] == [
        ("muted", True),
        ("private", True),
        ("sensitivity", 0.6),
        ("volume", 0.5),
    ]
    assert {c for c in rig.control.calls if c[0] not in ("muted", "private", "sensitivity", "volume")} == {
        ("wake_word", "alexa"),  # a model loads in the background: it settles in its own time
        ("announce", "dinner is ready"),
        ("ask", "what time is it"),
        ("forget_last",),
    }
    await wait_for(lambda: rig.last("ask") == b"the answer to what time is it")
    assert rig.last("mute") == b"ON" and rig.last("private") == b"ON" and rig.last("state") == b"muted"
    assert (rig.last("wake_word"), rig.last("sensitivity"), rig.last("volume")) == (b"alexa", b"0.6", b"50")
    await rig.stop()


async def test_malformed_commands_are_ignored(broker, caplog) -> None:
    rig = await Rig().start(broker)
    bad = [
        ("sensitivity", "banana"),
        ("sensitivity", "nan"),
        ("volume", "2.5e9"),
        ("volume", "-1"),
        ("wake_word", "ok_computer"),
        ("mute", "MAYBE"),
        ("announce", "   "),
        ("ask", ""),
        ("forget_last", ""),
        ("private", b"\xff\xfe"),
    ]
    with caplog.at_level(logging.DEBUG, logger="homeplm.mqtt.bridge"):
        for key, payload in bad:
            rig.send(key, payload)
        rig.send("volume", "50")  # the bridge still works (percent)
        await wait_for(lambda: rig.control.calls)
    assert rig.control.calls == [("volume", 0.5)]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert sorted(r.args[0] for r in warnings) == sorted({key for key, _ in bad})  # once per entity
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    await rig.stop()


# Fields the state tests do not care about, so each event can be built from its kind alone.
_FIELDS: dict[EventType, dict[str, object]] = {
    EventType.WAKE: {"name": "hey_jarvis", "score": 0.9},
    EventType.SPEECH_END: {"speech_ms": 1200, "reason": "silence"},
    EventType.AUDIO_OUT: {"sample_rate": 22050},
    EventType.RUN_END: {"outcome": "ok"},
    EventType.ERROR: {"code": "stt", "message": "boom"},
    EventType.FOLLOW_UP: {"window_ms": 5000, "reason": "question"},
}


def event(kind: EventType, t: float = 0.0, **data: object) -> PipelineEvent:
    return PipelineEvent.of(kind, run_id=7, timestamp_ms=t, **{**_FIELDS.get(kind, {}), **data})


async def test_events_drive_the_state_sensor(broker) -> None:
    rig = await Rig().start(broker)
    seen: list[bytes] = []
    for kind, state in [
        (EventType.WAKE, b"listening"),
        (EventType.SPEECH_END, b"thinking"),
        (EventType.AUDIO_OUT, b"speaking"),
        (EventType.RUN_END, b"idle"),
        (EventType.FOLLOW_UP, b"listening (follow-up)"),
        (EventType.ERROR, b"error"),
    ]:
        rig.bridge.on_event(event(kind, 1000.0 if kind is EventType.SPEECH_END else 1850.0))
        if kind is EventType.SPEECH_END:
            rig.bridge.on_event(event(EventType.TRANSCRIPT, text="turn on the light"))
            rig.bridge.on_event(event(EventType.REPLY_END, text="Done.", route="intent:light_on"))
        await wait_for(lambda state=state: rig.last("state") == state)
        seen.append(state)
    assert rig.last("last_latency") == b"850"
    assert rig.last("last_transcript") == b"turn on the light"
    assert rig.last("last_reply") == b"Done."
    intent = json.loads(rig.last("intent") or b"{}")
    assert intent["event_type"] == "intent" and intent["intent"] == "light_on"
    rig.bridge.on_event(event(EventType.REPLY_END, text="Hello.", route="llm"))
    rig.bridge.on_event(event(EventType.RUN_END))
    await wait_for(lambda: rig.last("last_reply") == b"Hello." and rig.last("state") == b"idle")
    assert len(rig.observer.payloads(f"{BASE}/intent")) == 1, "only intent routes make intent events"
    await rig.stop()


async def test_transcript_and_reply_stay_private_when_disabled(broker) -> None:
    rig = await Rig().start(broker, publish_transcript=False, publish_reply=False)
    rig.bridge.on_event(event(EventType.TRANSCRIPT, text="my secret"))
    rig.bridge.on_event(event(EventType.REPLY_END, text="your secret", route="llm"))
    rig.bridge.on_event(event(EventType.RUN_END))
    rig.observer.publish("homeplm/probe", b"x")  # everything published before it has arrived
    await wait_for(lambda: rig.observer.last("homeplm/probe"))
    await asyncio.sleep(0.1)
    assert not any(b"secret" in payload for _, payload, _ in rig.observer.messages)
    assert rig.last("last_transcript") is None and rig.last("last_reply") is None
    removed = "homeassistant/sensor/homeplm/last_transcript/config"
    assert rig.observer.last(removed) == b"", "an entity turned off is removed from Home Assistant"
    await rig.stop()


async def test_home_assistant_birth_republishes_discovery(broker) -> None:
    rig = await Rig().start(broker)
    config = all_configs(rig.settings)[0]
    before = len(rig.observer.payloads(config))
    rig.observer.publish("homeassistant/status", "offline")
    rig.observer.publish("homeassistant/status", "online")
    await wait_for(lambda: len(rig.observer.payloads(config)) == before + 1)
    await asyncio.sleep(0.2)
    assert len(rig.observer.payloads(config)) == before + 1
    await rig.stop()


async def test_broker_restart_republishes_availability_and_state(broker) -> None:
    rig = await Rig().start(broker)
    rig.send("wake_word", "okay_nabu")
    await wait_for(lambda: rig.last("wake_word") == b"okay_nabu")
    rig.observer.close()
    broker.stop()  # no persistence: every retained message is lost
    await wait_for(lambda: not rig.link.connected)
    broker.start()
    rig.observer = MqttClient(broker, "#")
    await wait_for(lambda: rig.observer.last("homeplm/homeplm/availability") == b"online", timeout=15)
    await wait_for(lambda: rig.last("wake_word") == b"okay_nabu" and rig.last("state") == b"idle")
    await wait_for(lambda: all(rig.observer.last(topic) for topic in all_configs(rig.settings)))
    rig.send("mute", "ON")  # command subscriptions renewed
    await wait_for(lambda: ("muted", True) in rig.control.calls)
    await rig.stop()


def test_settings_replace_keeps_topics_under_prefix() -> None:
    settings = replace(MqttSettings(host="127.0.0.1"), topic_prefix="house", node_id="kitchen")
    for topic, payload in discovery.discovery_messages(settings):
        assert topic.startswith("homeassistant/") and "/kitchen/" in topic
        for key, value in payload.items():
            if key.endswith("_topic"):
                assert value.startswith("house/kitchen/"), (key, value)
