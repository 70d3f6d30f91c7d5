"""Admin commands for people who look after the box: status, mute, mic and wake word tests, logs.

The daemon side of `status` (the turn log, the model paths) is homeplm/daemon/turnlog.py; heavy
imports stay inside the functions so that `homeplm --help` stays instant.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from homeplm.core.errors import HomeplmError

if TYPE_CHECKING:
    pass

EXIT_DAEMON_NOT_RUNNING = 5

EXIT_CODES = """exit codes:
  0  ok
  1  a problem was found, or the daemon answered with an error
  2  usage or configuration error
  5  no daemon is running (for commands that need one)"""
LOGS_EXIT_CODES = """exit codes:
  0  ok (journalctl's own exit status once it runs)
  1  journalctl is missing, or the homeplm unit is not installed
  2  usage error"""


class DaemonNotRunningError(HomeplmError):
    """An admin command that needs the daemon found none running."""

    code = "daemon_not_running"
    exit_code = EXIT_DAEMON_NOT_RUNNING


# -- the CLI side -----------------------------------------------------------------------------------


def add_parsers(sub: Any) -> None:
    """The admin subcommands (cli.py adds --config and -v to each)."""

    def add(name: str, help_text: str, description: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(
            name,
            help=help_text,
            description=description,
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        return parser

    add(
        "status",
        "what the running daemon is doing: state, models, MQTT, memory, last turns",
        "Ask the running daemon for its state, uptime, models and their load times, the MQTT link, "
        "the memory's counts and the last turns (route and latency; never what was said).",
    )
    add("mute", "stop the daemon listening for the wake word", "Mute the running daemon's microphone.")
    add("unmute", "let the daemon listen again", "Unmute the running daemon's microphone.")
    doctor = add(
        "doctor",
        "check the installation: config, models, audio, broker, disk, CPU",
        "Run every check (ok / warn / fail, each with a hint). The only network connections made "
        "are TCP connects (2 s timeout) to the configured MQTT broker and expert host, if any.",
    )
    doctor.add_argument(
        "--no-checksums", action="store_true", help="skip the sha256 of the model files (~300 MB to read)"
    )
    for name, help_text, description in (
        (
            "mic-test",
            "show the microphone's level live, then a summary",
            "Open the configured microphone and print its level (dBFS, peak) every 80 ms, then the "
            "average level, the clipped samples and a hint. Ctrl-C ends it.",
        ),
        (
            "wake-test",
            "show the wake word scores live from the microphone",
            "Feed the microphone to the configured wake word detector and print each wake word's "
            "highest score in the last 0.5 s, and every detection. Ctrl-C ends it.",
        ),
    ):
        test = add(name, help_text, description)
        test.add_argument(
            "--seconds", type=float, default=None, metavar="N", help="stop after N seconds (mic default: 10)"
        )
        test.add_argument("--input", metavar="WAV", help="read a WAV file instead of the microphone")
    logs = sub.add_parser(
        "logs",
        help="show the daemon's log (journalctl -u homeplm)",
        description="Run journalctl -u homeplm with these flags.",
        epilog=LOGS_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.add_argument("-n", "--lines", type=int, default=50, metavar="N", help="last N lines (default 50)")
    logs.add_argument("--json", action="store_true", help="journalctl's JSON output, one entry a line")


def require_daemon(socket: Path) -> None:
    from homeplm.daemon.control_socket import daemon_running

    if not daemon_running(socket):
        raise DaemonNotRunningError(
            f"no homeplm daemon is running (no answer on {socket}); "
            "start it with `sudo systemctl start homeplm` or `homeplm run`"
        )


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes}m"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


_PART_OF_ROLE = {"asr": "stt"}


def render_status(status: dict[str, Any], now: float | None = None) -> str:
    now = time.time() if now is None else now
    lines = [
        f"state:    {status.get('state', '?')}",
        f"uptime:   {_ago(status.get('uptime_s', 0))} (pid {status.get('pid', '?')}, "
        f"{status.get('turns', 0)} spoken turns)",
    ]
    if status.get("ready_ms") is not None:
        lines.append(f"ready in: {status['ready_ms'] / 1000:.1f} s")
    lines.append("models:")
    load_ms = status.get("load_ms") or {}
    shown = set()
    for role, path in (status.get("models") or {}).items():
        part = _PART_OF_ROLE.get(role, role)  # load times are by part (stt), models by role (asr)
        shown.add(part)
        loaded = f"{load_ms[part]:>7.0f} ms" if part in load_ms else "       ? ms"
        lines.append(f"  {role:<6} {loaded}  {path or 'MISSING'}")
    for part in sorted(set(load_ms) - shown):
        lines.append(
            f"  {part:<6} {load_ms[part]:>7.0f} ms" + ("  (with the embeddings)" if part == "memory" else "")
        )
    mqtt = status.get("mqtt") or {}
    if not mqtt.get("broker"):
        lines.append("mqtt:     not configured")
    else:
        state = {True: "connected", False: "NOT connected", None: "unknown"}[mqtt.get("connected")]
        lines.append(f"mqtt:     {state} to {mqtt['broker']}")
    for room in status.get("satellites") or []:
        state = "connected" if room.get("connected") else "NOT connected"
        lines.append(
            f"satellite {room.get('name')} ({room.get('area') or 'no area'}): {state} to {room.get('uri')}, "
            f"{room.get('turns', 0)} turns"
        )
    memory = status.get("memory")
    if memory is None:
        lines.append("memory:   off")
    elif "error" in memory:
        lines.append(f"memory:   {memory['error']}")
    else:
        private = ", PRIVATE MODE (nothing new is stored)" if memory.get("private") else ""
        lines.append(
            f"memory:   {memory.get('items', 0)} items ({memory.get('facts', 0)} facts, "
            f"{memory.get('exchanges', 0)} exchanges){private}"
        )
    turns = status.get("last_turns") or []
    lines.append("last turns:" if turns else "last turns: none yet")
    for turn in reversed(turns):
        lines.append(
            f"  {_ago(now - turn['time']):>8} ago  {turn.get('start') or '?':<6} "
            f"{turn.get('route') or '-':<22} {turn.get('outcome') or '?':<10} "
            f"{turn['latency_ms']:>7.0f} ms ({turn['latency']})"
        )
    return "\n".join(lines)


def run_status(socket: Path, as_json: bool) -> int:
    from homeplm.daemon.control_socket import call

    require_daemon(socket)
    status = call(socket, "status", timeout_s=10)
    print(json.dumps(status, indent=2) if as_json else render_status(status))
    return 0


def run_mute(socket: Path, on: bool, as_json: bool) -> int:
    from homeplm.daemon.control_socket import call

    require_daemon(socket)
    muted = bool(call(socket, "mute", timeout_s=10, on=on))
    if as_json:
        print(json.dumps({"muted": muted}))
    else:
        print("muted: the daemon is not listening" if muted else "unmuted: the daemon is listening")
    return 0


def run_logs(follow: bool, lines: int, as_json: bool, unit: str = "homeplm") -> int:
    """exec journalctl; without it, or without the unit, say so (exit 1)."""
    journalctl = shutil.which("journalctl")
    if journalctl is None:
        print("homeplm: journalctl is not installed (no systemd journal on this system)", file=sys.stderr)
        return 1
    if not _unit_known(unit):
        print(
            f"homeplm: the systemd unit {unit}.service is not installed "
            "(install it with scripts/install.sh, or read the output of `homeplm run`)",
            file=sys.stderr,
        )
        return 1
    argv = [journalctl, "-u", unit, "-n", str(max(0, lines)), "--no-pager"]
    if follow:
        argv.append("-f")
    if as_json:
        argv += ["-o", "json"]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(journalctl, argv)
    return 0  # not reached


UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")


def _unit_known(unit: str) -> bool:
    """systemd's own answer; where it cannot answer (no systemd running), the unit file's presence."""
    systemctl = shutil.which("systemctl")
    if systemctl is not None:
        try:
            shown = subprocess.run(
                [systemctl, "show", "-p", "LoadState", "--value", f"{unit}.service"],
                capture_output=True,
                text=True,
                timeout=10,
            )
        except (OSError, subprocess.SubprocessError):
            shown = None
        if shown is not None and shown.returncode == 0 and shown.stdout.strip():
            return shown.stdout.strip() != "not-found"
    return any((Path(d) / f"{unit}.service").exists() for d in UNIT_DIRS)
