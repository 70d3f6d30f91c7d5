"""The daemon in the house: a real mosquitto, retained discovery, Home Assistant entities, spoken and
typed commands producing exactly the expected publications, malformed input, a broker restart."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from homeplm.mqtt.ha_entities import validate_discovery
from tests.harness import StartDaemon, homeplm_cli, publish_house

pytestmark = pytest.mark.real


def test_daemon_in_the_house(broker, real_parts, start_daemon: StartDaemon, mqtt_client) -> None:
    publish_house(broker)
    watch = mqtt_client(broker, "homeplm/#", "homeassistant/+/homeplm/+/config", "zigbee2mqtt/#", "cmnd/#")
    daemon = start_daemon(config=f"mqtt:\n  host: 127.0.0.1\n  port: {broker.port}\n  keepalive_s: 5\n")
    config, state = daemon.config, daemon.state_dir
    assert config is not None
    watch.wait(lambda m: m[0] == "homeplm/homeplm/availability" and m[1] == b"online", timeout=120)
    configs = watch.wait(lambda m: m[0].endswith("/config") and m[0].startswith("homeassistant/"))
    time.sleep(1.0)
    with watch.lock:
        discovery = {t: json.loads(p) for t, p, _ in watch.messages if t.endswith("/config") and p}
    assert len(discovery) >= 12, sorted(discovery)
    for topic, payload in discovery.items():
        assert validate_discovery(topic.split("/")[1], payload) == [], topic
    del configs

    # A typed command through the daemon: exactly the expected publication.
    asked = homeplm_cli("ask", "--config", str(config), "turn on the kettle", state_dir=state, timeout=120)
    assert asked.returncode == 0, asked.stderr
    watch.wait(lambda m: m[0] == "cmnd/kettle/POWER" and m[1] == b"ON")

    # Malformed commands from Home Assistant are ignored; the daemon keeps working.
    watch.publish("homeplm/homeplm/sensitivity/set", "banana")
    watch.publish("homeplm/homeplm/wake_word/set", "hey_nobody")
    # A spoken command on the daemon's microphone pipe.
    daemon.send(speak_pcm(real_parts, "Hey Jarvis, turn off the kettle."))
    watch.wait(lambda m: m[0] == "cmnd/kettle/POWER" and m[1] == b"OFF", timeout=60)
    watch.wait(lambda m: m[0] == "homeplm/homeplm/intent" and b"switch.turn_off" in m[1])

    # Mute from Home Assistant.
    watch.publish("homeplm/homeplm/mute/set", "ON")
    watch.wait(lambda m: m[0] == "homeplm/homeplm/mute" and m[1] == b"ON")

    # Quick wake word selects: the last one is loaded, and that is what the daemon says.
    for name in ("alexa", "hey_mycroft", "okay_nabu"):
        watch.publish("homeplm/homeplm/wake_word/set", name)
    watch.wait(lambda m: m[0] == "homeplm/homeplm/wake_word" and m[1] == b"okay_nabu", timeout=60)

    # `homeplm devices --mqtt` beside the daemon (same configured client id) knocks nobody off.
    listed = homeplm_cli("devices", "--mqtt", "--config", str(config), state_dir=state, timeout=60)
    assert listed.returncode == 0 and "Kettle" in listed.stdout, listed.stderr
    watch.clear()
    watch.publish("homeplm/homeplm/mute/set", "OFF")
    watch.wait(lambda m: m[0] == "homeplm/homeplm/mute" and m[1] == b"OFF")

    # The broker restarts: availability and discovery come back.
    watch.close()
    broker.stop()
    time.sleep(1.0)
    broker.start()
    watch = mqtt_client(broker, "homeplm/#", "homeassistant/+/homeplm/+/config")
    watch.wait(lambda m: m[0] == "homeplm/homeplm/availability" and m[1] == b"online", timeout=90)
    watch.wait(lambda m: m[0].startswith("homeassistant/switch/homeplm/"), timeout=30)
    assert daemon.proc.poll() is None
    code = daemon.stop()
    err = daemon.log
    assert code == 0, err[-3000:]
    assert "Traceback" not in err
    assert err.count("MQTT disconnected") == 1, err[-3000:]  # the broker restart, nothing else
    assert "wake word is now okay_nabu" in err
    watch.wait(lambda m: m[0] == "homeplm/homeplm/availability" and m[1] == b"offline")


def speak_pcm(real_parts, text: str) -> bytes:
    from homeplm.bench.phrases import speak

    return speak(real_parts.parts["tts"], text, lead_s=1.0, tail_s=2.0).tobytes()


def test_devices_mqtt_lists_the_house(broker, tmp_path: Path) -> None:
    publish_house(broker)
    config = tmp_path / "homeplm.yaml"
    config.write_text(f"mqtt:\n  host: 127.0.0.1\n  port: {broker.port}\n")
    result = homeplm_cli("devices", "--mqtt", "--config", str(config), timeout=60)
    assert result.returncode == 0, result.stderr
    for name in ("Kettle", "Garden Blind", "Study Temperature"):
        assert name in result.stdout
    broker.stop()
    down = homeplm_cli("devices", "--mqtt", "--config", str(config), timeout=60)
    assert down.returncode == 1 and "cannot reach the MQTT broker" in down.stderr
