"""The daemon's control socket under hostile input: floods of idle connections, running out of open
files, malformed requests, clients that leave. A real ControlServer on a unix socket in tmp_path."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import resource
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from homeplm.brain.explain import TurnTimer
from homeplm.config import Settings
from homeplm.daemon import control_socket as control
from homeplm.daemon.control_socket import (
    ControlError,
    ControlServer,
    call,
    daemon_running,
    raise_open_file_limit,
)
from homeplm.daemon.handlers import make_handlers

# A child process that opens COUNT idle connections (so its descriptors are not ours), says how many,
# then on a second line from the parent reads what the daemon answered each: busy, timeout or closed.
_FLOOD = r"""
import collections, json, socket, sys, time
path, count = sys.argv[1], int(sys.argv[2])
sys.stdin.readline()
socks, deadline = [], time.monotonic() + 30
while len(socks) < count and time.monotonic() < deadline:
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(5)
    try:
        sock.connect(path)
    except BlockingIOError:  # the listen queue is full until the daemon accepts more
        sock.close()
        time.sleep(0.01)
        continue
    socks.append(sock)
print(len(socks), flush=True)
sys.stdin.readline()
answers = collections.Counter()
for sock in socks:
    try:
        data = sock.recv(4096)
    except OSError:
        data = b"?"
    answers[json.loads(data)["error"]["code"] if data.startswith(b"{") else "closed"] += 1
print(json.dumps(answers), flush=True)
"""


async def _status(_args: dict[str, Any]) -> dict[str, Any]:
    return {"pid": os.getpid()}


def _records(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> list[logging.LogRecord]:
    """What the control socket and asyncio logged at `level` and above, less the start-up line."""
    return [
        r
        for r in caplog.records
        if r.name in ("homeplm.daemon.control_socket", "asyncio")
        and r.levelno >= level
        and not r.getMessage().startswith("control socket at")
    ]


async def _until(check: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def _raw(path: Path, data: bytes, timeout_s: float = 10.0) -> dict[str, Any]:
    """Send bytes as they are (then close our side for writing), return the decoded answer line."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(timeout_s)
        sock.connect(str(path))
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            answer += chunk
    result: dict[str, Any] = json.loads(answer)
    return result


@pytest.fixture()
async def serve(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    servers: list[ControlServer] = []

    async def start(handlers: dict[str, Any] | None = None, **options: Any) -> ControlServer:
        server = ControlServer(tmp_path / "c.sock", handlers or {"status": _status}, **options)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


async def _flood(path: Path, count: int) -> asyncio.subprocess.Process:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _FLOOD, str(path), str(count), stdin=-1, stdout=-1
    )
    return child


async def _line(child: asyncio.subprocess.Process, send: bytes = b"go\n") -> bytes:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(send)
    await child.stdin.drain()
    return await asyncio.wait_for(child.stdout.readline(), 60)


# -- floods ------------------------------------------------------------------------------------------------


async def test_many_idle_connections_neither_flood_the_log_nor_lock_out_a_request(
    serve: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server: ControlServer = await serve(timeout_s=3.0, max_connections=32)
    child = await _flood(server.path, 200)
    try:
        assert int(await _line(child)) == 200  # all connected, none sends a request
        # A normal request gets in while they are open: it pushes out the oldest silent one.
        assert await asyncio.to_thread(call, server.path, "status", timeout_s=5) == {"pid": os.getpid()}
        assert server.connections >= 31  # the idle ones are still open
        await _until(lambda: server.connections == 0, timeout_s=3.0 + 5)  # the idle timeout
        answers = json.loads(await _line(child))
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()
    assert sum(answers.values()) == 200 and answers["busy"] >= 168 and answers["timeout"] >= 1, answers
    logged = [r.getMessage() for r in _records(caplog)]
    assert len(logged) <= 3, logged  # one "full" line, one "idle" line
    assert not any(r.exc_info for r in caplog.records)


async def test_out_of_open_files_is_logged_once_not_in_a_loop(
    serve: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # The limit on connections is above what the descriptors allow: asyncio's accept runs out.
    server: ControlServer = await serve(timeout_s=1.0, max_connections=500)
    child = await _flood(server.path, 150)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 40, hard))
    try:
        assert int(await _line(child)) == 150
        await asyncio.sleep(2.5)  # asyncio retries the accept every second
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        child.kill()
        await child.wait()
    assert await asyncio.to_thread(call, server.path, "status", timeout_s=15) == {"pid": os.getpid()}
    messages = [r.getMessage() for r in _records(caplog)]
    assert sum("out of open files" in m for m in messages) == 1, messages  # it did run out, said so once
    assert len(messages) <= 3, messages
    assert not [r for r in caplog.records if r.name == "asyncio"]


def test_raise_open_file_limit_goes_to_the_hard_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 256), hard))
    try:
        expected = hard if hard != resource.RLIM_INFINITY else 1 << 16
        assert raise_open_file_limit() == expected
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == expected
        assert raise_open_file_limit() == expected  # twice is harmless
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_busy_when_every_slot_runs_a_request(serve: Callable[..., Any]) -> None:
    release, entered = asyncio.Event(), []

    async def slow(_args: dict[str, Any]) -> str:
        entered.append(1)
        await release.wait()
        return "done"

    server: ControlServer = await serve({"slow": slow, "status": _status}, max_connections=2)
    running = [asyncio.create_task(asyncio.to_thread(call, server.path, "slow")) for _ in range(2)]
    await _until(lambda: len(entered) == 2, timeout_s=5)  # both requests are in their handler
    with pytest.raises(ControlError) as refused:
        await asyncio.to_thread(call, server.path, "status", timeout_s=5)
    assert refused.value.code == "busy"
    release.set()
    assert await asyncio.gather(*running) == ["done", "done"]
    assert await asyncio.to_thread(call, server.path, "status") == {"pid": os.getpid()}


async def test_a_client_that_never_reads_its_answer_is_closed(
    serve: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    async def huge(_args: dict[str, Any]) -> str:
        return "x" * (16 << 20)

    server: ControlServer = await serve({"huge": huge}, timeout_s=0.5)
    before = len(os.listdir("/proc/self/fd"))
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(server.path))
        sock.sendall(b'{"cmd": "huge"}\n')  # and never reads
        await _until(lambda: server.connections == 1, timeout_s=5)
        await _until(lambda: server.connections == 0, timeout_s=5)
        await asyncio.sleep(0.1)
        assert len(os.listdir("/proc/self/fd")) == before + 1  # our end only: the daemon's is closed
    assert [r.getMessage() for r in _records(caplog)] == ["control client left before its answer: timeout"]


# -- clients that connect and leave -------------------------------------------------------------------------


async def test_connect_and_close_is_normal_and_logs_nothing(
    serve: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server: ControlServer = await serve()
    for _ in range(20):
        assert await asyncio.to_thread(daemon_running, server.path)  # what every CLI call does
    await _until(lambda: server.connections == 0, timeout_s=5)
    await asyncio.sleep(0.1)
    assert _records(caplog) == []
    assert not daemon_running(server.path.with_name("none.sock"))


async def test_a_client_gone_mid_request_is_one_line_at_most(
    serve: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    left = asyncio.Event()

    async def slow(_args: dict[str, Any]) -> str:
        await left.wait()
        return "done"

    server: ControlServer = await serve({"slow": slow, "status": _status})
    with socket.socket(socket.AF_UNIX) as sock:  # cut off half-way through its request line
        sock.connect(str(server.path))
        sock.sendall(b'{"cmd": "sta')
    await _until(lambda: bool(_records(caplog)), timeout_s=5)
    await _until(lambda: server.connections == 0, timeout_s=5)
    await asyncio.sleep(0.1)
    assert len(_records(caplog)) == 1  # the malformed payload, truncated
    caplog.clear()
    with socket.socket(socket.AF_UNIX) as sock:  # gone while its command runs
        sock.connect(str(server.path))
        sock.sendall(b'{"cmd": "slow"}\n')
        await _until(lambda: server.connections == 1, timeout_s=5)
    left.set()
    await _until(lambda: server.connections == 0, timeout_s=5)
    logged = _records(caplog)
    assert [r.getMessage()[:39] for r in logged] == ["control client left before its answer: "]
    assert not any(r.exc_info for r in logged)


async def test_a_request_over_the_size_limit_is_refused(
    serve: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(control, "_MAX_REQUEST", 1024)
    server: ControlServer = await serve()
    answer = await asyncio.to_thread(_raw, server.path, b'{"cmd": "status", "x": "' + b"x" * 4096 + b'"}\n')
    assert answer["error"]["code"] == "bad_request" and "longer than 1024" in answer["error"]["message"]


# -- request validation, every handler of make_handlers -----------------------------------------------------


class _Pipeline(SimpleNamespace):
    def __init__(self) -> None:
        super().__init__(settings=Settings(), parts=SimpleNamespace(brain=None), said=[], stopped=0)

    async def run_text(self, text: str, end: Any, source: str) -> Any:
        raise AssertionError("a bad request must not reach the pipeline")

    async def speak(self, text: str) -> Any:
        self.said.append(text)
        return SimpleNamespace(outcome="ok")

    def stop_playback(self) -> None:
        self.stopped += 1


def _memory() -> SimpleNamespace:
    return SimpleNamespace(
        private=False, count=lambda: 0, stats=lambda: (0, 0), list_items=lambda kind=None, limit=None: []
    )


@pytest.fixture()
async def daemon_socket(serve: Callable[..., Any]) -> tuple[ControlServer, SimpleNamespace, _Pipeline]:
    pipeline, listener = _Pipeline(), SimpleNamespace(muted=False, turns=[])
    info = {"models": {"llm": "x"}}
    handlers = make_handlers(pipeline, listener, _memory(), TurnTimer(), info)  # type: ignore[arg-type]
    server: ControlServer = await serve(handlers)
    return server, listener, pipeline


def _request(cmd: str, **args: Any) -> bytes:
    return json.dumps({"cmd": cmd, "args": args}).encode() + b"\n"


BAD_REQUESTS = [
    (b"not json\n", "not valid JSON"),
    (b"\xff\xfe\n", "not valid JSON"),
    (b"[" * 100_000 + b"\n", "nested too deeply"),
    (b"[1, 2]\n", "must be a JSON object, not list"),
    (b'{"args": {}}\n', 'needs "cmd"'),
    (b'{"cmd": 7}\n', 'needs "cmd"'),
    (b'{"cmd": "reboot"}\n', "unknown cmd 'reboot'"),
    (b'{"cmd": "mute", "args": ["on"]}\n', "args must be a JSON object"),
    (b'{"cmd": "ask"}\n', "args.text is required"),
    (_request("ask", text=""), "args.text is required"),
    (_request("ask", text="hi", speak="yes"), "args.speak must be true or false"),
    (_request("ask", question="hi"), "unknown argument(s) args.question"),
    (_request("say", text=5), "args.text is required"),
    (_request("say"), "args.text is required"),
    (_request("mute", on="false"), "args.on must be true or false"),
    (_request("mute", on=0), "args.on must be true or false"),
    (_request("stop", now=True), "unknown argument(s) args.now (it takes none)"),
    (_request("status", verbose=True), "unknown argument(s) args.verbose"),
    (_request("memory"), "args.op is required"),
    (_request("memory", op="drop"), "unknown memory op 'drop'"),
    (_request("memory", op="list", args=[]), "args.args must be a JSON object"),
    (_request("memory", op="list", args={"limit": "5"}), "args.args.limit must be an integer or null"),
    (_request("memory", op="list", args={"kind": "rumour"}), "args.args.kind must be one of fact"),
    (_request("memory", op="search", args={}), "args.args.query is required by memory search"),
    (_request("memory", op="forget", args={"ids": [1]}), "args.args.ids must be a list of strings"),
    (_request("memory", op="forget", args={"last": "false"}), "args.args.last must be true or false"),
    (_request("memory", op="stats", args={"x": 1}), "unknown argument(s) args.args.x"),
    (_request("memory", op="import", args={"items": [{"v": 1}]}), "args.args.items[0]: field 'id'"),
]


@pytest.mark.parametrize(
    ("payload", "problem"), BAD_REQUESTS, ids=[p[:24].decode(errors="replace") for p, _ in BAD_REQUESTS]
)
async def test_a_bad_request_is_answered_bad_request_naming_the_problem(
    daemon_socket: tuple[ControlServer, SimpleNamespace, _Pipeline],
    caplog: pytest.LogCaptureFixture,
    payload: bytes,
    problem: str,
) -> None:
    caplog.set_level(logging.INFO)
    server, listener, pipeline = daemon_socket
    answer = await asyncio.to_thread(_raw, server.path, payload)
    assert answer["ok"] is False and answer["error"]["code"] == "bad_request", answer
    assert problem in answer["error"]["message"], answer
    assert not listener.muted and not pipeline.said and not pipeline.stopped  # nothing was done
    assert not any(r.exc_info for r in caplog.records)
    assert [r.levelno for r in _records(caplog)] == [logging.INFO]  # one line, no traceback
    assert len(_records(caplog)[0].getMessage()) < 300  # the payload truncated


async def test_good_requests_still_work(
    daemon_socket: tuple[ControlServer, SimpleNamespace, _Pipeline],
) -> None:
    server, listener, pipeline = daemon_socket

    def ask(cmd: str, **args: Any) -> Any:
        return call(server.path, cmd, timeout_s=10, **args)

    assert await asyncio.to_thread(ask, "mute") is True and listener.muted
    assert await asyncio.to_thread(ask, "mute", on=False) is False and not listener.muted
    assert await asyncio.to_thread(ask, "say", text="Dinner is ready.") == "ok"
    assert pipeline.said == ["Dinner is ready."]
    assert await asyncio.to_thread(ask, "stop") is True and pipeline.stopped == 1
    assert (await asyncio.to_thread(ask, "status"))["models"] == {"llm": "x"}
    assert await asyncio.to_thread(ask, "memory", op="list", args={"kind": "fact", "limit": 5}) == []
    assert (await asyncio.to_thread(ask, "memory", op="stats"))["items"] == 0
    # The same JSON line without a newline (as `printf … | socat` sends it, then half-closes) is answered.
    answer = await asyncio.to_thread(_raw, server.path, b'{"cmd": "stop"}')
    assert answer == {"ok": True, "result": True}


async def test_a_real_bug_is_still_internal(
    serve: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    async def broken(_args: dict[str, Any]) -> Any:
        raise KeyError("oops")

    server: ControlServer = await serve({"broken": broken})
    with pytest.raises(ControlError) as failed:
        await asyncio.to_thread(call, server.path, "broken")
    assert failed.value.code == "internal"
    assert [r.exc_info is not None for r in _records(caplog)] == [True]  # a bug keeps its traceback
