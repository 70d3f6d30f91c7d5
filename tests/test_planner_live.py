"""The planner in the real daemon (issue 11): the CLI through the control socket, kill -9 with a
timer running and the timer still ringing after the restart, and a spoken timer ringing into the
WAV output of `homeplm run --input`."""

from __future__ import annotations

import json
import signal
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.harness import StartDaemon, homeplm_cli, wait_until

pytestmark = pytest.mark.real


def test_timers_and_lists_survive_kill_9(tmp_path: Path, start_daemon: StartDaemon) -> None:
    state = tmp_path / "state"
    state.mkdir()
    daemon = start_daemon(state_dir=state)
    daemon.wait_for("listening|ready", timeout=120)
    wait_until(lambda: (state / "control.sock").exists(), 60, "the control socket")
    added = homeplm_cli("timers", "add", "6 seconds", "--name", "eggs", "--json", state_dir=state, timeout=60)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["name"] == "eggs"
    listed = homeplm_cli("lists", "add", "shopping", "butter, apples", state_dir=state, timeout=60)
    assert listed.returncode == 0 and "butter, apples" in listed.stdout, listed.stderr
    status = homeplm_cli("status", "--json", state_dir=state, timeout=60)
    assert json.loads(status.stdout)["planner"]["timer"] == 1, status.stdout
    daemon.proc.send_signal(signal.SIGKILL)
    daemon.wait(timeout=30)

    again = start_daemon(state_dir=state)
    again.wait_for(r"ringing timer \d+", timeout=120)  # due while it restarted, or just after
    shown = homeplm_cli("lists", "--json", state_dir=state, timeout=60)
    assert json.loads(shown.stdout) == {"shopping": ["butter", "apples"]}
    assert again.stop() == 0


def test_a_spoken_timer_rings_into_the_output(tmp_path: Path, real_parts) -> None:
    from homeplm.bench.phrases import speak

    rate = 16000
    said = speak(
        real_parts.parts["tts"], "Hey Jarvis, set a timer for three seconds.", lead_s=1.0, tail_s=1.5
    )
    source, output = tmp_path / "in.wav", tmp_path / "out.wav"
    with wave.open(str(source), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(said.tobytes())
    config = tmp_path / "homeplm.yaml"
    config.write_text("planner:\n  ring_timeout_s: 5\n  ring_gap_s: 1.0\n")
    run = homeplm_cli(
        "run", "--config", str(config), "--input", str(source), "--output", str(output), timeout=240
    )
    assert run.returncode == 0, run.stderr
    assert "Timer set for 3 seconds" in run.stdout, run.stdout
    with wave.open(str(output), "rb") as wav:
        out_rate = wav.getframerate()
        audio = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16).astype(np.float32)
    # The ring tone (988 and 784 Hz beeps) is in the output after the confirmation.
    window = int(out_rate * 0.09)
    found = False
    for start in range(0, len(audio) - window, window // 2):
        spectrum = np.abs(np.fft.rfft(audio[start : start + window]))
        peak = np.fft.rfftfreq(window, 1 / out_rate)[int(np.argmax(spectrum))]
        if abs(peak - 988) < 15 and spectrum.max() > 1e5:
            found = True
            break
    assert found, "no ring tone in the output"


def test_home_assistant_sees_timers_lists_and_the_finished_event(
    tmp_path: Path, broker, start_daemon: StartDaemon, mqtt_client
) -> None:
    from homeplm.mqtt.ha_entities import validate_discovery

    watch = mqtt_client(broker, "homeplm/#", "homeassistant/+/homeplm/+/config")
    state = tmp_path / "state"
    state.mkdir()
    config = f"mqtt:\n  host: 127.0.0.1\n  port: {broker.port}\nplanner:\n  ring_timeout_s: 5\n"
    start_daemon(state_dir=state, config=config)
    watch.wait(lambda m: m[0] == "homeplm/homeplm/active_timers" and m[1] == b"0", timeout=120)
    with watch.lock:
        configs = {t: json.loads(p) for t, p, _ in watch.messages if t.endswith("/config") and p}
    for key in ("next_alarm", "active_timers", "planner", "add_to_list", "list_shopping", "list_to_do"):
        topic = next(t for t in configs if t.split("/")[-2] == key)
        assert validate_discovery(topic.split("/")[1], configs[topic]) == [], topic
    added = homeplm_cli("timers", "add", "3 seconds", "--name", "rice", state_dir=state, timeout=60)
    assert added.returncode == 0, added.stderr
    watch.wait(lambda m: m[0] == "homeplm/homeplm/active_timers" and m[1] == b"1")
    attributes = watch.wait(lambda m: m[0] == "homeplm/homeplm/active_timers_attributes" and b"rice" in m[1])[
        -1
    ]
    assert json.loads(attributes[1])["soonest"] == "rice"
    finished = watch.wait(lambda m: m[0] == "homeplm/homeplm/planner", timeout=30)[-1]
    assert json.loads(finished[1])["event_type"] == "timer_finished" and not finished[2]  # not retained
    watch.publish("homeplm/homeplm/add_to_list/set", "butter, apples")
    listed = watch.wait(lambda m: m[0] == "homeplm/homeplm/list_shopping_attributes" and b"apples" in m[1])[
        -1
    ]
    assert json.loads(listed[1])["items"] == ["butter", "apples"]
    watch.publish("homeplm/homeplm/add_to_list/set", "packing: passport")
    watch.wait(lambda m: m[0] == "homeassistant/sensor/homeplm/list_packing/config")
