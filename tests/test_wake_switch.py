"""Switching the wake word from Home Assistant: the last request wins, and what is published is what
is listening (issue 8: three quick selects left a different model active than the state said)."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest

from homeplm.backends.mqtt_paho import PahoLink
from homeplm.config.schema import MqttSettings, Settings, WakeSettings
from homeplm.core.errors import HomeplmError
from homeplm.daemon import knobs as assistant_control
from homeplm.daemon.knobs import DaemonControl
from homeplm.mqtt import ha_entities as discovery
from homeplm.mqtt.bridge import HomeAssistantBridge
from homeplm.voice.wakephrase import phrases_for
from tests.harness import MqttClient, link_settings, wait_for

BASE = "homeplm/homeplm"


class FakeWake:
    def __init__(self, name: str) -> None:
        self.name = name
        self.threshold = 0.5


class SlowFactory:
    """make_wake with a load time per model name (it runs in a worker thread, as the real one)."""

    def __init__(self, delays: dict[str, float]) -> None:
        self.delays = delays
        self.loads: list[str] = []

    def __call__(self, settings: Settings) -> FakeWake:
        name = settings.wake.models[0]
        self.loads.append(name)
        time.sleep(self.delays.get(name, 0.0))
        if name == "broken":
            raise HomeplmError(f"no wake word model {name}", code="model")
        return FakeWake(name)


def make_control() -> DaemonControl:
    settings = Settings(wake=WakeSettings(models=("hey_jarvis",)))
    pipeline: Any = SimpleNamespace(wake_phrases=phrases_for(["hey_jarvis"]), volume=1.0)
    listener: Any = SimpleNamespace(wake=FakeWake("hey_jarvis"), muted=False)
    return DaemonControl(settings, pipeline, listener, None)


def assert_consistent(control: DaemonControl, name: str) -> None:
    assert control.wake_word == name
    assert control.listener.wake.name == name, "the model listening is the one asked for last"
    assert control.pipeline.wake_phrases == phrases_for([name])
    assert control.snapshot()["wake_word"] == name, "what Home Assistant is told is what listens"


# Load times of (alexa, hey_mycroft, okay_nabu): the first request slowest, the last slowest, …
ROUNDS = [(0.3, 0.1, 0.0), (0.0, 0.1, 0.3), (0.2, 0.0, 0.1), (0.0, 0.0, 0.0), (0.1, 0.3, 0.0)]


@pytest.mark.parametrize("delays", ROUNDS)
async def test_three_quick_selects_last_one_wins(monkeypatch, delays) -> None:
    names = ("alexa", "hey_mycroft", "okay_nabu")
    factory = SlowFactory(dict(zip(names, delays, strict=True)))
    monkeypatch.setattr(assistant_control.factory, "make_wake", factory)
    control = make_control()
    threshold = 0.7
    control.listener.wake.threshold = threshold
    # As the bridge does it: each select spawns a task, a few milliseconds apart.
    tasks = []
    for name in names:
        tasks.append(asyncio.create_task(control.set_wake_word(name)))
        await asyncio.sleep(0.03)
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)
    assert_consistent(control, "okay_nabu")
    assert control.listener.wake.threshold == threshold, "the sensitivity carries over"
    assert factory.loads[0] == "alexa" and factory.loads[-1] == "okay_nabu"
    assert len(factory.loads) == len(set(factory.loads)), "one load at a time, none repeated"


async def test_switching_back_before_the_load_ends_keeps_the_model(monkeypatch) -> None:
    monkeypatch.setattr(assistant_control.factory, "make_wake", SlowFactory({"alexa": 0.2}))
    control = make_control()
    original = control.listener.wake
    first = asyncio.create_task(control.set_wake_word("alexa"))
    await asyncio.sleep(0.05)
    await control.set_wake_word("hey_jarvis")
    await first
    assert_consistent(control, "hey_jarvis")
    assert control.listener.wake is original


async def test_a_model_that_fails_to_load_leaves_the_current_one(monkeypatch, caplog) -> None:
    monkeypatch.setattr(assistant_control.factory, "make_wake", SlowFactory({}))
    control = make_control()
    await control.set_wake_word("alexa")
    await control.set_wake_word("broken")
    assert_consistent(control, "alexa")
    assert any("cannot switch the wake word to broken" in r.getMessage() for r in caplog.records)
    await control.set_wake_word("hey_mycroft")  # and switching still works afterwards
    assert_consistent(control, "hey_mycroft")


@pytest.mark.parametrize("delays", ROUNDS[:3])
async def test_quick_selects_over_the_broker_publish_the_active_model(broker, monkeypatch, delays) -> None:
    names = ("alexa", "hey_mycroft", "okay_nabu")
    monkeypatch.setattr(
        assistant_control.factory, "make_wake", SlowFactory(dict(zip(names, delays, strict=True)))
    )
    settings: MqttSettings = link_settings(broker)
    link = PahoLink(
        settings, asyncio.get_running_loop(), availability_topic=discovery.availability_topic(settings)
    )
    control = make_control()
    bridge = HomeAssistantBridge(link, settings, control, jitter=lambda: 0.0)
    observer = MqttClient(broker, "#")
    bridge.start()
    await link.start()
    await wait_for(lambda: observer.last(f"{BASE}/wake_word") == b"hey_jarvis")
    await asyncio.sleep(0.2)  # the command subscriptions are acknowledged
    for name in names:
        observer.publish(f"{BASE}/wake_word/set", name)
    await wait_for(lambda: control.wake_word == "okay_nabu" and not bridge._tasks)
    await wait_for(lambda: observer.last(f"{BASE}/wake_word") == b"okay_nabu")
    await asyncio.sleep(max(delays) + 0.2)  # nothing later contradicts it
    assert observer.last(f"{BASE}/wake_word") == b"okay_nabu"
    assert_consistent(control, "okay_nabu")
    await bridge.stop()
    await link.stop()
    observer.close()
