"""PahoLink against a real mosquitto on loopback: round trip, will, broker down and back, bad handlers."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

from homeplm.backends.mqtt_paho import PahoLink
from homeplm.mqtt.types import MqttMessage
from tests.harness import REPO, MqttClient, link_settings, wait_for

AVAIL = "homeplm/test/availability"


async def started_link(broker, **overrides) -> PahoLink:
    link = PahoLink(link_settings(broker, **overrides), asyncio.get_running_loop(), availability_topic=AVAIL)
    await link.start()
    await wait_for(lambda: link.connected)
    return link


async def test_round_trip_on_the_loop_and_availability(broker) -> None:
    observer = MqttClient(broker, "#")
    link = await started_link(broker)
    got: list[tuple[MqttMessage, int]] = []
    link.subscribe("homeplm/in/#", lambda m: got.append((m, threading.get_ident())))
    await asyncio.sleep(0.2)  # the SUBACK
    observer.publish("homeplm/in/x", b"hello")
    await wait_for(lambda: got)
    assert got[0][0] == MqttMessage("homeplm/in/x", b"hello", False)
    assert got[0][1] == threading.get_ident(), "handlers run on the loop's thread"
    link.publish("homeplm/out", "hi", retain=True)
    await wait_for(lambda: observer.last("homeplm/out") == b"hi")
    await wait_for(lambda: observer.last(AVAIL) == b"online")
    await link.stop()
    await wait_for(lambda: observer.last(AVAIL) == b"offline")
    late = MqttClient(broker, AVAIL)  # retained: what a new client (Home Assistant) sees
    await wait_for(lambda: late.last(AVAIL) == b"offline")
    observer.close()
    late.close()


CHILD = """
import asyncio, sys
from homeplm.backends.mqtt_paho import PahoLink
from homeplm.config.schema import MqttSettings

async def main():
    settings = MqttSettings(host="127.0.0.1", port={port}, client_id="homeplm-child")
    link = PahoLink(settings, asyncio.get_running_loop(), availability_topic="{avail}")
    await link.start()
    while not link.connected:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)
    print("up", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_will_says_offline_when_the_process_is_killed(broker) -> None:
    script = textwrap.dedent(CHILD).format(port=broker.port, avail=AVAIL)
    child = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    try:
        assert child.stdout is not None
        line = await asyncio.to_thread(child.stdout.readline)
        assert line.strip() == "up"
        observer = MqttClient(broker, AVAIL)
        await wait_for(lambda: observer.last(AVAIL) == b"online")
        child.send_signal(signal.SIGKILL)
        child.wait(5)
        await wait_for(lambda: observer.last(AVAIL) == b"offline")
        observer.close()
        late = MqttClient(broker, AVAIL)
        await wait_for(lambda: late.last(AVAIL) == b"offline")  # the will is retained
        late.close()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(5)


async def test_broker_down_at_start_then_up(broker) -> None:
    broker.stop()
    link = PahoLink(link_settings(broker), asyncio.get_running_loop(), availability_topic=AVAIL)
    connects: list[int] = []
    link.on_connect(lambda: connects.append(1))
    got: list[MqttMessage] = []
    link.subscribe("homeplm/in", got.append)  # remembered while down
    began = time.monotonic()
    await link.start()
    assert time.monotonic() - began < 0.5, "start() must not block on a broker that is down"
    await asyncio.sleep(1.5)  # at least one failed attempt, retried by the network thread
    assert not link.connected
    broker.start()
    await wait_for(lambda: connects, timeout=15)
    assert link.connected
    observer = MqttClient(broker, "#")
    await wait_for(lambda: observer.last(AVAIL) == b"online")
    observer.publish("homeplm/in", b"late")
    await wait_for(lambda: got)
    await link.stop()
    observer.close()


async def test_broker_restart_reconnects_and_renews(broker) -> None:
    link = await started_link(broker)
    connects: list[int] = []
    link.on_connect(lambda: connects.append(1))
    got: list[MqttMessage] = []
    link.subscribe("homeplm/in", got.append)
    await asyncio.sleep(0.2)
    broker.stop()
    await wait_for(lambda: not link.connected)
    link.publish("homeplm/out", "queued while down", retain=True)  # QoS 0 is promoted, so it waits
    broker.start()  # no persistence: retained messages and subscriptions are gone
    await wait_for(lambda: connects, timeout=15)
    observer = MqttClient(broker, "#")
    await wait_for(lambda: observer.last(AVAIL) == b"online")
    await wait_for(lambda: observer.last("homeplm/out") == b"queued while down")
    observer.publish("homeplm/in", b"after restart")
    await wait_for(lambda: [m.payload for m in got] == [b"after restart"])
    await link.stop()
    observer.close()


async def test_raising_handler_is_not_fatal(broker, caplog) -> None:
    link = await started_link(broker)
    got: list[bytes] = []

    def bad(message: MqttMessage) -> None:
        raise RuntimeError("handler bug")

    link.subscribe("homeplm/in", bad)
    link.subscribe("homeplm/in", lambda m: got.append(m.payload))
    await asyncio.sleep(0.2)
    observer = MqttClient(broker, "#")
    with caplog.at_level(logging.DEBUG, logger="homeplm.backends.mqtt_paho"):
        for n in range(3):
            observer.publish("homeplm/in", f"m{n}")
        await wait_for(lambda: len(got) == 3)
    assert got == [b"m0", b"m1", b"m2"]
    failed = [r for r in caplog.records if "homeplm/in" in r.getMessage()]
    # One line per failure, no traceback; only the first on a topic is an ERROR (no log flood).
    assert [r.levelno for r in failed] == [logging.ERROR, logging.DEBUG, logging.DEBUG]
    assert "RuntimeError: handler bug" in failed[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)
    assert link.connected
    await link.stop()
    observer.close()


async def test_oversized_payload_dropped_with_one_warning(broker, caplog) -> None:
    link = await started_link(broker, max_payload_bytes=256)
    got: list[bytes] = []
    link.subscribe("homeplm/in", lambda m: got.append(m.payload))
    await asyncio.sleep(0.2)
    observer = MqttClient(broker, "#")
    with caplog.at_level(logging.WARNING, logger="homeplm.backends.mqtt_paho"):
        observer.publish("homeplm/in", b"x" * 1000)
        observer.publish("homeplm/in", b"y" * 1000)
        observer.publish("homeplm/in", b"small")
        await wait_for(lambda: got)
    assert got == [b"small"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "bytes" in r.getMessage()]
    assert len(warnings) == 1
    await link.stop()
    observer.close()
