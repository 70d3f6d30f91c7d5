"""Shared fixtures. Real-part fixtures load each model once per test session."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from homeplm.config import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "configs" / "homeplm.yaml"


@pytest.fixture(scope="session", autouse=True)
def private_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tests never touch the real user's state (memory, control socket)."""
    path = tmp_path_factory.mktemp("state")
    os.environ["STATE_DIRECTORY"] = str(path)
    os.environ.pop("RUNTIME_DIRECTORY", None)
    os.environ.pop("HOMEPLM_CONFIG", None)
    return path


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings(CONFIG)


@pytest.fixture(scope="session")
def real_parts(settings: Settings):
    """Every real model, loaded once (wake, vad, stt, llm, tts); no memory (tests of it open their own)."""
    from homeplm import assistant

    names = tuple(n for n in assistant.PART_NAMES if n != "memory")
    return asyncio.run(assistant.load_parts(settings, names))


def homeplm_cli(
    *args: str, timeout: float = 300, state_dir: Path | None = None, **kwargs
) -> subprocess.CompletedProcess[str]:
    """Run the real `homeplm` command line in a child process, with its own state dir."""
    state = state_dir or Path(tempfile.mkdtemp(prefix="homeplm-state-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "STATE_DIRECTORY": str(state)}
    return subprocess.run(
        [sys.executable, "-m", "homeplm", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        **kwargs,
    )
