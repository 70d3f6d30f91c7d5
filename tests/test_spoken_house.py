"""The house as people talk about it, in the suite: "Hey Jarvis, <command>" said by two espeak-ng voices
and the shipped piper voice, under room noise (ventilation, hum, a television's babble) at 15 dB SNR,
through `homeplm run --input` against a real mosquitto holding the example house of
`homeplm.bench.spoken_house` (whose full run is the benchmark: `python -m homeplm.bench.spoken_house`)."""

from __future__ import annotations

import shutil

import pytest

from homeplm.bench import spoken_house as sh

pytestmark = pytest.mark.real

# Four commands: a light by name, an area's lights (two publications), a cover to a percentage, a
# plug by an appliance verb.
COMMANDS = sh.COMMANDS[:4]
VOICES = (sh.Voice("en-us", 160), sh.Voice("en-gb", 170), sh.Voice("piper"))
# Tolerance: at most three of the twelve may fail (the defaults did three to six of them right
# before issue 10's prompt, threshold and beam; now 9 to 12 over runs on this 2-core VM, fewer
# under load: a wake word missed, a name misheard). The noise and espeak-ng are deterministic;
# piper's rendering is not (its ONNX graph samples noise). The benchmark has the figures.
ALLOWED_FAILURES = 3


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_spoken_commands_reach_the_house_through_room_noise(broker, mqtt_client, start_daemon, tmp_path):
    watcher = mqtt_client(broker, "#")
    watcher.publish_all(sh.discovery_messages(), retain=True)
    utterances = sh.render(COMMANDS, VOICES, tmp_path)
    wav = tmp_path / "spoken.wav"
    sh.write_wav(wav, sh.long_wav(utterances, 15.0, tmp_path))
    # The defaults, but short LLM replies (the LLM never acts on the house; it answers the misheard).
    config = f"mqtt:\n  host: {broker.host}\n  port: {broker.port}\nllm:\n  max_tokens: 24\n"

    daemon = start_daemon("--input", str(wav), "--output", "none", "-v", config=config)
    assert daemon.wait(150) == 0, daemon.log[-3000:]

    device_messages = [
        (topic, payload.decode())
        for topic, payload, _ in watcher.messages
        if not topic.startswith((f"{sh.HA}/", "homeplm/"))
    ]
    turns = sh.turns_from_log(daemon.log, device_messages)
    assert turns, daemon.log[-3000:]
    paired = sh.align(utterances, turns)
    wrong = [
        f"{u.voice.label}: {u.command.text!r} → heard {t.heard if t else None!r}, "
        f"published {t.publications if t else None}"
        for u, t in zip(utterances, paired, strict=True)
        if t is None or not sh.same_publications(t.publications, u.command.expected)
    ]
    assert len(wrong) <= ALLOWED_FAILURES, "\n".join(wrong)
