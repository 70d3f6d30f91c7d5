"""The planner in a homeplm process: its store, its intents (plugged into the pipeline when it is
built), the ringer (attached to the pipeline) and the scheduler (started by a live run).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import replace
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from homeplm.config.schema import Settings
from homeplm.core.errors import ConfigError
from homeplm.planner.intents import PlannerIntents
from homeplm.planner.lists import ListIntents
from homeplm.planner.ringer import Ringer
from homeplm.planner.scheduler import Scheduler
from homeplm.planner.store import PlannerStore

if TYPE_CHECKING:
    from homeplm.assistant import PlugIns

_LOGGER = logging.getLogger(__name__)

STORE_NAME = "planner.sqlite3"
# A run over a WAV file stays this long at most for what it set to ring (a short timer in a test).
FILE_RUN_WAIT_S = 120.0


def house_zone(name: str | None) -> tzinfo:
    """The configured zone, else the box's own (TZ, /etc/localtime, /etc/timezone), else UTC."""
    candidates = [name] if name else [os.environ.get("TZ", "").lstrip(":"), _localtime_key(), _etc_timezone()]
    for candidate in filter(None, candidates):
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError) as err:
            if name:
                raise ConfigError([f"assistant.timezone: unknown time zone {name!r} ({err})"]) from None
    return ZoneInfo("UTC")


def _localtime_key() -> str | None:
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        return None
    return target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else None


def _etc_timezone() -> str | None:
    try:
        return Path("/etc/timezone").read_text().strip() or None
    except OSError:
        return None


class Planner:
    """Timers, alarms, reminders and lists for one homeplm process."""

    def __init__(self, settings: Settings, state: Path, *, rings: bool = True) -> None:
        planner = settings.planner
        self.zone = house_zone(settings.assistant.timezone)
        self.store = PlannerStore(state / STORE_NAME)
        self.ringer = Ringer(timeout_s=planner.ring_timeout_s, gap_s=planner.ring_gap_s)
        self.scheduler = Scheduler(
            self.store, self.ringer.ring, self.zone, missed_grace_s=planner.missed_grace_s
        )
        self.intents = [
            PlannerIntents(
                self.store, self.zone, ringing=self.ringer.ringing, stop_ringing=self.ringer.stop, rings=rings
            ),
            ListIntents(self.store),
        ]

    def attach(self, pipeline: object) -> None:
        """Ring through this pipeline's speaker and voice; its "stop" stops a ring too."""
        self.ringer.pipeline = pipeline
        stops = getattr(pipeline, "on_stop", None)
        if stops is not None:
            stops.append(self.ringer.stop)

    def start(self) -> None:
        self.scheduler.start()

    async def until_rung(self, within_s: float) -> None:
        """A one-off run (a WAV file) stays until what comes due within `within_s` has rung."""
        deadline = time.time() + within_s
        while time.time() < deadline:
            soon = [i for i in self.store.items() if i.due is not None and i.due <= deadline]
            if not soon and self.ringer.current is None and not self.scheduler.busy():
                return
            await asyncio.sleep(0.2)

    async def close(self) -> None:
        await self.scheduler.stop()
        self.store.close()


def new_planner(settings: Settings, *, rings: bool = True) -> Planner | None:
    """The planner over the state directory, or None when `planner.enabled` is false."""
    if not settings.planner.enabled:
        return None
    from homeplm.core.paths import state_dir

    return Planner(settings, state_dir(settings), rings=rings)


def with_planner(planner: Planner | None, plugins: PlugIns | None) -> PlugIns | None:
    """The planner's intents go first: "turn off my alarm" is the alarm clock, not a device."""
    if planner is None:
        return plugins
    from homeplm.assistant import PlugIns

    if plugins is None:
        return PlugIns(intents=list(planner.intents))
    return replace(plugins, intents=[*planner.intents, *plugins.intents])
