"""`homeplm ask` without a daemon, as a shell user meets it (issue 8): the real CLI in a child
process, a real mosquitto, the real language model loaded."""

from __future__ import annotations

import json
import re
import shutil
import socket
from pathlib import Path

import pytest

from tests.harness import Broker, homeplm_cli, run_with_closed_stdout

pytestmark = [
    pytest.mark.real,
    pytest.mark.skipif(
        not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()),
        reason="mosquitto is not installed",
    ),
]

# A Tasmota-style switch, as its firmware announces it (retained, Home Assistant MQTT discovery).
KETTLE_TOPIC = "homeassistant/switch/tasmota_ABC/config"
KETTLE = {
    "name": "Kettle",
    "cmd_t": "cmnd/kettle/POWER",
    "stat_t": "stat/kettle/POWER",
    "pl_on": "ON",
    "pl_off": "OFF",
    "uniq_id": "kettle",
}


def _config(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "homeplm.yaml"
    # No memory: these tests are about the house (and the memory store's own tests cover it).
    mqtt = f"mqtt:\n  host: 127.0.0.1\n  port: {port}\n  client_id: homeplm-ask-test\n"
    path.write_text(mqtt + "memory:\n  enabled: false\n")
    return path


def test_ask_without_a_daemon_acts_on_the_house(broker: Broker, tmp_path: Path, mqtt_client) -> None:
    """Issue 8: without a daemon, `ask` answered from the language model, the house unknown to it."""
    # A Tasmota-style switch announces itself (retained); a client of ours sees its command topics.
    mqtt_client(broker).publish(KETTLE_TOPIC, json.dumps(KETTLE), retain=True)
    recorder = mqtt_client(broker, "cmnd/#")
    result = homeplm_cli("ask", "turn on the kettle", "--config", str(_config(tmp_path, broker.port)))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("Okay"), result.stdout
    recorder.wait(lambda m: True, timeout=5)
    assert [(t, p.decode()) for t, p, _ in recorder.messages] == [("cmnd/kettle/POWER", "ON")]
    assert "cannot reach the MQTT broker" not in result.stderr


def test_ask_with_the_broker_down_says_so_and_still_answers(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = homeplm_cli("ask", "what time is it", "--config", str(_config(tmp_path, port)), timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.match(r"It's \d", result.stdout), result.stdout
    assert (
        f"homeplm: cannot reach the MQTT broker at 127.0.0.1:{port}; answering without the house's devices"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_ask_explain_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """Issue 8: `homeplm ask --explain "…" | head -1` ended in a BrokenPipeError traceback."""
    config = tmp_path / "homeplm.yaml"
    config.write_text("memory:\n  enabled: false\n")
    result = run_with_closed_stdout(
        "ask", "--explain", "what time is it", "--config", str(config), timeout=120
    )
    assert result.returncode == 141, result.stderr[-3000:]
    for noise in ("Traceback", "BrokenPipe", "Exception ignored", "consumer failed"):
        assert noise not in result.stderr, result.stderr[-3000:]
