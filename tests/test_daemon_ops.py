"""The daemon as systemd runs it: READY/RELOADING/STOPPING on the notify socket, SIGHUP reloads what
is safe and says what needs a restart, a bad config on reload keeps it running on the old one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, wait_for_text

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


def test_notify_reload_and_stop(tmp_path: Path) -> None:
    config = tmp_path / "homeplm.yaml"
    config.write_text("wake:\n  threshold: 0.5\n")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(1.0)
    state = tmp_path / "state"
    state.mkdir()
    env = {**os.environ, "STATE_DIRECTORY": str(state), "NOTIFY_SOCKET": str(tmp_path / "notify.sock")}
    env["WATCHDOG_USEC"] = "2000000"
    log = tmp_path / "daemon.log"
    cmd = [
        sys.executable,
        "-m",
        "homeplm",
        "run",
        "--config",
        str(config),
        "--input",
        "-",
        "--output",
        "none",
    ]
    with log.open("wb") as err:
        daemon = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.PIPE, stderr=err)
    try:
        assert "READY=1" in receive(notify, "READY=1")
        assert "WATCHDOG=1" in receive(notify, "WATCHDOG=1", timeout=5)

        config.write_text("wake:\n  threshold: 0.7\nasr:\n  beam_size: 2\ntts:\n  volume: 0.8\n")
        daemon.send_signal(signal.SIGHUP)
        receive(notify, "RELOADING=1", timeout=10)
        text = wait_for_text(log, "configuration reloaded")
        assert "applied ['wake.threshold', 'tts.volume']" in text
        assert "needs a restart: ['asr.beam_size']" in text

        config.write_text("wake:\n  threshhold: 0.7\n")
        daemon.send_signal(signal.SIGHUP)
        wait_for_text(log, "reload refused")
        assert daemon.poll() is None

        daemon.send_signal(signal.SIGTERM)
        receive(notify, "STOPPING=1", timeout=10)
        daemon.wait(timeout=30)
    finally:
        if daemon.poll() is None:
            daemon.kill()
        notify.close()
    assert daemon.returncode == 0
    assert "Traceback" not in log.read_text()


def test_the_start_after_a_native_crash_names_the_part(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    # A real native crash inside the block the daemon marks while it loads and first runs the LLM.
    crash = (
        "import os, signal, sys\nfrom pathlib import Path\nfrom homeplm.daemon.warmup import StartupMarks\n"
        "with StartupMarks(Path(sys.argv[1])).loading('llm'):\n    os.kill(os.getpid(), signal.SIGILL)\n"
    )
    died = subprocess.run([sys.executable, "-c", crash, str(state)], cwd=REPO, capture_output=True)
    assert died.returncode == -signal.SIGILL
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(1.0)
    env = {**os.environ, "STATE_DIRECTORY": str(state), "NOTIFY_SOCKET": str(tmp_path / "notify.sock")}
    log = tmp_path / "daemon.log"
    cmd = [sys.executable, "-m", "homeplm", "run", "--input", "-", "--output", "none"]
    with log.open("wb") as err:
        daemon = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.PIPE, stderr=err)
    try:
        receive(notify, "READY=1")
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
    finally:
        if daemon.poll() is None:
            daemon.kill()
        notify.close()
    text = log.read_text()
    assert "the last start ended while loading or first running: llm" in text
    assert "homeplm doctor" in text and "HOMEPLM_LLAMA_BUILD=baseline" in text
    assert not list((state / "starting").iterdir())  # every part loaded and ran: no mark left
    assert not (state / "start-crashes").exists()  # READY resets the count
    assert daemon.returncode == 0
