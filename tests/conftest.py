"""Shared fixtures. Real-part fixtures load each model once per test session."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from homeplm.config import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "configs" / "homeplm.yaml"


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings(CONFIG)


@pytest.fixture(scope="session")
def real_parts(settings: Settings):
    """Every real model, loaded once (wake, vad, stt, llm, tts)."""
    from homeplm import assistant

    return asyncio.run(assistant.load_parts(settings, assistant.PART_NAMES))


def homeplm_cli(*args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess[str]:
    """Run the real `homeplm` command line in a child process."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "homeplm", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        **kwargs,
    )
