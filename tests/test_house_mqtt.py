"""The house over a real broker: retained discovery from three device families, typed commands,
exactly the expected publications on the wire; retained garbage does not stop it."""

from __future__ import annotations

import asyncio
import json
import threading

import paho.mqtt.client as mqtt
import pytest

from homeplm.brain.intents.router import IntentRoute
from homeplm.config.schema import MqttSettings
from homeplm.core.stages import Turn
from homeplm.house import DeviceActions, DeviceIntents, DeviceRegistry
from homeplm.mqtt.types import MessageHandler, MqttMessage

P = "homeassistant"
RETAINED = {
    # zigbee2mqtt json-schema light
    f"{P}/light/0xa1/light/config": {
        "schema": "json", "brightness": True, "~": "zigbee2mqtt/Hall Lamp", "cmd_t": "~/set", "stat_t": "~",
        "uniq_id": "0xa1_light", "name": None, "dev": {"name": "Hall Light", "sa": "Hall"},
    },
    # Tasmota-style switch, default schema
    f"{P}/switch/tasmota_ABC/config": {"name": "Kettle", "cmd_t": "cmnd/kettle/POWER",
                                        "stat_t": "stat/kettle/POWER", "pl_on": "ON", "pl_off": "OFF",
                                        "uniq_id": "kettle"},
    # ESPHome-style cover and temperature sensor
    f"{P}/cover/esp32/garden_blind/config": {"name": "Garden Blind", "~": "esp32/cover/garden_blind",
                                              "cmd_t": "~/command", "set_pos_t": "~/position/command",
                                              "pos_t": "~/position", "uniq_id": "esp32_blind"},
    f"{P}/sensor/esp32/study_temp/config": {"name": "Study Temperature", "dev_cla": "temperature",
                                             "unit_of_meas": "°C", "stat_t": "esp32/sensor/study/state",
                                             "uniq_id": "esp32_temp", "dev": {"sa": "Study"}},
}  # fmt: skip
GARBAGE = {
    f"{P}/light/broken/config": b"{nope",
    f"{P}/light/huge/config": b"[" + b"1," * 40000 + b"1]",
    f"{P}/vacuum/robo/config": b'{"cmd_t": "robo/set"}',
}
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


class Recorder:
    """A separate paho client that records what the house publishes on command topics."""

    def __init__(self, port: int) -> None:
        self.seen: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="house-recorder")
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.connect("127.0.0.1", port)
        self.client.subscribe([(t, 0) for t in COMMAND_TOPICS])
        self.client.loop_start()

    def _on_message(self, client, userdata, msg) -> None:
        if not msg.retain:
            with self.lock:
                self.seen.append((msg.topic, msg.payload.decode()))


async def _wait_for(predicate, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")


def _publish_house(port: int) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="house-publisher")
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos = [client.publish(t, p, qos=1, retain=True) for t, p in GARBAGE.items()]
    infos += [client.publish(t, json.dumps(c), qos=1, retain=True) for t, c in RETAINED.items()]
    infos.append(client.publish("esp32/sensor/study/state", "20.25", qos=1, retain=True))
    for info in infos:
        info.wait_for_publish(5)
    client.loop_stop()
    client.disconnect()


async def test_house_over_a_real_broker(broker) -> None:
    _publish_house(broker.port)
    recorder = Recorder(broker.port)
    link = ThreadLink(broker.port, asyncio.get_running_loop())
    try:
        assert recorder.ready.wait(5)
        settings = MqttSettings(host="127.0.0.1", port=broker.port, max_payload_bytes=4096)
        registry = DeviceRegistry(link, settings)
        registry.start()
        await _wait_for(lambda: len(registry.devices()) == 4)
        await _wait_for(lambda: registry.get("esp32_temp").state.get("state") == "20.25")
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
        await _wait_for(lambda: len(recorder.seen) >= len(expected))
        await asyncio.sleep(0.2)  # nothing more arrives
        assert recorder.seen == expected
        turn = Turn("what is the temperature in the study")
        assert route.accepts(turn) is not None
        assert "".join([t async for t in route.reply(turn)]) == "It's 20.25 degrees in the study."
    finally:
        link.stop()
        recorder.client.loop_stop()
        recorder.client.disconnect()


@pytest.fixture(autouse=True)
def _needs_mosquitto() -> None:
    import shutil
    from pathlib import Path

    if not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        pytest.skip("mosquitto is not installed")
