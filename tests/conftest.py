"""Shared fixtures. Real-part fixtures load each model once per test session; the daemon, the broker and
the MQTT client come from tests/harness.py, and each fixture here ends what it started."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from homeplm.config import Settings, load_settings
from tests.harness import (
    _CLI_STATE_BASE,
    CONFIG,
    Broker,
    Daemon,
    MqttClient,
    StartDaemon,
)


@pytest.fixture(scope="session", autouse=True)
def private_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tests never touch the real user's state (memory, control socket)."""
    path = tmp_path_factory.mktemp("state")
    os.environ["STATE_DIRECTORY"] = str(path)
    os.environ.pop("RUNTIME_DIRECTORY", None)
    os.environ.pop("HOMEPLM_CONFIG", None)
    return path


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings(CONFIG)


@pytest.fixture(scope="session")
def real_parts(settings: Settings):
    """Every real model, loaded once (wake, vad, stt, llm, tts); no memory (tests of it open their own)."""
    from homeplm import assistant

    names = tuple(n for n in assistant.PART_NAMES if n != "memory")
    return asyncio.run(assistant.load_parts(settings, names))


@pytest.fixture(scope="session", autouse=True)
def cli_state_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-state")
    _CLI_STATE_BASE[:] = [path]
    return path


@pytest.fixture()
def broker(tmp_path: Path):
    """A fresh broker for one test."""
    server = Broker(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture()
def start_daemon(tmp_path: Path) -> Iterator[StartDaemon]:
    """`start_daemon(*args, config=…)`: a `homeplm run` (default: on a microphone pipe, no speaker) with
    its own state dir under tmp_path; `config` is YAML text or a path. Every one is ended afterwards."""
    started: list[Daemon] = []

    def start(
        *args: str,
        config: str | Path | None = None,
        state_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
        prefix: Sequence[str] = (),
    ) -> Daemon:
        if state_dir is None:
            state_dir = tmp_path / f"state{len(started) or ''}"
            state_dir.mkdir()
        if isinstance(config, str):
            text, config = config, tmp_path / f"homeplm{len(started) or ''}.yaml"
            config.write_text(text)
        daemon = Daemon(state_dir, *args, config=config, env=env, prefix=prefix)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.close()


@pytest.fixture()
def mqtt_client() -> Iterator[Callable[..., MqttClient]]:
    """`mqtt_client(broker, *topics)`: a paho test client, subscribed before it returns, closed afterwards."""
    clients: list[MqttClient] = []

    def connect(broker: Broker, *topics: str) -> MqttClient:
        clients.append(MqttClient(broker, *topics))
        return clients[-1]

    yield connect
    for client in clients:
        client.close()
