"""The daemon as systemd runs it: READY/RELOADING/STOPPING on the notify socket, SIGHUP reloads what
is safe and says what needs a restart, a bad config on reload keeps it running on the old one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import REPO, StartDaemon

pytestmark = pytest.mark.real


def receive(sock: socket.socket, wanted: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            message = sock.recv(4096).decode()
        except TimeoutError:
            continue
        seen.append(message)
        if wanted in message:
            return message
    raise AssertionError(f"no {wanted!r} on the notify socket; got {seen}")


@pytest.fixture()
def notify(tmp_path: Path) -> Iterator[tuple[socket.socket, dict[str, str]]]:
    """systemd's notify socket, and the environment that points a daemon at it."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.settimeout(1.0)
    yield sock, {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify.sock")}
    sock.close()


def test_notify_reload_and_stop(tmp_path: Path, notify, start_daemon: StartDaemon) -> None:
    sock, env = notify
    config = tmp_path / "homeplm.yaml"
    config.write_text("wake:\n  threshold: 0.5\n")
    daemon = start_daemon(config=config, env={**env, "WATCHDOG_USEC": "2000000"})
    assert "READY=1" in receive(sock, "READY=1")
    assert "WATCHDOG=1" in receive(sock, "WATCHDOG=1", timeout=5)

    config.write_text("wake:\n  threshold: 0.7\nasr:\n  beam_size: 2\ntts:\n  volume: 0.8\n")
    daemon.proc.send_signal(signal.SIGHUP)
    receive(sock, "RELOADING=1", timeout=10)
    daemon.wait_for("configuration reloaded")
    assert "applied ['wake.threshold', 'tts.volume']" in daemon.log
    assert "needs a restart: ['asr.beam_size']" in daemon.log

    config.write_text("wake:\n  threshhold: 0.7\n")
    daemon.proc.send_signal(signal.SIGHUP)
    daemon.wait_for("reload refused")
    assert daemon.proc.poll() is None

    daemon.proc.send_signal(signal.SIGTERM)
    receive(sock, "STOPPING=1", timeout=10)
    assert daemon.wait(timeout=30) == 0
    assert "Traceback" not in daemon.log


def test_the_start_after_a_native_crash_names_the_part(
    tmp_path: Path, notify, start_daemon: StartDaemon
) -> None:
    sock, env = notify
    state = tmp_path / "state"
    state.mkdir()
    # A real native crash inside the block the daemon marks while it loads and first runs the LLM.
    crash = (
        "import os, signal, sys\nfrom pathlib import Path\nfrom homeplm.daemon.warmup import StartupMarks\n"
        "with StartupMarks(Path(sys.argv[1])).loading('llm'):\n    os.kill(os.getpid(), signal.SIGILL)\n"
    )
    died = subprocess.run([sys.executable, "-c", crash, str(state)], cwd=REPO, capture_output=True)
    assert died.returncode == -signal.SIGILL
    daemon = start_daemon(state_dir=state, env=env)
    receive(sock, "READY=1")
    assert daemon.stop() == 0
    text = daemon.log
    assert "the last start ended while loading or first running: llm" in text
    assert "homeplm doctor" in text and "HOMEPLM_LLAMA_BUILD=baseline" in text
    assert not list((state / "starting").iterdir())  # every part loaded and ran: no mark left
    assert not (state / "start-crashes").exists()  # READY resets the count
