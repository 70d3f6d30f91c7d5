"""The `homeplm` command line: argument parsing, exit codes and error messages for shell users."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from homeplm import __version__
from homeplm.core.errors import HomeplmError

_LOGGER = logging.getLogger(__name__)

DEFAULT_CONFIG = "configs/homeplm.yaml"
EXIT_INTERRUPTED = 130
# 128 + SIGPIPE: what a shell reports for a tool whose reader went away (`homeplm … | head -1`).
EXIT_BROKEN_PIPE = 141
# Set once stdout's reader has gone: the command ends quietly with EXIT_BROKEN_PIPE.
_stdout_closed = False


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=None,
        help=f"YAML configuration (default: $HOMEPLM_CONFIG, or {DEFAULT_CONFIG} if present)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging (shows transcripts)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="homeplm", description="A private, whole-house voice assistant.")
    parser.add_argument("--version", action="version", version=f"homeplm {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the assistant (microphone → speaker, or offline from a file)")
    run.add_argument(
        "--input",
        metavar="WAV|-",
        help="a WAV file, or - for raw 16 kHz s16le mono PCM on stdin (default: microphone)",
    )
    run.add_argument(
        "--output",
        metavar="WAV|none",
        help="write what is spoken to a WAV file, or 'none' (default: speaker)",
    )

    satellite = sub.add_parser(
        "satellite", help="be a Wyoming satellite: this box's microphone and speaker for a hub"
    )
    satellite.add_argument("--uri", default="tcp://0.0.0.0:10700", help="where its owner connects")
    satellite.add_argument(
        "--name", default="homeplm satellite", help="its name (default: homeplm satellite)"
    )
    satellite.add_argument("--area", default="", help="the room it stands in")
    satellite.add_argument("--wake", action="store_true", help="listen for the wake word here (wake.models)")
    satellite.add_argument("--input", metavar="WAV|-", help="as for run (default: microphone)")
    satellite.add_argument("--output", metavar="WAV|none", help="as for run (default: speaker)")

    transcribe = sub.add_parser("transcribe", help="print what is said in a WAV file")
    transcribe.add_argument("wav", metavar="WAV")

    say = sub.add_parser("say", help="speak a text")
    say.add_argument("text", metavar="TEXT")
    say.add_argument("--output", metavar="WAV", help="write to a WAV file instead of the speaker")

    ask = sub.add_parser("ask", help="ask a question in text; the answer is printed")
    ask.add_argument("text", metavar="TEXT")
    ask.add_argument("--speak", action="store_true", help="also speak the answer on the speaker")
    ask.add_argument("--output", metavar="WAV", help="also write the spoken answer to a WAV file")
    ask.add_argument("--explain", action="store_true", help="also print the route, memories used and timings")

    devices = sub.add_parser("devices", help="list audio devices (--mqtt: the house's devices)")
    devices.add_argument("--mqtt", action="store_true", help="list the devices announced on the MQTT broker")
    devices.add_argument("--json", action="store_true", help="machine-readable output (with --mqtt)")

    from homeplm.cli.memory import add_parser as add_memory_parser

    add_memory_parser(sub, _add_config)

    from homeplm.cli.planner import COMMANDS as PLANNER_COMMANDS
    from homeplm.cli.planner import add_parsers as add_planner_parsers

    add_planner_parsers(sub, _add_config)

    check = sub.add_parser("check-config", help="validate the configuration and the model files")
    check.add_argument("--show", action="store_true", help="print the effective configuration")

    bench = sub.add_parser("bench", help="measure latency, CPU and memory on spoken commands")
    bench.add_argument("--quick", action="store_true", help="fewer commands and shorter idle measurement")
    bench.add_argument("--json", metavar="PATH", help="also write the figures as JSON")

    from homeplm.cli.admin import add_parsers as add_admin_parsers

    add_admin_parsers(sub)  # status, mute, unmute, doctor, mic-test, wake-test, logs

    for name, child in sub.choices.items():
        if name != "memory" and name not in PLANNER_COMMANDS:  # these take the options themselves
            _add_config(child)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        if not _stdout_broken():
            raise  # a socket's peer went away: a real error, not the reader of our output
        _close_stdout()  # stdout's reader went away while argparse or a command printed
        return EXIT_BROKEN_PIPE


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    from homeplm.cli import (
        commands,  # deferred: `--help` stays instant
        planner,
    )

    # timers, alarms, reminders and lists share one handler
    where = planner if args.command in planner.COMMANDS else commands
    name = "cmd_planner" if where is planner else "cmd_" + args.command.replace("-", "_")
    handler: Callable[[argparse.Namespace], Coroutine[Any, Any, int]] = getattr(where, name)
    try:
        code = _run_async(handler(args))
    except HomeplmError as err:
        print(f"homeplm: {err.message}", file=sys.stderr)
        code = err.exit_code
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    # write_out() saw the reader go (mid-turn, say): the command finished, and ends as if piped.
    return EXIT_BROKEN_PIPE if _stdout_closed else code


def write_out(text: str, end: str = "\n") -> None:
    """Print to stdout at once; a reader that went away (`| head -1`) ends the output quietly,
    not the command: where this is called from an event consumer, the turn still completes."""
    if _stdout_closed:
        return
    try:
        print(text, end=end, flush=True)
    except BrokenPipeError:
        _close_stdout()  # only stdout is written here: its reader went away


def _stdout_broken() -> bool:
    """Whether stdout is a pipe whose reading end is closed (poll reports an error on it)."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError):
        return False


def _close_stdout() -> None:
    """Point stdout at /dev/null: later writes, and Python's flush at exit, fail no more."""
    global _stdout_closed
    _stdout_closed = True
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _run_async(coro: Coroutine[Any, Any, int]) -> int:
    """Run a command; SIGTERM ends it cleanly (exit 0), SIGINT too (exit 130), no traceback."""
    received: list[int] = []
    from homeplm.daemon import sdnotify
    from homeplm.daemon.main import ON_HANGUP

    async def wrapper() -> int:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        assert task is not None

        def stop(signum: int) -> None:
            received.append(signum)
            sdnotify.stopping()
            task.cancel()

        def hangup() -> None:
            if not ON_HANGUP:
                _LOGGER.info("SIGHUP: nothing to reload in this command")
            for callback in ON_HANGUP:
                callback()

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop, signum)
        loop.add_signal_handler(signal.SIGHUP, hangup)
        return await coro

    try:
        return asyncio.run(wrapper())
    except asyncio.CancelledError:
        if received and received[0] == signal.SIGTERM:
            _LOGGER.info("stopped by SIGTERM")
            return 0
        return EXIT_INTERRUPTED


def resolve_config_path(given: str | None) -> Path | None:
    if given:
        return Path(given)
    if env := os.environ.get("HOMEPLM_CONFIG"):
        return Path(env)
    default = Path(DEFAULT_CONFIG)
    return default if default.exists() else None
