"""Where the household's data and the control socket live."""

from __future__ import annotations

import os
from pathlib import Path

from homeplm.config.schema import Settings


def state_dir(settings: Settings, *, create: bool = True) -> Path:
    """paths.state_dir, else $STATE_DIRECTORY (systemd), else ~/.local/state/homeplm (mode 0700)."""
    configured = settings.paths.state_dir or os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    path = Path(configured or "~/.local/state/homeplm").expanduser()
    if create:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def control_socket(settings: Settings) -> Path:
    """The daemon's admin socket: $RUNTIME_DIRECTORY (systemd) if set, else in the state dir."""
    runtime = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
    return Path(runtime) / "control.sock" if runtime else state_dir(settings) / "control.sock"
