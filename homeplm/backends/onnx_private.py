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

__all__ = ["ensure_private", "onnxruntime"]
