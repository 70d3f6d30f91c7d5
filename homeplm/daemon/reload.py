"""SIGHUP: read the configuration again and apply what is safe to change while running.

Safe now: logging.level, wake.threshold, tts.volume, memory.private. Everything else is reported as
needing a restart (models, devices and the broker are opened once)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from homeplm.config import Settings, load_settings
from homeplm.core.errors import ConfigError
from homeplm.core.logs import setup_logging

_LOGGER = logging.getLogger(__name__)

# dotted key → how to apply it to the running daemon
Appliers = dict[str, Callable[[Any], None]]


@dataclass(slots=True)
class ReloadReport:
    """What a SIGHUP reload applied at once and what needs a restart."""

    applied: list[str]
    needs_restart: list[str]
    error: str | None = None


def changed_keys(old: Settings, new: Settings) -> list[str]:
    keys = []
    for section in fields(old):
        before, after = getattr(old, section.name), getattr(new, section.name)
        if isinstance(before, tuple):  # a list of entries (satellites): changed as a whole
            keys += [section.name] if before != after else []
            continue
        keys += [
            f"{section.name}.{f.name}"
            for f in fields(before)
            if getattr(before, f.name) != getattr(after, f.name)
        ]
    return keys


def reload(path: Path | None, current: Settings, appliers: Appliers) -> tuple[Settings, ReloadReport]:
    """Apply what can change now; the returned settings are the ones in force afterwards."""
    try:
        new = load_settings(path)
    except ConfigError as err:
        _LOGGER.error("reload refused, the configuration has errors (still running on the old one): %s", err)
        return current, ReloadReport([], [], str(err))
    applied, restart = [], []
    for key in changed_keys(current, new):
        section, _, name = key.partition(".")
        if key in appliers and name:
            appliers[key](getattr(getattr(new, section), name))
            applied.append(key)
        else:
            restart.append(key)
    _LOGGER.info(
        "configuration reloaded: applied %s; needs a restart: %s", applied or "nothing", restart or "nothing"
    )
    return new, ReloadReport(applied, restart)


def daemon_appliers(knobs: Any) -> Appliers:
    """Logging here; the rest through the knobs' one owner (homeplm/daemon/knobs.py)."""
    return {"logging.level": setup_logging, **knobs.reload_appliers()}
