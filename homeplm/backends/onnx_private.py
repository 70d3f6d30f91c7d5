"""onnxruntime, with its telemetry switched off before any session exists.

onnxruntime 1.29+ on Linux carries Microsoft's 1DS telemetry client: under strace a daemon run
looked up mobile.events.data.microsoft.com (DNS) even after disable_telemetry_events(), so
pyproject pins onnxruntime < 1.29 (which has no such client). Switching events off stays here as a
second line. Every user of onnxruntime in homeplm (the silero VAD, piper's voice through
`ensure_private()`) goes through this module first.
"""

from __future__ import annotations

import threading

import onnxruntime

_lock = threading.Lock()
_done = False


def ensure_private() -> None:
    """Disable onnxruntime's telemetry (once, before the first session is created)."""
    global _done
    with _lock:
        if not _done:
            onnxruntime.disable_telemetry_events()
            _done = True


ensure_private()


def cpu_session(path: str) -> onnxruntime.InferenceSession:
    """A CPU session without onnxruntime's memory arena.

    The arena keeps the largest buffers any run has needed: with piper, whose inputs change length
    with every sentence, the process grew by 130–200 MB over a few hundred sentences and stayed
    there. Without it the buffers go back to malloc, and the model worker gives them back to the
    system when idle (workers.release_free_memory); synthesis was no slower (17.2 s vs 18.2 s for
    120 sentences on 2 cores).
    """
    ensure_private()
    options = onnxruntime.SessionOptions()
    options.enable_cpu_mem_arena = False
    return onnxruntime.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


__all__ = ["cpu_session", "ensure_private", "onnxruntime"]
