"""The house over a real broker: retained discovery from three device families, typed commands,
exactly the expected publications on the wire; retained garbage does not stop it."""

from __future__ import annotations

import asyncio

import paho.mqtt.client as mqtt
import pytest

from homeplm.brain.intents.router import IntentRoute
from homeplm.config.schema import MqttSettings
from homeplm.core.stages import Turn
from homeplm.house import DeviceActions, DeviceIntents, DeviceRegistry
from homeplm.mqtt.types import MessageHandler, MqttMessage
from tests.harness import publish_house, wait_for

COMMAND_TOPICS = ["zigbee2mqtt/#", "cmnd/#", "esp32/cover/#"]


class ThreadLink:
    """A tiny MqttLink over paho, handlers called on the asyncio loop (for this test only)."""

    def __init__(self, port: int, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.handlers: list[tuple[str, MessageHandler]] = []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="house-test")
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc, p: [c.subscribe(pat) for pat, _ in self.handlers]
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    @property
    def connected(self) -> bool:
        return self.client.is_connected()

    def publish(self, topic: str, payload: str | bytes, *, retain: bool = False, qos: int = 0) -> None:
        self.client.publish(topic, payload, qos=qos, retain=retain)

    def subscribe(self, pattern: str, handler: MessageHandler) -> None:
        self.handlers.append((pattern, handler))
        self.client.subscribe(pattern)

    def on_connect(self, callback) -> None:
        pass

    def _on_message(self, client, userdata, msg) -> None:
        message = MqttMessage(msg.topic, bytes(msg.payload), bool(msg.retain))
        for pattern, handler in list(self.handlers):
            if mqtt.topic_matches_sub(pattern, msg.topic):
                self.loop.call_soon_threadsafe(handler, message)

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


async def test_house_over_a_real_broker(broker, mqtt_client) -> None:
    publish_house(broker)
    recorder = mqtt_client(broker, *COMMAND_TOPICS)  # what the house publishes on command topics

    def seen() -> list[tuple[str, str]]:
        with recorder.lock:
            return [(t, p.decode()) for t, p, retained in recorder.messages if not retained]

    link = ThreadLink(broker.port, asyncio.get_running_loop())
    try:
        settings = MqttSettings(host="127.0.0.1", port=broker.port, max_payload_bytes=4096)
        registry = DeviceRegistry(link, settings)
        registry.start()
        await wait_for(lambda: len(registry.devices()) == 4, timeout=5.0)
        await wait_for(lambda: registry.get("esp32_temp").state.get("state") == "20.25", timeout=5.0)
        route = IntentRoute([DeviceIntents(registry, DeviceActions(link, registry))])
        commands = [
            ("turn on the hall light", ("zigbee2mqtt/Hall Lamp/set", '{"state": "ON"}')),
            ("set the hall lamp to 50%", ("zigbee2mqtt/Hall Lamp/set", '{"state": "ON", "brightness": 128}')),
            ("switch on the kettle", ("cmnd/kettle/POWER", "ON")),
            ("kettle off", ("cmnd/kettle/POWER", "OFF")),
            ("close the garden blind", ("esp32/cover/garden_blind/command", "CLOSE")),
            ("set the garden blind to 40 percent", ("esp32/cover/garden_blind/position/command", "40")),
        ]
        for text, _ in commands:
            turn = Turn(text, source="cli")
            assert route.accepts(turn) is not None, text
            reply = "".join([t async for t in route.reply(turn)])
            assert reply.startswith("Okay"), (text, reply)
        expected = [pub for _, pub in commands]
        await wait_for(lambda: len(seen()) >= len(expected), timeout=5.0)
        await asyncio.sleep(0.2)  # nothing more arrives
        assert seen() == expected
        turn = Turn("what is the temperature in the study")
        assert route.accepts(turn) is not None
        assert "".join([t async for t in route.reply(turn)]) == "It's 20.25 degrees in the study."
    finally:
        link.stop()


@pytest.fixture(autouse=True)
def _needs_mosquitto() -> None:
    import shutil
    from pathlib import Path

    if not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        pytest.skip("mosquitto is not installed")
