"""sd_notify against a real AF_UNIX datagram socket standing in for systemd."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from homeplm.daemon import sdnotify


def _drain(sock: socket.socket) -> list[str]:
    messages = []
    while True:
        try:
            messages.append(sock.recv(4096).decode())
        except BlockingIOError:
            return messages


@pytest.fixture
def systemd(monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A bound datagram socket as $NOTIFY_SOCKET (short path: sun_path holds 108 bytes)."""
    directory = Path(tempfile.mkdtemp(prefix="sdn-"))
    path = directory / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    try:
        yield sock
    finally:
        sock.close()
        shutil.rmtree(directory, ignore_errors=True)


def test_no_socket_is_a_quiet_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sdnotify.notify("READY=1") is False
    assert sdnotify.ready("x") is False
    assert sdnotify.watchdog() is False


def test_missing_or_odd_socket_returns_false(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", "/nonexistent/homeplm-notify")
    assert sdnotify.notify("READY=1") is False
    monkeypatch.setenv("NOTIFY_SOCKET", "vsock:2:1234")
    assert sdnotify.notify("READY=1") is False


def test_messages(systemd: socket.socket) -> None:
    assert sdnotify.ready("listening\nfor hey jarvis")
    assert sdnotify.status("loading models")
    assert sdnotify.stopping()
    assert sdnotify.watchdog()
    assert _drain(systemd) == [
        "READY=1\nSTATUS=listening for hey jarvis",
        "STATUS=loading models",
        "STOPPING=1",
        "WATCHDOG=1",
    ]
    assert sdnotify.ready()
    assert _drain(systemd) == ["READY=1"]


def test_reloading_carries_monotonic_usec(systemd: socket.socket) -> None:
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert sdnotify.reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    (message,) = _drain(systemd)
    first, second = message.split("\n")
    assert first == "RELOADING=1"
    key, value = second.split("=")
    assert key == "MONOTONIC_USEC"
    assert before <= int(value) <= after


def test_abstract_namespace_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"homeplm-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.setblocking(False)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert sdnotify.notify("READY=1")
        assert _drain(sock) == ["READY=1"]


def test_watchdog_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert sdnotify.watchdog_interval_s() is None
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    assert sdnotify.watchdog_interval_s() == 30.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert sdnotify.watchdog_interval_s() == 30.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))  # meant for another process
    assert sdnotify.watchdog_interval_s() is None
    monkeypatch.setenv("WATCHDOG_PID", "junk")
    assert sdnotify.watchdog_interval_s() is None
    monkeypatch.delenv("WATCHDOG_PID")
    for bad in ("0", "-5", "soon"):
        monkeypatch.setenv("WATCHDOG_USEC", bad)
        assert sdnotify.watchdog_interval_s() is None


async def test_watchdog_loop_returns_without_a_watchdog(systemd: socket.socket) -> None:
    await asyncio.wait_for(sdnotify.watchdog_loop(), timeout=1)
    assert _drain(systemd) == []


async def test_watchdog_loop_pings_at_half_the_interval(
    systemd: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # 0.2 s: a ping every 0.1 s
    task = asyncio.create_task(sdnotify.watchdog_loop())
    await asyncio.sleep(0.45)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    pings = _drain(systemd)
    assert set(pings) == {"WATCHDOG=1"}
    assert 3 <= len(pings) <= 6  # at 0, 0.1, 0.2, 0.3, 0.4 s (a loaded machine may lag)


async def test_a_hung_loop_stops_the_pings(systemd: socket.socket) -> None:
    """The point of pinging from the loop: while it is blocked, systemd hears nothing."""
    task = asyncio.create_task(sdnotify.watchdog_loop(0.1))
    await asyncio.sleep(0.12)
    assert len(_drain(systemd)) >= 2
    time.sleep(0.4)  # the loop is wedged (blocking call on it) for 8 ping periods
    assert _drain(systemd) == []
    await asyncio.sleep(0.01)  # it turns again: the overdue ping goes out at once
    resumed = _drain(systemd)
    assert resumed and set(resumed) == {"WATCHDOG=1"}
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
