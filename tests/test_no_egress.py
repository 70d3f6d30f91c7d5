"""Nothing leaves the house: a full spoken turn through the daemon, with MQTT on loopback, under
strace — every connection it attempts is to loopback or a local socket, and no DNS query is sent."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

from tests.harness import StartDaemon

pytestmark = pytest.mark.real

_INET = re.compile(
    r'sa_family=AF_INET6?, sin6?_port=htons\((\d+)\).*?inet_(?:addr|pton)\((?:AF_INET6, )?"([^"]+)"'
)


def outside_connections(trace: str) -> list[str]:
    """connect/sendto/sendmsg calls to anything but loopback, and anything to port 53 (DNS)."""
    bad = []
    for line in trace.splitlines():
        if not any(call in line for call in ("connect(", "sendto(", "sendmsg(")):
            continue
        for port, address in _INET.findall(line):
            loopback = address.startswith("127.") or address in ("::1", "::ffff:127.0.0.1")
            if not loopback or port == "53":
                bad.append(line.strip())
    return bad


LOOPBACK_MQTT = (
    '123 connect(5, {sa_family=AF_INET, sin_port=htons(1883), sin_addr=inet_addr("127.0.0.1")}, 16) = 0'
)
GITHUB = '1 connect(5, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("140.82.1.1")}, 16) = -1'
DNS = (
    '1 sendto(5, "..", 30, 0, {sa_family=AF_INET, sin_port=htons(53), '
    'sin_addr=inet_addr("127.0.0.53")}, 16) = 30'
)
UNIX = '1 connect(3, {sa_family=AF_UNIX, sun_path="/run/x.sock"}, 110) = 0'


def test_outside_connections_parser() -> None:
    assert outside_connections(LOOPBACK_MQTT) == [] and outside_connections(UNIX) == []
    assert outside_connections(GITHUB) != [] and outside_connections(DNS) != []


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_a_full_spoken_turn_connects_only_to_loopback(
    broker, tmp_path: Path, real_parts, start_daemon: StartDaemon
) -> None:
    from homeplm.bench.phrases import speak

    trace = tmp_path / "trace.txt"
    strace = ["strace", "-f", "-qq", "--seccomp-bpf", "-e", "trace=connect,sendto,sendmsg", "-o", str(trace)]
    config = f"mqtt:\n  host: 127.0.0.1\n  port: {broker.port}\n"
    daemon = start_daemon(config=config, prefix=strace)
    deadline = time.monotonic() + 180
    daemon.wait_for("control socket", deadline - time.monotonic())
    question = "Hey Jarvis, what is the capital of France?"
    daemon.send(speak(real_parts.parts["tts"], question, lead_s=1.0, tail_s=2.0))
    daemon.wait_for("run-end", deadline - time.monotonic())
    assert "reply-end" in daemon.log
    daemon.close_input()  # the end of its input ends the daemon
    daemon.wait(timeout=60)
    text = trace.read_text()
    assert "connect(" in text  # the trace did record the MQTT connection
    assert re.search(rf"htons\({broker.port}\)", text)
    assert outside_connections(text) == []
