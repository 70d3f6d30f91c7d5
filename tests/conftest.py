"""Shared fixtures. Real-part fixtures load each model once per test session."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from homeplm.config import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "configs" / "homeplm.yaml"


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


# Where homeplm_cli makes each run's own state dir: under pytest's temp dir (which pytest prunes),
# set by the session fixture below; a temp dir removed at exit when called outside a test session.
_CLI_STATE_BASE: list[Path] = []


@pytest.fixture(scope="session", autouse=True)
def cli_state_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-state")
    _CLI_STATE_BASE[:] = [path]
    return path


def _cli_state_dir() -> Path:
    if not _CLI_STATE_BASE:
        import atexit
        import shutil

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


class Broker:
    """A real mosquitto on a free loopback port, owned by the tests (start, stop, restart)."""

    def __init__(self, folder: Path) -> None:
        import socket

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
        import shutil
        import socket
        import time

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


@pytest.fixture()
def broker(tmp_path: Path):
    """A fresh broker for one test."""
    server = Broker(tmp_path)
    server.start()
    yield server
    server.stop()


def wait_for_text(path: Path, marker: str, timeout: float = 120) -> str:
    """The text of a log file once `marker` appears in it (fails after `timeout` seconds)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text(errors="replace")
        if marker in text:
            return text
        time.sleep(0.2)
    raise AssertionError(f"no {marker!r} in the log: {path.read_text(errors='replace')[-3000:]}")
