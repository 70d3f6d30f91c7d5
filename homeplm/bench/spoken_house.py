"""The house as people talk about it, measured end to end: "Hey Jarvis, <command>" spoken by several
espeak-ng voices and the shipped piper voice, mixed with room noise (ventilation rumble, a fridge and
fan hum, a television's babble) at a given SNR, run through the real daemon path (`homeplm run
--input long.wav`) against a real mosquitto holding an example house's retained discovery. An
utterance counts as done right when exactly its expected MQTT publications happened.

    python -m homeplm.bench.spoken_house [--quick] [--snr clean 15 5] [--voices en-us piper …]
                                         [--means MEANS …] [--json PATH] [--keep DIR]

Each condition (voices × SNR × means) is one long WAV (all its utterances with noise between them)
and one `homeplm run` process, so the models load once per condition. Turns are told apart by the
daemon's own log (run-start … run-end); publications belong to the turn during which they arrived;
turns are lined up with the utterances in order, by what was heard (two failed utterances side by
side may swap causes, never the count). A means is '+'-joined parts, compared at --means-snr:

- defaults: the product as configured (the house's names bias Whisper through `initial_prompt`);
- nobias / prompt=wake / prompt=sentences: another recognition prompt (none; "Hey Jarvis, " before
  the names; the names inside "Hey Jarvis, turn on the …" sentences). No config switch chooses the
  prompt, so the bench replaces `HouseLink.asr_prompt` in the child process;
- ns1…ns3: WebRTC noise suppression (`pywebrtc-audio`) applied to the WAV first;
- beam5, base (Whisper base from `--base-model DIR`; nothing is downloaded), or any config key as
  section.key=value (wake.threshold=0.35, wake.preroll_s=0.3, asr.log_prob_threshold=-2 …);
- unwake / snap[THRESHOLD]: the run's transcripts changed afterwards (a misheard wake phrase closed
  by a comma dropped; or snapped to the house's own command space, phonetic and fuzzy, a closed
  grammar as Rhasspy had) and acted on as text through the same house and brain in this process;
  the NEGATIVES (non-commands) are run through it too and must not act.

Piper's synthesis is stochastic (its ONNX graph samples noise), so its renderings differ a little
from run to run; espeak-ng, the noise and the mixing are deterministic. Within one run every
means hears the same WAVs. Latencies here are at file speed (no real-time pacing, so early
recognition cannot overlap the endpointer's silence wait): upper bounds, for comparing means.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import difflib
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import wave
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SAMPLE_RATE = 16000
SPEECH_DBFS = -26.0  # every utterance's speech part is brought to this level before mixing
LEAD_S = 1.0  # silence before and after each "Hey Jarvis, …" (before noise is added)
GAP_S = 3.5  # noise only, between two utterances
WAKE = "Hey Jarvis, "
Publication = tuple[str, str]

# -- the house ---------------------------------------------------------------------------------------------

HA = "homeassistant"


@dataclass(frozen=True, slots=True)
class HouseDevice:
    """One device of the example house: its discovery message and what the grammar needs of it."""

    name: str
    area: str
    component: str
    topic: str
    config: dict[str, Any]


def _z2m_light(ident: str, name: str, area: str) -> HouseDevice:
    config = {
        "schema": "json", "brightness": True, "brightness_scale": 254, "name": None,
        "command_topic": f"zigbee2mqtt/{name}/set", "state_topic": f"zigbee2mqtt/{name}",
        "unique_id": f"{ident}_light_zigbee2mqtt",
        "device": {"identifiers": [f"zigbee2mqtt_{ident}"], "name": name, "suggested_area": area,
                   "manufacturer": "IKEA", "model": "TRADFRI bulb E27"},
    }  # fmt: skip
    return HouseDevice(name, area, "light", f"{HA}/light/{ident}/light/config", config)


def _esp_light(node: str, obj: str, name: str, area: str) -> HouseDevice:
    config = {
        "name": name, "~": f"{node}/light/{obj}", "stat_t": "~/state", "cmd_t": "~/command", "schema": "json",
        "brightness": True, "color_mode": True, "supported_color_modes": ["brightness"],
        "uniq_id": f"ESPlight{obj}", "dev": {"ids": node, "name": node, "mf": "espressif", "sa": area},
    }  # fmt: skip
    return HouseDevice(name, area, "light", f"{HA}/light/{node}/{obj}/config", config)


def _tasmota_switch(ident: str, topic: str, name: str, area: str) -> HouseDevice:
    config = {
        "name": name, "stat_t": f"stat/{topic}/POWER", "cmd_t": f"cmnd/{topic}/POWER",
        "pl_on": "ON", "pl_off": "OFF", "uniq_id": f"{ident}_RL_1",
        "dev": {"ids": [ident], "name": name, "mf": "Tasmota", "sa": area},
    }  # fmt: skip
    return HouseDevice(name, area, "switch", f"{HA}/switch/{ident}_RL_1/config", config)


HOUSE: tuple[HouseDevice, ...] = (
    _z2m_light("0x00158d0001a1b2c1", "Kitchen Light", "Kitchen"),
    _z2m_light("0x00158d0001a1b2c2", "Hall Light", "Hall"),
    _esp_light("living-room", "floor_lamp", "Floor Lamp", "Living Room"),
    _esp_light("bedroom", "ceiling_light", "Bedroom Light", "Bedroom"),
    HouseDevice("Living Room Light", "Living Room", "light", f"{HA}/light/D1E2F3_LI_1/config", {
        "name": "Living Room Light", "cmd_t": "cmnd/living_light/POWER", "stat_t": "stat/living_light/POWER",
        "bri_cmd_t": "cmnd/living_light/Dimmer", "bri_scl": 100, "pl_on": "ON", "pl_off": "OFF",
        "uniq_id": "D1E2F3_LI_1", "dev": {"ids": ["D1E2F3"], "mf": "Tasmota", "sa": "Living Room"}}),
    HouseDevice("Office Light", "Office", "light", f"{HA}/light/office_light/config", {
        "name": "Office Light", "cmd_t": "office/light/set", "stat_t": "office/light/state",
        "uniq_id": "office_light", "dev": {"ids": ["office_light"], "sa": "Office"}}),
    _tasmota_switch("A1B2C3", "kettle", "Kettle", "Kitchen"),
    _tasmota_switch("C3D4E5", "coffee", "Coffee Machine", "Kitchen"),
    HouseDevice("Bedroom Blinds", "Bedroom", "cover", f"{HA}/cover/bedroom/blinds/config", {
        "name": "Bedroom Blinds", "~": "bedroom/cover/blinds", "cmd_t": "~/command", "pos_t": "~/position",
        "set_pos_t": "~/position/command", "dev_cla": "blind", "uniq_id": "ESPcoverblinds",
        "dev": {"ids": "bedroom", "name": "bedroom", "sa": "Bedroom"}}),
    HouseDevice("Living Room Blinds", "Living Room", "cover", f"{HA}/cover/0x00158d0001a1b2c9/cover/config", {
        "name": None, "command_topic": "zigbee2mqtt/Living Room Blinds/set",
        "set_position_topic": "zigbee2mqtt/Living Room Blinds/set",
        "set_position_template": '{ "position": {{ position }} }',
        "position_topic": "zigbee2mqtt/Living Room Blinds", "position_template": "{{ value_json.position }}",
        "payload_open": "OPEN", "payload_close": "CLOSE",
        "payload_stop": "STOP", "state_topic": "zigbee2mqtt/Living Room Blinds", "device_class": "blind",
        "unique_id": "0x00158d0001a1b2c9_cover_zigbee2mqtt",
        "device": {"identifiers": ["zigbee2mqtt_0x00158d0001a1b2c9"], "name": "Living Room Blinds",
                   "suggested_area": "Living Room"}}),
    HouseDevice("Bedroom Fan", "Bedroom", "fan", f"{HA}/fan/bedroom/fan/config", {
        "name": "Bedroom Fan", "cmd_t": "bedroom/fan/set", "stat_t": "bedroom/fan/state",
        "pct_cmd_t": "bedroom/fan/percentage/set", "pct_stat_t": "bedroom/fan/percentage",
        "uniq_id": "bedroom_fan", "dev": {"ids": "bedroom-fan", "sa": "Bedroom"}}),
    HouseDevice("Thermostat", "Hall", "climate", f"{HA}/climate/hall/thermostat/config", {
        "name": "Thermostat", "temp_cmd_t": "heating/target/set", "temp_stat_t": "heating/target",
        "mode_cmd_t": "heating/mode/set", "mode_stat_t": "heating/mode", "modes": ["off", "heat", "auto"],
        "curr_temp_t": "heating/current", "min_temp": 7, "max_temp": 30, "uniq_id": "thermostat",
        "dev": {"ids": "thermostat", "sa": "Hall"}}),
    HouseDevice("Front Door", "Hall", "lock", f"{HA}/lock/hall/front_door/config", {
        "name": "Front Door", "cmd_t": "frontdoor/lock/set", "stat_t": "frontdoor/lock/state",
        "pl_lock": "LOCK", "pl_unlk": "UNLOCK", "uniq_id": "front_door_lock",
        "dev": {"ids": "front-door", "sa": "Hall"}}),
    HouseDevice("Garage Door", "Garage", "cover", f"{HA}/cover/garage/door/config", {
        "name": "Garage Door", "cmd_t": "garage/door/set", "stat_t": "garage/door/state",
        "dev_cla": "garage", "uniq_id": "garage_door", "dev": {"ids": "garage", "sa": "Garage"}}),
)  # fmt: skip


def _on(topic: str) -> Publication:
    return topic, "ON"


def _json(topic: str, **body: object) -> Publication:
    return topic, json.dumps(body)


_K, _H = "zigbee2mqtt/Kitchen Light/set", "zigbee2mqtt/Hall Light/set"
_FLOOR, _BED = "living-room/light/floor_lamp/command", "bedroom/light/ceiling_light/command"
_LIVING, _OFFICE = "cmnd/living_light/POWER", "office/light/set"
_LRB = "zigbee2mqtt/Living Room Blinds/set"
_ALL_OFF = (
    _json(_K, state="OFF"), _json(_H, state="OFF"), _json(_FLOOR, state="OFF"), _json(_BED, state="OFF"),
    (_LIVING, "OFF"), (_OFFICE, "OFF"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Command:
    """A phrasing people use, and the exact publications it must cause (in any order)."""

    text: str
    expected: tuple[Publication, ...]


COMMANDS: tuple[Command, ...] = (
    Command("turn on the kitchen light", (_json(_K, state="ON"),)),
    Command("switch off the lights in the living room", (_json(_FLOOR, state="OFF"), (_LIVING, "OFF"))),
    Command("set the bedroom blinds to fifty percent", (("bedroom/cover/blinds/position/command", "50"),)),
    Command("start the coffee machine", (_on("cmnd/coffee/POWER"),)),
    Command("turn the heating to twenty one degrees", (("heating/target/set", "21"),)),
    Command("lock the front door", (("frontdoor/lock/set", "LOCK"),)),
    Command("put the kettle on", (_on("cmnd/kettle/POWER"),)),
    Command("dim the bedroom light to forty percent", (_json(_BED, state="ON", brightness=102),)),
    Command("turn off the kitchen light", (_json(_K, state="OFF"),)),
    Command("switch on the hall light", (_json(_H, state="ON"),)),
    Command("switch the hall light off", (_json(_H, state="OFF"),)),
    Command("turn on the floor lamp", (_json(_FLOOR, state="ON"),)),
    Command(
        "set the living room light to eighty percent", (("cmnd/living_light/Dimmer", "80"), _on(_LIVING))
    ),
    Command("turn off the office light", ((_OFFICE, "OFF"),)),
    Command("turn the office light on", ((_OFFICE, "ON"),)),
    Command("turn off all the lights", _ALL_OFF),
    Command("turn off the coffee machine", (("cmnd/coffee/POWER", "OFF"),)),
    Command("switch off the kettle", (("cmnd/kettle/POWER", "OFF"),)),
    Command("close the blinds in the bedroom", (("bedroom/cover/blinds/command", "CLOSE"),)),
    Command("open the living room blinds", ((_LRB, "OPEN"),)),
    Command("lower the living room blinds to twenty percent", (_json(_LRB, position=20),)),
    Command("turn on the bedroom fan", (_on("bedroom/fan/set"),)),
    Command("set the bedroom fan to fifty percent", (("bedroom/fan/percentage/set", "50"),)),
    Command("switch off the fan in the bedroom", (("bedroom/fan/set", "OFF"),)),
    Command("set the thermostat to nineteen degrees", (("heating/target/set", "19"),)),
    Command("turn off the heating", (("heating/mode/set", "off"),)),
    Command("set the heating to auto", (("heating/mode/set", "auto"),)),
    Command("close the garage door", (("garage/door/set", "CLOSE"),)),
    Command("turn on the lights in the kitchen", (_json(_K, state="ON"),)),
    Command("turn on the bedroom light", (_json(_BED, state="ON"),)),
)
QUICK_COMMANDS = 8  # --quick: the first eight (one per kind of device and phrasing)

# Not commands: a closed grammar must not turn these into actions.
NEGATIVES = (
    "what time is it",
    "tell me a joke",
    "what is the weather like today",
    "I love the new kitchen light",
    "is the front door locked",
    "how warm is it in the hall",
    "remember that the plumber is called Marco",
    "the coffee machine was a present",
    "what is the capital of France",
    "is the bedroom light on",
    "who turned off the heating",
    "we need a new kettle",
)


def discovery_messages() -> list[tuple[str, str]]:
    return [(d.topic, json.dumps(d.config)) for d in HOUSE]


# -- a broker of our own -----------------------------------------------------------------------------------


class Mosquitto:
    """mosquitto on a free loopback port, for the length of a `with` block."""

    def __init__(self, folder: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.host = "127.0.0.1"
        self.config = folder / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "log_dest stderr\nlog_type error\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Mosquitto:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            raise SystemExit("mosquitto is not installed (apt-get install mosquitto)")
        self.proc = subprocess.Popen([binary, "-c", str(self.config)], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection((self.host, self.port), timeout=0.2).close()
                return self
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("mosquitto did not start")

    def __exit__(self, *_: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


class Watcher:
    """A paho client that sees every device command: all topics but discovery and homeplm's own."""

    def __init__(self, host: str, port: int) -> None:
        import paho.mqtt.client as mqtt

        self.messages: list[tuple[float, str, str]] = []
        self._lock = threading.Lock()
        ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-{uuid.uuid4().hex[:8]}")
        self.client.on_connect = lambda client, *_: client.subscribe("#")
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()
        if not ready.wait(5):
            raise RuntimeError("the watcher could not subscribe")

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        topic = str(message.topic)
        if message.retain or topic.startswith((f"{HA}/", "homeplm/", "homeassistant_statestream/")):
            return
        with self._lock:
            self.messages.append((time.monotonic(), topic, bytes(message.payload).decode(errors="replace")))

    def since(self, start: float) -> list[tuple[float, str, str]]:
        with self._lock:
            return [m for m in self.messages if m[0] >= start]

    def publish_retained(self, messages: Sequence[tuple[str, str]]) -> None:
        for topic, payload in messages:
            self.client.publish(topic, payload, qos=1, retain=True).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def same_publications(got: Sequence[Publication], wanted: Sequence[Publication]) -> bool:
    """The same publications in any order; JSON payloads compared as JSON (spacing, key order)."""

    def key(pub: Publication) -> tuple[str, str]:
        topic, payload = pub
        try:
            value = json.loads(payload)
        except ValueError:
            return topic, payload.strip()
        return topic, json.dumps(value, sort_keys=True) if isinstance(value, dict) else payload.strip()

    return Counter(map(key, got)) == Counter(map(key, wanted))


# -- audio -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Voice:
    """'piper' (the shipped voice) or an espeak-ng voice at a speed in words a minute."""

    name: str
    speed: int = 160

    @property
    def label(self) -> str:
        return self.name if self.name == "piper" else f"{self.name}@{self.speed}"


ESPEAK_VOICES = (Voice("en-us", 160), Voice("en-gb", 170), Voice("en-us+f3", 155),
                 Voice("en-gb-scotland", 165), Voice("en-us+m7", 175))  # fmt: skip
DEFAULT_VOICES = (*ESPEAK_VOICES, Voice("piper"))
QUICK_VOICES = (Voice("en-us", 160), Voice("piper"))


def parse_voice(text: str) -> Voice:
    """'piper', 'en-gb' or 'en-gb:170'."""
    name, _, speed = text.partition(":")
    known = {v.name: v.speed for v in DEFAULT_VOICES}
    return Voice(name, int(speed) if speed else known.get(name, 160))


def _read_wav(path: Path) -> np.ndarray:
    from homeplm.voice.wavio import load_wav_16k

    return load_wav_16k(path)


def espeak(text: str, voice: str, speed: int, folder: Path) -> np.ndarray:
    """16 kHz int16 mono from espeak-ng."""
    path = folder / f"espeak-{uuid.uuid4().hex[:8]}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True)
    try:
        return _read_wav(path)
    finally:
        path.unlink()


class Speakers:
    """Renders text with a voice (piper loaded once, on first use)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._piper: Any = None

    def say(self, text: str, voice: Voice) -> np.ndarray:
        if voice.name != "piper":
            return espeak(text, voice.name, voice.speed, self.folder)
        from homeplm.core.audio import resample

        if self._piper is None:
            from homeplm.backends.piper_tts import PiperTts
            from homeplm.config.schema import TtsSettings

            self._piper = PiperTts(TtsSettings())
        return resample(self._piper.synthesize(text), self._piper.sample_rate, SAMPLE_RATE)


def trim(audio: np.ndarray, floor: float = 0.02) -> np.ndarray:
    """The speech part: from the first to the last sample above `floor` × the peak."""
    loud = np.flatnonzero(np.abs(audio.astype(np.float64)) > floor * max(1, int(np.abs(audio).max())))
    return audio[loud[0] : loud[-1] + 1] if loud.size else audio


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x.astype(np.float64))))) if x.size else 0.0


def level(speech: np.ndarray, dbfs: float = SPEECH_DBFS) -> np.ndarray:
    """Float speech with its RMS at `dbfs` (full scale 32768)."""
    target = 32768 * 10 ** (dbfs / 20)
    return speech.astype(np.float64) * (target / max(rms(speech), 1e-9))


# Said by the television and the people in the next room: nothing a house would obey.
BABBLE_TEXT = (
    "The weather will stay dry for most of the country, with sunny spells in the east and a light breeze. "
    "Scientists say the new telescope has already found several distant galaxies that nobody had seen. "
    "In football, the home side scored twice in the second half and won the match three goals to one. "
    "The museum opens its new wing next month with paintings lent from collections around the world. "
    "Traffic is heavy on the ring road this evening because of roadworks near the old bridge. "
    "My grandmother always said the secret of a good soup is patience and a pinch of salt. "
    "The council has agreed to plant two hundred trees along the river before the end of the year. "
    "Tickets for the summer concerts go on sale on Friday morning, and they usually sell out fast. "
)
BABBLE_TALKERS = (("en-gb+f2", 165), ("en-us+m3", 175), ("en-gb-x-rp+f4", 150), ("en-029", 170),
                  ("en-us+f5", 180))  # fmt: skip


def _coloured(n: int, rng: np.random.Generator, exponent: float) -> np.ndarray:
    """Noise with a 1/f^exponent power spectrum (1: pink, 2: brown), unit RMS, rolled off below 20 Hz."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    shape = 1 / np.maximum(freqs, 20.0) ** (exponent / 2)
    shape[freqs < 10] = 0
    noise = np.fft.irfft(spectrum * shape, n)
    return noise / rms(noise)


def _hum(n: int, rng: np.random.Generator) -> np.ndarray:
    """A fridge compressor and a fan: 50 Hz and harmonics, a 120 Hz blade tone, slowly wavering."""
    t = np.arange(n) / SAMPLE_RATE
    hum = sum(
        amp * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
        for f, amp in ((50, 1.0), (100, 0.7), (150, 0.4), (200, 0.25), (250, 0.15), (300, 0.1), (120, 0.6))
    )
    hum = hum * (1 + 0.15 * np.sin(2 * np.pi * 0.3 * t))
    return hum / rms(hum)


def _babble(n: int, rng: np.random.Generator, folder: Path) -> np.ndarray:
    """Several espeak-ng talkers reading the news at once, each from its own point of the text."""
    total = np.zeros(n)
    for voice, speed in BABBLE_TALKERS:
        talk = level(espeak(BABBLE_TEXT, voice, speed, folder))
        reps = int(np.ceil(n / len(talk))) + 1
        loop = np.tile(talk, reps)
        start = int(rng.integers(0, len(talk)))
        total += loop[start : start + n]
    return total / rms(total)


def room_noise(seconds: float, folder: Path, seed: int = 2024) -> np.ndarray:
    """A living room: ventilation (pink + brown), hum, and a television's babble; unit RMS, float.
    Power shares: pink 35 %, brown 15 %, hum 15 %, babble 35 %."""
    n = int(seconds * SAMPLE_RATE)
    rng = np.random.default_rng(seed)
    parts = (
        (0.35, _coloured(n, rng, 1.0)),
        (0.15, _coloured(n, rng, 2.0)),
        (0.15, _hum(n, rng)),
        (0.35, _babble(n, rng, folder)),
    )
    noise = sum(np.sqrt(share) * part for share, part in parts)
    return np.asarray(noise / rms(np.asarray(noise)))


@dataclass(slots=True)
class Utterance:
    """One "Hey Jarvis, <command>" by one voice, and where it lies in the long WAV."""

    command: Command
    voice: Voice
    speech: np.ndarray  # float, levelled, without padding
    start_s: float = 0.0


def render(
    commands: Sequence[Command], voices: Sequence[Voice], folder: Path, seed: int = 11
) -> list[Utterance]:
    """Every command by every voice; each voice says them in its own shuffled order."""
    speakers = Speakers(folder)
    out: list[Utterance] = []
    for index, voice in enumerate(voices):
        order = list(commands)
        random.Random(seed + index).shuffle(order)
        for command in order:
            raw = trim(speakers.say(WAKE + command.text + ".", voice))
            out.append(Utterance(command, voice, level(raw)))
    return out


def long_wav(
    utterances: Sequence[Utterance], snr_db: float | None, folder: Path, noise_seed: int = 2024
) -> np.ndarray:
    """All utterances, each with LEAD_S of quiet around it and GAP_S between, under room noise at
    `snr_db` (speech RMS over the speech part vs the noise's RMS; None: no noise). int16."""
    gap = np.zeros(int(GAP_S * SAMPLE_RATE))
    lead = np.zeros(int(LEAD_S * SAMPLE_RATE))
    pieces: list[np.ndarray] = [gap]
    position = len(gap)
    for utt in utterances:
        utt.start_s = (position + len(lead)) / SAMPLE_RATE
        pieces += [lead, utt.speech, lead, gap]
        position += 2 * len(lead) + len(utt.speech) + len(gap)
    clean = np.concatenate(pieces)
    if snr_db is not None:
        noise = room_noise(len(clean) / SAMPLE_RATE + 0.1, folder, noise_seed)[: len(clean)]
        speech_rms = 32768 * 10 ** (SPEECH_DBFS / 20)
        clean = clean + noise * speech_rms * 10 ** (-snr_db / 20)
    return np.clip(np.round(clean), -32768, 32767).astype(np.int16)


def write_wav(path: Path, audio: np.ndarray) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(audio.astype(np.int16).tobytes())


def suppress_noise(audio: np.ndarray, level_: int = 2) -> tuple[np.ndarray, float]:
    """WebRTC noise suppression (pywebrtc-audio) in 10 ms frames; the audio and its CPU ms per second."""
    from pywebrtc_audio import NoiseSuppressor

    ns = NoiseSuppressor(SAMPLE_RATE, 1, level_)
    frame = SAMPLE_RATE // 100
    usable = len(audio) - len(audio) % frame
    start = time.process_time()
    out = np.concatenate([ns.process(audio[i : i + frame]) for i in range(0, usable, frame)])
    cost = (time.process_time() - start) * 1000 / (usable / SAMPLE_RATE)
    return out.astype(np.int16), cost


# -- one run of the daemon ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Turn:
    """One turn as the daemon's log told it, with the publications that came during it."""

    run_id: int
    started: float
    heard: str | None = None
    route: str | None = None
    reason: str | None = None
    end_reason: str | None = None  # the endpointer's: done, max-length
    outcome: str | None = None
    dropped: int = 0  # segments Whisper heard but homeplm dropped (no speech, or too unsure)
    speech_end: float | None = None
    transcript_at: float | None = None
    first_audio: float | None = None
    publications: list[Publication] = field(default_factory=list)


_LINE = re.compile(r"homeplm\.core\.events: run (\d+) ([a-z-]+) (.*)$")

# A child with another recognition prompt than the house's names (no config switch chooses it):
# HouseLink.asr_prompt is replaced in that process by `bench_prompt(style)`.
PROMPT_PATCH = (
    "import sys; from homeplm.mqtt import house_link; from homeplm.bench.spoken_house import bench_prompt; "
    "house_link.HouseLink.asr_prompt = lambda self: bench_prompt(self, {style!r}); "
    "from homeplm.cli.main import main; sys.argv[0] = 'homeplm'; raise SystemExit(main())"
)
_PROMPT_VERBS = ("turn on the", "switch off the", "set the", "close the", "start the", "turn off the")


def bench_prompt(house: Any, style: str) -> str | None:
    """The recognition prompt of a means: "none"; "wake": "Hey Jarvis, " before the house's names;
    "sentences": the names said in commands after the wake phrase, as the audio will sound."""
    from homeplm.voice.asr_bias import MAX_PROMPT_CHARS, bias_prompt

    devices = house.registry.devices()
    if style == "none" or not devices:
        return None
    if style == "wake":
        names = bias_prompt((d.name for d in devices), (d.area or "" for d in devices))
        return f"Hey Jarvis, {names}" if names else None
    sentences = [
        f"Hey Jarvis, {_PROMPT_VERBS[i % len(_PROMPT_VERBS)]} {d.name}."
        for i, d in enumerate(sorted(devices, key=lambda d: d.name))
    ]
    prompt = ""
    for sentence in sentences:
        if len(prompt) + len(sentence) + 1 > MAX_PROMPT_CHARS:
            break
        prompt = f"{prompt} {sentence}".strip()
    return prompt


def run_daemon(
    wav: Path,
    config: Path,
    watcher: Watcher,
    *,
    prompt: str = "names",
    timeout: float = 3600,
    nice: int = 0,
) -> tuple[list[Turn], int, list[str], float]:
    """`homeplm run --input WAV --output none -v`: its turns (from the log), wake count, the log, wall s."""
    state = Path(tempfile.mkdtemp(prefix="homeplm-bench-state-"))
    env = {k: v for k, v in os.environ.items() if k not in ("HOMEPLM_CONFIG", "RUNTIME_DIRECTORY")}
    env |= {"STATE_DIRECTORY": str(state), "PYTHONUNBUFFERED": "1"}
    entry = ["-m", "homeplm"] if prompt == "names" else ["-c", PROMPT_PATCH.format(style=prompt)]
    args = [
        sys.executable,
        *entry,
        "run",
        "--config",
        str(config),
        "--input",
        str(wav),
        "--output",
        "none",
        "-v",
    ]
    if nice:
        args = ["nice", "-n", str(nice), *args]
    lines: list[tuple[float, str]] = []
    started = time.monotonic()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            lines.append((time.monotonic(), line.rstrip("\n")))
            if time.monotonic() - started > timeout:
                proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(state, ignore_errors=True)
    wall = time.monotonic() - started
    time.sleep(0.3)  # the last publications reach the watcher
    turns, wakes = parse_log(lines)
    attach_publications(turns, watcher.since(started))
    if proc.returncode not in (0, 1):
        tail = "\n".join(line for _, line in lines[-30:])
        raise RuntimeError(f"homeplm run exited {proc.returncode}:\n{tail}")
    return turns, wakes, [line for _, line in lines], wall


def parse_log(lines: Sequence[tuple[float, str]]) -> tuple[list[Turn], int]:
    turns: dict[int, Turn] = {}
    wakes = 0
    for at, line in lines:
        found = _LINE.search(line)
        if found is None:
            continue
        run_id, kind, rest = int(found[1]), found[2], found[3]
        if kind == "wake":
            wakes += 1
            continue
        if kind == "run-start":
            turns[run_id] = Turn(run_id, at)
            continue
        turn = turns.get(run_id)
        if turn is None:
            continue
        if kind == "speech-end":
            turn.speech_end = at
            turn.end_reason = _fields(rest).get("reason")
        elif kind == "transcript" and rest.startswith("{"):
            turn.dropped = int(_fields(rest).get("dropped_segments") or 0)
        elif kind == "transcript" and rest.startswith("text="):
            turn.heard = ast.literal_eval(rest[5:]) or ""
            turn.transcript_at = at
        elif kind == "reply-end" and rest.startswith("{"):
            fields = _fields(rest)
            turn.route, turn.reason = fields.get("route"), fields.get("reason")
        elif kind == "audio-out" and turn.first_audio is None:
            turn.first_audio = at
        elif kind == "run-end":
            turn.outcome = _fields(rest).get("outcome")
    return sorted(turns.values(), key=lambda t: t.started), wakes


def _fields(text: str) -> dict[str, Any]:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return {}
    return value if isinstance(value, dict) else {}


def attach_publications(turns: Sequence[Turn], messages: Sequence[tuple[float, str, str]]) -> None:
    """Each publication goes to the turn during which it arrived (the last one started before it)."""
    for at, topic, payload in messages:
        owner = None
        for turn in turns:
            if turn.started <= at:
                owner = turn
        if owner is not None:
            owner.publications.append((topic, payload))


_PUBLISHING = re.compile(r"homeplm\.house\.actions: publishing \S+ for \S+ on (.+)$")


def turns_from_log(log: str, messages: Sequence[Publication]) -> list[Turn]:
    """The turns of a finished run's log, each with its publications: the device publications seen
    on the broker (in order) matched one by one to the log's "publishing … on TOPIC" lines, which
    sit inside their turn. For a run whose output was not read as it came (tests)."""
    lines = log.splitlines()
    turns, _ = parse_log([(float(i), line) for i, line in enumerate(lines)])
    pending = list(messages)
    for index, line in enumerate(lines):
        found = _PUBLISHING.search(line)
        if found is None:
            continue
        owner = next((t for t in reversed(turns) if t.started <= index), None)
        match = next((m for m in pending if m[0] == found[1]), None)
        if owner is not None and match is not None:
            pending.remove(match)
            owner.publications.append(match)
    return turns


# -- lining turns up with utterances -----------------------------------------------------------------------


def _norm(text: str) -> str:
    from homeplm.house.command_space import norm

    return norm(text)


def similarity(a: str, b: str) -> float:
    from rapidfuzz import fuzz

    return fuzz.token_sort_ratio(_norm(a), _norm(b)) / 100


def align(utterances: Sequence[Utterance], turns: Sequence[Turn]) -> list[Turn | None]:
    """For each utterance its turn (or None: the wake word was missed), in order, by what was heard.
    A monotonic alignment: a paired turn scores 0.2 + its similarity, so a garbled turn between two
    good ones still pairs with the utterance between them; a turn may also be spurious (a false wake)."""
    n, m = len(utterances), len(turns)
    score = np.zeros((n + 1, m + 1))
    step = np.zeros((n + 1, m + 1), dtype=np.int8)  # 1 pair, 2 skip utterance, 3 skip turn
    step[1:, 0], step[0, 1:] = 2, 3
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            heard = turns[j - 1].heard or ""
            pair = score[i - 1, j - 1] + 0.2 + similarity(heard, utterances[i - 1].command.text)
            options = (pair, score[i - 1, j], score[i, j - 1])
            best = int(np.argmax(options))
            score[i, j], step[i, j] = options[best], best + 1
    paired: list[Turn | None] = [None] * n
    i, j = n, m
    while i > 0 and j > 0:
        if step[i, j] == 1:
            paired[i - 1] = turns[j - 1]
            i, j = i - 1, j - 1
        elif step[i, j] == 2:
            i -= 1
        else:
            j -= 1
    return paired


# -- what went wrong ---------------------------------------------------------------------------------------

_VERB_WORDS = frozenset({
    "turn", "switch", "put", "set", "dim", "start", "stop", "open", "close", "lock", "unlock", "lower",
    "raise", "on", "off", "up", "down", "to", "all",
})  # fmt: skip


def _name_words() -> frozenset[str]:
    words = {w for d in HOUSE for w in f"{d.name} {d.area}".lower().split()}
    return frozenset(words | {"light", "lights", "lamp", "blinds", "fan", "heating", "thermostat", "door"})


def cause(utt: Utterance, turn: Turn | None, text_ok: bool) -> str:
    """Why an utterance failed: wake miss, run-on (the endpointer never heard silence), ASR error on a
    device or room name, ASR error on a verb or number, or a matching miss (heard right, not done)."""
    if turn is None:
        return "wake miss"
    if turn.end_reason not in (None, "done"):
        return f"run-on ({turn.end_reason})"
    said, heard = _norm(utt.command.text).split(), _norm(turn.heard or "").split()
    if not heard:
        return "ASR: nothing kept (segment dropped as unsure)" if turn.dropped else "ASR: nothing heard"
    wrong = set()
    for op, a1, a2, _, _ in difflib.SequenceMatcher(a=said, b=heard, autojunk=False).get_opcodes():
        if op != "equal":
            wrong |= set(said[a1:a2]) or {"<inserted>"}
    names = {_norm(w) for w in _name_words()}
    if wrong == {"<inserted>"} and " ".join(said) in " ".join(heard):
        return "matching miss: extra words around a right command" if text_ok else "fails as text too"
    if wrong & names:
        return "ASR: device/room name"
    if any(w in _VERB_WORDS or w.isdigit() for w in wrong):
        return "ASR: verb/number"
    if wrong - {"<inserted>", "the", "a", "please"} or not text_ok:
        return "ASR: other words" if text_ok else "fails as text too"
    return "matching miss"


# -- the closed grammar (means: snap) ----------------------------------------------------------------------


def command_space(house: Sequence[HouseDevice] = HOUSE) -> list[str]:
    """Every command sentence of the house's closed grammar (homeplm.house.command_space, built
    from the devices and the phrasing families, not from the benchmark's phrasings). "{n}" is a
    number slot, filled with the number heard."""
    from homeplm.house.command_space import command_sentences

    return command_sentences(house)


_LEAD_IN = re.compile(r"^\s*(?:[\w']+\s+){0,2}[\w']+\s*[,.!?;:]+\s*(?=\S)")


def unwake(text: str) -> str:
    """A misheard wake phrase dropped: up to three words at the start that Whisper closed with a
    punctuation mark ("Page Harvest, set the …" → "set the …"), when at least two words remain."""
    rest = _LEAD_IN.sub("", text, count=1)
    return rest if len(rest.split()) >= 2 else text


class Snapper:
    """The transcript replaced by the nearest sentence of the command space when it is near enough
    (homeplm.house.command_space: lexical and phonetic similarity, no audio)."""

    def __init__(self, sentences: Sequence[str], threshold: float) -> None:
        from homeplm.house.command_space import CommandSpace

        self.space = CommandSpace(sentences)
        self.questions = {s for s in sentences if s.split()[0] in ("is", "are", "what", "how", "which")}
        self.threshold = threshold

    def best(self, text: str) -> tuple[str, float]:
        """The nearest sentence (its number slot filled with the number heard) and its score."""
        near = self.space.nearest(text, count=1, floor=0.0)
        return near[0] if near else (text, 0.0)

    def snap(self, text: str) -> str:
        text = unwake(text)
        sentence, score = self.best(text)
        return sentence if score >= self.threshold and sentence not in self.questions else text


# -- text through the same house and brain (the ceiling, and snapped transcripts) ---------------------------


def text_pass(config: Path, watcher: Watcher, texts: Sequence[str]) -> list[list[Publication]]:
    """Each text as one typed turn (the house's intents, then the LLM), in this process; the
    publications each caused."""
    return asyncio.run(_text_pass(config, watcher, texts))


async def _text_pass(config: Path, watcher: Watcher, texts: Sequence[str]) -> list[list[Publication]]:
    from homeplm import assistant
    from homeplm.config import load_settings
    from homeplm.core.events import EventBus
    from homeplm.mqtt.house_link import HouseLink
    from homeplm.voice.pipeline import Stage

    settings = load_settings(config)
    house = HouseLink(settings)
    emit = EventBus()
    pipeline, parts = await assistant.start(settings, ("llm",), emit, None, plugins=house.plugins())
    out: list[list[Publication]] = []
    try:
        await house.connect(emit)
        for text in texts:
            start = time.monotonic()
            await pipeline.run_text(text, Stage.BRAIN)
            await asyncio.sleep(0.15)
            out.append([(t, p) for _, t, p in watcher.since(start)])
    finally:
        await house.stop()
        await assistant.shutdown(pipeline, parts)
    return out


# -- the benchmark -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Result:
    """One condition: which utterances were done right, and how."""

    name: str
    utterances: list[Utterance]
    turns: list[Turn | None]
    right: list[bool]
    wakes: int = 0
    spurious: int = 0
    wall_s: float = 0.0
    latency_ms: list[float] = field(default_factory=list)  # speech end → first audio, intent turns
    asr_ms: list[float] = field(default_factory=list)  # speech end → transcript
    note: str = ""

    @property
    def share(self) -> float:
        return sum(self.right) / len(self.right) if self.right else 0.0

    def row(self) -> str:
        lat = f"{statistics.median(self.latency_ms):5.0f}" if self.latency_ms else "    -"
        asr = f"{statistics.median(self.asr_ms):5.0f}" if self.asr_ms else "    -"
        done = f"{sum(self.right)}/{len(self.right)}"
        found = sum(t is not None for t in self.turns)
        return (
            f"{self.name:<28} {100 * self.share:5.1f} % {done:>8}  wake {found:>3}/{len(self.turns):<3}"
            f" spurious {self.spurious:>2}  asr p50 {asr} ms  first audio p50 {lat} ms  ({self.wall_s:.0f} s)"
            + (f"  {self.note}" if self.note else "")
        )

    def by_voice(self) -> str:
        parts = []
        for label in dict.fromkeys(u.voice.label for u in self.utterances):
            marks = [r for u, r in zip(self.utterances, self.right, strict=True) if u.voice.label == label]
            parts.append(f"{label} {sum(marks)}/{len(marks)}")
        return "    by voice: " + ", ".join(parts)


def score(name: str, utterances: list[Utterance], turns: list[Turn], wakes: int, wall: float) -> Result:
    paired = align(utterances, turns)
    right = [t is not None and same_publications(t.publications, u.command.expected)
             for u, t in zip(utterances, paired, strict=True)]  # fmt: skip
    used = {id(t) for t in paired if t is not None}
    spurious = sum(1 for t in turns if id(t) not in used)
    result = Result(name, utterances, paired, right, wakes, spurious, wall)
    for t in paired:
        if t is None or t.speech_end is None:
            continue
        if t.transcript_at is not None:
            result.asr_ms.append((t.transcript_at - t.speech_end) * 1000)
        if t.first_audio is not None and (t.route or "").startswith("intent"):
            result.latency_ms.append((t.first_audio - t.speech_end) * 1000)
    return result


# The local LLM answers what no intent took; it never acts on the house, so its replies are cut short
# to save time (the routes and publications are the same).
LLM_MAX_TOKENS = 24


def write_config(
    folder: Path, broker: Mosquitto, name: str, overrides: dict[str, dict[str, Any]] | None = None
) -> Path:
    """A cut-down config: the broker, and `overrides` {section: {key: value}}; the rest defaults
    (but llm.max_tokens: LLM_MAX_TOKENS)."""
    lines = ["mqtt:", f"  host: {broker.host}", f"  port: {broker.port}", f"  client_id: bench-{name}"]
    overrides = {"llm": {"max_tokens": LLM_MAX_TOKENS}, **(overrides or {})}
    for section, values in overrides.items():
        lines += [f"{section}:", *(f"  {k}: {json.dumps(v)}" for k, v in values.items())]
    path = folder / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass(slots=True)
class Plan:
    voices: tuple[Voice, ...]
    commands: tuple[Command, ...]
    snrs: tuple[float | None, ...]
    means: tuple[str, ...]
    means_snr: float | None
    base_model: str | None
    nice: int
    keep: Path | None = None


@dataclass(slots=True)
class Means:
    """What one means changes: recognition bias, noise suppression, config keys, and what is done
    to the transcripts afterwards (offline: unwake or snap, acted on as text)."""

    prompt: str = "names"  # the house's names (the product), none, wake, sentences
    ns: int = 0
    overrides: dict[str, Any] = field(default_factory=dict)  # "section.key" → value
    transform: str | None = None  # None, "unwake" or "snap"
    snap: float = 0.9

    def sections(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for dotted, value in self.overrides.items():
            section, key = dotted.split(".", 1)
            out.setdefault(section, {})[key] = value
        return out


def parse_means(text: str, base_model: str | None = None) -> Means:
    """'+'-joined parts: defaults, nobias, prompt=wake|sentences, ns1…ns3, beam5, base, unwake,
    snap[THRESHOLD], or a config key 'section.key=value' (e.g. wake.preroll_s=0.3)."""
    means = Means()
    for part in text.split("+"):
        if part == "defaults":
            continue
        if part == "nobias":
            means.prompt = "none"
        elif part.startswith("prompt="):
            means.prompt = part.split("=", 1)[1]
        elif re.fullmatch(r"ns[0-3]?", part):
            means.ns = int(part[2:] or 2)
        elif part == "beam5":
            means.overrides["asr.beam_size"] = 5
        elif part == "base":
            means.overrides["asr.model"] = base_model or "(no --base-model given)"
        elif part == "unwake":
            means.transform = "unwake"
        elif part.startswith("snap"):
            means.transform, means.snap = "snap", float(part[4:] or 0.9)
        elif "=" in part and "." in part.split("=", 1)[0]:
            dotted, value = part.split("=", 1)
            means.overrides[dotted] = _yaml_value(value)
        else:
            raise SystemExit(f"unknown means {part!r} (in {text!r})")
    return means


def _yaml_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _snr_name(snr: float | None) -> str:
    return "clean" if snr is None else f"{snr:g} dB"


def _print(text: str) -> None:
    print(text, flush=True)


def run(plan: Plan, echo: Callable[[str], None] = _print) -> dict[str, Any]:
    """Every condition of the plan; returns the figures (and echoes the table as it goes)."""
    with tempfile.TemporaryDirectory(prefix="homeplm-spoken-") as tmp:
        folder = Path(tmp)
        with Mosquitto(folder) as broker:
            watcher = Watcher(broker.host, broker.port)
            try:
                watcher.publish_retained(discovery_messages())
                return _run(plan, folder, broker, watcher, echo)
            finally:
                watcher.close()


def _run(
    plan: Plan, folder: Path, broker: Mosquitto, watcher: Watcher, echo: Callable[[str], None]
) -> dict[str, Any]:
    t0 = time.monotonic()
    utterances = render(plan.commands, plan.voices, folder)
    speech_s = sum(len(u.speech) for u in utterances) / SAMPLE_RATE
    echo(
        f"{len(utterances)} utterances ({len(plan.commands)} commands × {len(plan.voices)} voices, "
        f"{speech_s:.0f} s of speech) rendered in {time.monotonic() - t0:.0f} s"
    )
    defaults = write_config(folder, broker, "defaults")

    ceiling = text_pass(defaults, watcher, [c.text for c in plan.commands])
    text_ok = {c.text: same_publications(p, c.expected) for c, p in zip(plan.commands, ceiling, strict=True)}
    echo(f"as text (the ceiling): {sum(text_ok.values())}/{len(text_ok)} commands done right")
    for (text, ok), pubs in zip(text_ok.items(), ceiling, strict=True):
        if not ok:
            echo(f"    FAILS AS TEXT: {text!r} → {pubs}")

    results: list[Result] = []
    wavs: dict[float | None, np.ndarray] = {}
    audio_runs: dict[tuple[Any, ...], Result] = {}

    def audio_run(name: str, snr: float | None, means: Means) -> Result | None:
        """The daemon on this SNR's WAV with the means' audio side (reused when already run)."""
        key = (snr, means.prompt, means.ns, tuple(sorted(means.overrides.items())))
        if key in audio_runs:
            return audio_runs[key]
        model = means.overrides.get("asr.model")
        if model is not None and not Path(str(model)).is_dir():
            echo(f"{name:<28} not measured: no Whisper model directory {model} (nothing is downloaded)")
            return None
        if snr not in wavs:
            wavs[snr] = long_wav(utterances, snr, folder)
        audio, note = wavs[snr], ""
        if means.ns:
            audio, cost = suppress_noise(audio, means.ns)
            note = f"(NS {cost:.1f} ms CPU per s of audio)"
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        path = (plan.keep or folder) / f"{slug}.wav"
        write_wav(path, audio)
        config = write_config(folder, broker, slug, means.sections())
        turns, wakes, log, wall = run_daemon(path, config, watcher, prompt=means.prompt, nice=plan.nice)
        if plan.keep is not None:
            (plan.keep / f"{slug}.log").write_text("\n".join(log) + "\n")
        else:
            path.unlink()
        result = score(name, utterances, turns, wakes, wall)
        result.note = note
        audio_runs[key] = result
        return result

    space = command_space()
    todo = [(snr, "defaults") for snr in plan.snrs]
    for text in plan.means:  # "MEANS" at --means-snr, "MEANS@SNR" elsewhere
        means_text, _, at = text.partition("@")
        todo.append((None if at == "clean" else float(at) if at else plan.means_snr, means_text))
    for snr, text in todo:
        name = f"{text}, {_snr_name(snr)}"
        if any(r.name == name for r in results):
            continue
        means = parse_means(text, plan.base_model)
        run_result = audio_run(name, snr, means)
        if run_result is None:
            continue
        result = run_result
        if means.transform is not None:
            transform = unwake if means.transform == "unwake" else Snapper(space, means.snap).snap
            result, acted = _offline(name, run_result, transform, defaults, watcher)
            what = (
                "a misheard wake phrase dropped" if means.transform == "unwake" else f"{len(space)} sentences"
            )
            result.note = f"({what}; non-commands acted on: {acted}/{len(NEGATIVES)})"
        results.append(result)
        echo(result.row())
        if result is run_result:
            echo(result.by_voice())
    failures = _failures(results, text_ok, echo)
    echo(f"total {time.monotonic() - t0:.0f} s")
    return {
        "commands": len(plan.commands),
        "voices": [v.label for v in plan.voices],
        "text_ceiling": sum(text_ok.values()) / len(text_ok),
        "conditions": [
            {
                "name": r.name,
                "share": r.share,
                "right": sum(r.right),
                "of": len(r.right),
                "wake_found": sum(t is not None for t in r.turns),
                "spurious": r.spurious,
                "asr_ms_p50": statistics.median(r.asr_ms) if r.asr_ms else None,
                "first_audio_ms_p50": statistics.median(r.latency_ms) if r.latency_ms else None,
                "wall_s": round(r.wall_s, 1),
                "note": r.note,
            }
            for r in results
        ],
        "failures": failures,
    }


def _offline(
    name: str, base: Result, transform: Callable[[str], str], config: Path, watcher: Watcher
) -> tuple[Result, int]:
    """The base run's transcripts changed by `transform`, acted on as text through the same house
    and brain; also how many of the NEGATIVES it turns into actions."""
    heard = [None if t is None else transform(t.heard or "") for t in base.turns]
    negatives = [transform(n) for n in NEGATIVES]
    pubs = iter(text_pass(config, watcher, [h for h in heard if h is not None] + negatives))
    right = [h is not None and same_publications(next(pubs), u.command.expected)
             for u, h in zip(base.utterances, heard, strict=True)]  # fmt: skip
    acted = sum(1 for _ in NEGATIVES if next(pubs))
    turns = [None if t is None else _replace_heard(t, h) for t, h in zip(base.turns, heard, strict=True)]
    result = Result(name, base.utterances, turns, right, base.wakes, base.spurious, base.wall_s)
    return result, acted


def _replace_heard(turn: Turn, heard: str | None) -> Turn:
    return Turn(turn.run_id, turn.started, heard, end_reason=turn.end_reason, dropped=turn.dropped)


def _failures(
    results: Sequence[Result], text_ok: dict[str, bool], echo: Callable[[str], None]
) -> dict[str, Any]:
    echo("\nfailures by cause (said → heard → published):")
    out: dict[str, Any] = {}
    for r in results:
        causes: dict[str, list[str]] = {}
        for utt, turn, ok in zip(r.utterances, r.turns, r.right, strict=True):
            if ok:
                continue
            why = cause(utt, turn, text_ok.get(utt.command.text, True))
            heard = "-" if turn is None else repr(turn.heard)
            pubs = "-" if turn is None else ", ".join(f"{t} {p}" for t, p in turn.publications) or "nothing"
            route = "" if turn is None else f" [{turn.route}]"
            causes.setdefault(why, []).append(
                f"{utt.voice.label}: {utt.command.text!r} → {heard}{route} → {pubs}"
            )
        out[r.name] = causes
        if causes:
            echo(f"  {r.name}: " + ", ".join(f"{k} {len(v)}" for k, v in sorted(causes.items())))
            for why, examples in sorted(causes.items()):
                for example in examples[:4]:
                    echo(f"      {why}: {example}")
    return out


BEST = "prompt=sentences+wake.threshold=0.35"
FULL_MEANS = ("nobias", "ns2", "base", "unwake", "snap0.9", BEST, f"{BEST}+snap0.9", f"{BEST}@5",
              f"{BEST}+snap0.9@5", "beam5")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m homeplm.bench.spoken_house",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="2 voices × 8 commands at 15 dB, defaults only")
    parser.add_argument(
        "--snr",
        nargs="*",
        default=None,
        help="SNRs in dB, or 'clean', for the defaults (default: clean 15 5)",
    )
    parser.add_argument(
        "--voices", nargs="+", default=None, help="espeak-ng voices (name or name:speed), 'piper'"
    )
    parser.add_argument("--commands", type=int, default=None, help="only the first N commands")
    parser.add_argument(
        "--means",
        nargs="*",
        default=None,
        help="compared at --means-snr (or at SNR with a suffix @SNR); each is '+'-joined parts: "
        "defaults nobias prompt=wake|sentences ns[1-3] beam5 base unwake snap[THRESHOLD] section.key=value "
        f"(default: {' '.join(FULL_MEANS)})",
    )
    parser.add_argument("--means-snr", type=float, default=15.0)
    parser.add_argument(
        "--base-model", default=None, help="a Whisper base CTranslate2 directory (means 'base')"
    )
    parser.add_argument("--nice", type=int, default=0, help="run homeplm under nice -n N")
    parser.add_argument("--json", default=None, help="write the figures to this file")
    parser.add_argument(
        "--keep", default=None, help="keep each condition's WAV and homeplm log in this folder"
    )
    args = parser.parse_args(argv)

    if shutil.which("espeak-ng") is None:
        print("espeak-ng is not installed (apt-get install espeak-ng)", file=sys.stderr)
        return 2
    quick = args.quick
    voices = (
        tuple(parse_voice(v) for v in args.voices)
        if args.voices
        else (QUICK_VOICES if quick else DEFAULT_VOICES)
    )
    count = args.commands or (QUICK_COMMANDS if quick else len(COMMANDS))
    snrs_text = args.snr if args.snr is not None else (["15"] if quick else ["clean", "15", "5"])
    snrs = tuple(None if s == "clean" else float(s) for s in snrs_text)
    means = tuple(args.means) if args.means is not None else (() if quick else FULL_MEANS)
    keep = Path(args.keep) if args.keep else None
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    plan = Plan(voices, COMMANDS[:count], snrs, means, args.means_snr, args.base_model, args.nice, keep)
    figures = run(plan)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
