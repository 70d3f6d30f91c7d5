"""What the tests share: the real `homeplm` command line and daemon in child processes, a real mosquitto,
one paho test client, one wait helper. The fixtures in tests/conftest.py hand these out and clean up."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np
import paho.mqtt.client as mqtt
import pytest

from homeplm.config.schema import MqttSettings

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "configs" / "homeplm.yaml"
# The daemon on a microphone pipe (this process writes its stdin) and no speaker.
STDIN_ARGS = ("--input", "-", "--output", "none")

T = TypeVar("T")


# -- waiting -----------------------------------------------------------------------------------------------


def wait_until(predicate: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    """The predicate's first truthy value, polled; fails after `timeout` seconds naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout:g} s")
        time.sleep(0.02)


async def wait_for(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """`wait_until` for tests on the event loop: it sleeps with asyncio, so the loop keeps running."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def wait_for_text(path: Path, marker: str, timeout: float = 120) -> str:
    """The text of a log file once `marker` appears in it (fails after `timeout` seconds)."""

    def text() -> str:
        found = path.read_text(errors="replace")
        return found if marker in found else ""

    try:
        return wait_until(text, timeout)
    except AssertionError:
        tail = path.read_text(errors="replace")[-3000:]
        raise AssertionError(f"no {marker!r} in the log: {tail}") from None


# -- the command line --------------------------------------------------------------------------------------

# Where homeplm_cli makes each run's own state dir: under pytest's temp dir (which pytest prunes),
# set by a session fixture in conftest; a temp dir removed at exit when called outside a test session.
_CLI_STATE_BASE: list[Path] = []


def _cli_state_dir() -> Path:
    if not _CLI_STATE_BASE:
        import atexit

        base = Path(tempfile.mkdtemp(prefix="homeplm-state-"))
        atexit.register(shutil.rmtree, base, ignore_errors=True)
        _CLI_STATE_BASE.append(base)
    return Path(tempfile.mkdtemp(prefix="s", dir=_CLI_STATE_BASE[0]))


def homeplm_cli(
    *args: str, timeout: float = 300, state_dir: Path | None = None, **kwargs
) -> subprocess.CompletedProcess[str]:
    """Run the real `homeplm` command line in a child process, with its own state dir (and the
    environment `env`, default this process's)."""
    state = state_dir or _cli_state_dir()
    base = kwargs.pop("env", None) or os.environ
    env = {**base, "PYTHONUNBUFFERED": "1", "STATE_DIRECTORY": str(state)}
    return subprocess.run(
        [sys.executable, "-m", "homeplm", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        **kwargs,
    )


def run_with_closed_stdout(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The real CLI writing into a pipe whose reader has already gone, as `| head -1` leaves it."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, "-m", "homeplm", *args],
            cwd=REPO,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=timeout,
            env={**os.environ, "STATE_DIRECTORY": str(_cli_state_dir())},
        )
    finally:
        os.close(write)


# -- the daemon --------------------------------------------------------------------------------------------


class Daemon:
    """`homeplm run` in the background with its own state dir; its stderr (the log) is read as it comes.

    `args` default to a microphone pipe (`send` writes it) and no speaker; `prefix` wraps the command
    (strace). Use it through the `start_daemon` fixture, which always ends it."""

    def __init__(
        self,
        state_dir: Path,
        *args: str,
        config: Path | None = None,
        env: Mapping[str, str] | None = None,
        prefix: Sequence[str] = (),
    ) -> None:
        self.state_dir = state_dir
        self.config = config
        args = args or STDIN_ARGS
        options = ("--config", str(config)) if config is not None else ()
        env = {**(env or os.environ), "STATE_DIRECTORY": str(state_dir), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "homeplm", "run", *options, *args],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE if "-" in args else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._changed:
                self._lines.append(line.decode(errors="replace"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def log(self) -> str:
        with self._changed:
            return "".join(self._lines)

    def wait_for(self, pattern: str, timeout: float = 120) -> re.Match[str]:
        """The first log match of `pattern`; fails with the log if none comes in time or it ends."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = re.search(pattern, "".join(self._lines), re.I | re.M)
                if found:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    break
                self._changed.wait(min(left, 0.5))
        pytest.fail(f"no {pattern!r} in the log within {timeout:g} s:\n{self.log[-4000:]}")

    def send(self, audio: bytes | np.ndarray) -> None:
        """Audio on the daemon's microphone pipe (16 kHz mono int16)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(audio if isinstance(audio, bytes) else audio.tobytes())
        self.proc.stdin.flush()

    def close_input(self) -> None:
        """The end of its microphone pipe (which ends the daemon)."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()

    def wait(self, timeout: float) -> int:
        """Its exit code, once it ends by itself; fails with the log if it does not in time."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.close()
            pytest.fail(f"homeplm run still running after {timeout:g} s:\n{self.log[-4000:]}")
        self._reader.join(5)
        return code

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Its exit code after `signum` (the microphone pipe stays open: the signal alone ends it)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        return self.wait(timeout)

    def close(self) -> None:
        """Kill it if it still runs and release its pipes (safe to call twice)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()


class StartDaemon(Protocol):
    def __call__(
        self,
        *args: str,
        config: str | Path | None = None,
        state_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
        prefix: Sequence[str] = (),
    ) -> Daemon: ...


# -- the broker and an MQTT client -------------------------------------------------------------------------


class Broker:
    """A real mosquitto on a free loopback port, owned by the tests (start, stop, restart)."""

    def __init__(self, folder: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.host = "127.0.0.1"
        self.config = folder / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            f"log_dest stderr\nlog_type error\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen([binary, "-c", str(self.config)], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection((self.host, self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


Message = tuple[str, bytes, bool]  # topic, payload, retained


class MqttClient:
    """A plain paho client on the test's side of the broker: subscribes to `topics` (ready once it
    returns), records every message it sees, waits for one, publishes."""

    def __init__(self, broker: Broker, *topics: str) -> None:
        self.messages: list[Message] = []
        self.lock = threading.Lock()
        self._ready = threading.Event()
        self._closed = False
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_: self._ready.set()
        self.topics = topics
        self.client.on_connect = self._on_connect
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert not topics or self._ready.wait(5), "the test client did not subscribe"

    def _on_connect(self, client, *_) -> None:
        # On every connect: a broker restart loses the subscriptions.
        if self.topics:
            client.subscribe([(t, 0) for t in self.topics])

    def _on_message(self, client, userdata, message) -> None:
        with self.lock:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain)))

    def payloads(self, topic: str) -> list[bytes]:
        with self.lock:
            return [p for t, p, _ in self.messages if t == topic]

    def last(self, topic: str) -> bytes | None:
        found = self.payloads(topic)
        return found[-1] if found else None

    def wait(self, predicate: Callable[[Message], object], timeout: float = 20.0) -> list[Message]:
        """The messages so far that match `predicate`, once there is one."""

        def found() -> list[Message]:
            with self.lock:
                return [m for m in self.messages if predicate(m)]

        try:
            return wait_until(found, timeout)
        except AssertionError:
            with self.lock:
                seen = [m[0] for m in self.messages][-20:]
            raise AssertionError(f"no such message; saw {seen}") from None

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()

    def publish(self, topic: str, payload: str | bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def publish_all(self, messages: Iterable[tuple[str, str | bytes]], retain: bool = False) -> None:
        for topic, payload in messages:
            self.publish(topic, payload, retain=retain)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.client.disconnect()
            self.client.loop_stop()


# -- a house on the broker ---------------------------------------------------------------------------------

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


def publish_house(broker: Broker) -> None:
    """Retained discovery for three device families (and retained garbage), as their firmware leaves it."""
    client = MqttClient(broker)
    client.publish_all(GARBAGE.items(), retain=True)
    client.publish_all(((t, json.dumps(c)) for t, c in RETAINED.items()), retain=True)
    client.publish("esp32/sensor/study/state", "20.25", retain=True)
    client.close()


# -- text --------------------------------------------------------------------------------------------------

_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _number_words(match: re.Match[str]) -> str:
    n = int(match.group())
    if n < 20:
        return _UNITS[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _UNITS[n % 10])
    return match.group()


def normalise(text: str) -> str:
    """Text as a word error rate compares it: lower case, numbers as words, no punctuation."""
    text = text.lower().replace("%", " percent").replace("-", " ")
    text = re.sub(r"\d+", _number_words, text)
    return " ".join(re.findall(r"[a-z']+", text))


def link_settings(broker, **overrides) -> MqttSettings:
    """MQTT settings for a link of homeplm's own to the test broker, with a client id of its own."""
    fields = {"host": broker.host, "port": broker.port, "client_id": f"homeplm-{uuid.uuid4().hex[:8]}"}
    return MqttSettings(**{**fields, **overrides})
