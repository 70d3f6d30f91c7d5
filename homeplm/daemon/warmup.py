"""Run each model once at start-up, and remember which part a crashed start was in.

A native library built for instructions the CPU does not run (llama.cpp's AMX path on a VM that
advertises AMX, say) kills the process with SIGILL the first time it computes: no Python exception,
no log line. So the daemon runs every model once right after loading it (a crash then happens at
start-up, not on the household's first question), and marks each part in the state directory while
it loads and first runs. A start that dies leaves its mark behind; the next start names the part in
the journal and points at `homeplm doctor`, which repeats the same runs in child processes.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from homeplm.core.audio import CHUNK_SAMPLES, SAMPLE_RATE
from homeplm.core.stages import ChatMessage

_LOGGER = logging.getLogger(__name__)

MARKS_DIR = "starting"  # in the state directory: one empty file per part being loaded / first run
CRASHES_FILE = "start-crashes"  # how many starts in a row died before READY


def _wake(part: Any) -> object:
    part.process(np.zeros(CHUNK_SAMPLES, dtype=np.int16))
    part.reset()
    return None


def _vad(part: Any) -> object:
    part.speech_probability(np.zeros(CHUNK_SAMPLES, dtype=np.int16))
    part.reset()
    return None


def _stt(part: Any) -> object:
    # A quiet 440 Hz tone: enough to run the encoder and decoder once, never a word.
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    return part.transcribe((np.sin(2 * np.pi * 440 * t) * 300).astype(np.int16))


def _llm(part: Any) -> object:
    return "".join(part.stream_chat([ChatMessage("user", "Say OK.")], max_tokens=2))


def _tts(part: Any) -> object:
    return part.synthesize("OK.")


def _memory(part: Any) -> object:
    return part.count()


RUNS: dict[str, Callable[[Any], object]] = {
    "wake": _wake,
    "vad": _vad,
    "stt": _stt,
    "llm": _llm,
    "tts": _tts,
    "memory": _memory,
}

# What a native crash in each part usually means, and what fixes it.
FIXES: dict[str, str] = {
    "llm": "llama-cpp-python was built for instructions this CPU does not run: rebuild it for the "
    "portable baseline with `rm .venv/homeplm-llama-build.txt && HOMEPLM_LLAMA_BUILD=baseline "
    "bash scripts/setup.sh` (see the README's 'Native builds')",
    "stt": "CTranslate2 picked an instruction set this CPU does not run: set CT2_FORCE_CPU_ISA=AVX2 "
    "(or GENERIC) in the environment (/etc/homeplm/homeplm.env under systemd)",
    "wake": "onnxruntime / the TFLite library failed on this CPU: reinstall them (`bash scripts/setup.sh`) "
    "or choose another wake model",
    "vad": "onnxruntime failed on this CPU: reinstall it (`bash scripts/setup.sh`)",
    "tts": "onnxruntime (piper) failed on this CPU: reinstall it (`bash scripts/setup.sh`)",
    "memory": "the memory store's native library failed: check `homeplm doctor` and the state directory",
}


def run_once(name: str, part: Any) -> object:
    """One small inference with a loaded part (what the daemon and `homeplm doctor` both do)."""
    run = RUNS.get(name)
    return run(part) if run is not None and part is not None else None


class StartupMarks:
    """Files in the state directory that say which parts a start was loading when it died."""

    def __init__(self, state: Path | None) -> None:
        self.dir = state / MARKS_DIR if state is not None else None

    def left_by_last_start(self) -> list[str]:
        """Parts the previous start was in when it ended without reaching READY."""
        if self.dir is None or not self.dir.is_dir():
            return []
        return sorted(p.name for p in self.dir.iterdir())

    @contextlib.contextmanager
    def loading(self, name: str) -> Iterator[None]:
        """Marks `name` while its block runs; the mark stays if the process dies inside it."""
        mark = self._mark(name)
        yield
        if mark is not None:
            with contextlib.suppress(OSError):
                mark.unlink()

    def _mark(self, name: str) -> Path | None:
        if self.dir is None:
            return None
        try:
            self.dir.mkdir(exist_ok=True)
            mark = self.dir / name
            mark.touch()
            return mark
        except OSError:
            return None  # a read-only or full state dir must not stop the start

    def report_previous(self) -> list[str]:
        """Logs what the last start died in (if it did), and counts such starts in a row."""
        parts = self.left_by_last_start()
        if not parts or self.dir is None:
            return parts
        crashes = self._bump_crashes()
        names = ", ".join(parts)
        hints = "; ".join(FIXES[p] for p in parts if p in FIXES)
        _LOGGER.error(
            "the last %s ended while loading or first running: %s (a native crash, such as SIGILL, "
            "leaves no other trace). Run `homeplm doctor` to test each model in a child process. %s",
            f"{crashes} starts" if crashes > 1 else "start",
            names,
            hints,
        )
        for part in parts:
            with contextlib.suppress(OSError):
                (self.dir / part).unlink()
        return parts

    def _bump_crashes(self) -> int:
        assert self.dir is not None
        path = self.dir.parent / CRASHES_FILE
        try:
            count = int(path.read_text().strip() or 0) + 1
        except (OSError, ValueError):
            count = 1
        with contextlib.suppress(OSError):
            path.write_text(f"{count}\n")
        return count

    def started(self) -> None:
        """READY reached: the count of crashed starts goes back to zero."""
        if self.dir is not None:
            with contextlib.suppress(OSError):
                (self.dir.parent / CRASHES_FILE).unlink()
