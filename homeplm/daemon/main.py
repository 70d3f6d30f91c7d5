"""The running daemon: what `homeplm run` does beyond one pass over a WAV file.

Its control socket, memory housekeeping, the systemd watchdog and readiness, reload on SIGHUP, the
Wyoming services for Home Assistant (when enabled), the satellites in other rooms, and the
supervised microphone. The models, the
pipeline and the listener are built by the caller (homeplm/assistant.py) and handed in.
"""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from homeplm.backends import factory
from homeplm.brain.explain import TurnTimer
from homeplm.config import Settings
from homeplm.core.errors import AudioInputError
from homeplm.core.paths import control_socket, state_dir
from homeplm.core.stages import AudioSource
from homeplm.daemon import sdnotify
from homeplm.daemon.handlers import expire_periodically, make_handlers, start_control
from homeplm.daemon.knobs import Knobs
from homeplm.daemon.turnlog import TurnLog
from homeplm.daemon.warmup import StartupMarks
from homeplm.voice.listener import Listener
from homeplm.voice.pipeline import Pipeline

_LOGGER = logging.getLogger(__name__)

# A lost microphone is reopened this many times (with growing pauses) before the daemon exits
# non-zero, so that systemd restarts it.
MIC_RETRIES = 3
MIC_STABLE_S = 60.0

# What the running command does on SIGHUP (the CLI's signal handler calls these; the daemon
# registers its config reload).
ON_HANGUP: list[Callable[[], None]] = []


def startup_marks(settings: Settings) -> StartupMarks:
    """The daemon runs each model once at start-up, marked in the state directory, so a native
    crash (SIGILL) happens then and the next start names the part; faulthandler puts the Python
    stack of such a crash on stderr (the journal)."""
    faulthandler.enable()
    marks = StartupMarks(state_dir(settings))
    marks.report_previous()
    return marks


async def serve(
    settings: Settings,
    config_path: Path | None,
    pipeline: Pipeline,
    listener: Listener,
    parts: dict[str, Any],
    *,
    source: AudioSource | None,
    house: Any,
    turn_log: TurnLog,
    timer: TurnTimer,
    marks: StartupMarks | None,
    knobs: Knobs,
    planner: Any = None,
) -> None:
    """Run until the input ends (a pipe) or for ever (the microphone): control socket, watchdog,
    housekeeping and reload around the listener. READY is sent once everything answers."""
    memory = parts.get("memory")
    info: dict[str, Any] = {"turn_log": turn_log}
    if house is not None:
        info["mqtt_connected"] = lambda: house.link.connected
    if planner is not None:
        info["planner"] = planner
    satellites = await start_satellites(settings, pipeline, parts)
    if satellites is not None:
        info["satellites"] = satellites.status
        if planner is not None:
            satellites.attach_planner(planner)
        knobs.other_rooms.extend(room.pipeline for room in satellites.rooms)
        if house is not None:
            house.show_rooms(satellites)  # each room a device in Home Assistant, on the house's link
    handlers = make_handlers(pipeline, listener, memory, timer, info, knobs)
    control = await start_control(control_socket(settings), handlers)
    wyoming = await start_wyoming(settings, pipeline)
    housekeeping = asyncio.create_task(expire_periodically(memory))
    watchdog = asyncio.create_task(sdnotify.watchdog_loop())
    reload_on_hangup(config_path, settings, knobs)
    sdnotify.ready("listening")
    if marks is not None:
        marks.started()
    try:
        if source is not None:
            await listener.run(source)
        else:
            await listen_to_microphone(settings, listener)
    finally:
        housekeeping.cancel()
        watchdog.cancel()
        if wyoming is not None:
            await wyoming.stop()
        if satellites is not None:
            await satellites.close()
        await control.close()


async def start_wyoming(settings: Settings, pipeline: Pipeline) -> Any:
    """Home Assistant's Wyoming services (speech to text, text to speech, the brain), when enabled;
    the server, or None."""
    if not settings.wyoming.enabled:
        return None
    from homeplm.wyoming.server import start_server  # the wyoming package only when it is used

    return await start_server(settings, pipeline)


async def start_satellites(settings: Settings, pipeline: Pipeline, parts: dict[str, Any]) -> Any:
    """The satellites in other rooms (`satellites:`), each connected and listened to on its own
    task with the shared models; None when there are none."""
    if not settings.satellites:
        return None
    from homeplm.assistant import shared_vad
    from homeplm.wyoming.satellites import Satellites

    def room_vad(wake: Any) -> Any:
        return shared_vad({"wake": wake}) or factory.make_vad(settings)

    return await Satellites.start(settings, pipeline, factory.make_wake, room_vad)


def reload_on_hangup(config_path: Path | None, settings: Settings, knobs: Knobs) -> None:
    from homeplm.daemon.reload import daemon_appliers, reload

    current = [settings]
    appliers = daemon_appliers(knobs)

    def on_hangup() -> None:
        sdnotify.reloading()
        current[0], _report = reload(config_path, current[0], appliers)
        sdnotify.ready("listening")

    ON_HANGUP.append(on_hangup)


async def listen_to_microphone(settings: Settings, listener: Listener) -> None:
    """Supervised: a lost device is reopened with back-off; after MIC_RETRIES the error ends the daemon."""
    failures = 0
    while True:
        opened = time.monotonic()
        mic: AudioSource | None = None
        try:
            mic = factory.make_mic(settings)
            await listener.run(mic)
            return
        except AudioInputError as err:
            failures = 1 if time.monotonic() - opened > MIC_STABLE_S else failures + 1
            if failures > MIC_RETRIES:
                raise
            _LOGGER.warning("microphone lost (%s); reopening in %d s", err, 2**failures)
            await asyncio.sleep(2**failures)
        finally:
            if mic is not None:
                await mic.close()
