"""Live checks of the microphone and the wake word: `homeplm mic-test` and `homeplm wake-test`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import sys
from collections import deque
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from homeplm.core.stages import inner_wake

if TYPE_CHECKING:
    import numpy as np

    from homeplm.config.schema import Settings
    from homeplm.core.stages import AudioSource

METER_FLOOR_DB = -70.0
TOO_QUIET_DB = -50.0
CLIP = 32767
WAKE_WINDOW_S = 0.5
MIC_DEFAULT_S = 10.0


def _bar(value: float, lo: float, hi: float, width: int = 30) -> str:
    filled = 0 if math.isinf(value) else round((min(max(value, lo), hi) - lo) / (hi - lo) * width)
    return "█" * filled + "·" * (width - filled)


def _db(value: float) -> str:
    return "  -inf" if math.isinf(value) else f"{value:6.1f}"


def _peak_dbfs(pcm: np.ndarray) -> float:
    import numpy as np

    peak = int(np.max(np.abs(pcm.astype(np.int32)))) if pcm.size else 0
    return 20 * math.log10(peak / 32768.0) if peak else float("-inf")


class _Live:
    """One status line: rewritten in place on a terminal, a line each otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stdout.isatty()

    def show(self, text: str) -> None:
        if not self.enabled:
            return
        if self.tty:
            print("\r" + text + "\x1b[K", end="", flush=True)
        else:
            print(text, flush=True)

    def note(self, text: str) -> None:
        """A line that stays (a detection)."""
        if not self.enabled:
            return
        print(("\r\x1b[K" if self.tty else "") + text, flush=True)

    def end(self) -> None:
        if self.enabled and self.tty:
            print(flush=True)


def _open_source(settings: Settings, wav: str | None) -> AudioSource:
    if wav:
        from homeplm.voice.wavio import WavFileSource

        return WavFileSource(wav)
    from homeplm.backends import factory

    return factory.make_mic(settings)


def _warn_if_daemon(socket: Path, wav: str | None) -> None:
    from homeplm.daemon.control_socket import daemon_running

    if wav is None and daemon_running(socket):
        print(
            "homeplm: warning: the daemon is running and also uses the microphone; "
            "`homeplm mute` it, or stop it, if the device cannot be shared",
            file=sys.stderr,
        )


async def _chunks(source: AudioSource, seconds: float | None) -> AsyncGenerator[np.ndarray, None]:
    """The source's 80 ms chunks for `seconds` (all of them if None); the source is closed after."""
    from homeplm.core.audio import CHUNK_MS

    limit = None if seconds is None else max(1, round(seconds * 1000 / CHUNK_MS))
    count = 0
    try:
        async for chunk in source.chunks():
            yield chunk
            count += 1
            if limit is not None and count >= limit:
                break
    finally:
        await source.close()


def level_summary(levels_power: list[float], peak: float, clipped: int, samples: int) -> dict[str, Any]:
    from homeplm.core.audio import SAMPLE_RATE

    mean_power = sum(levels_power) / len(levels_power) if levels_power else 0.0
    average = 10 * math.log10(mean_power) if mean_power > 0 else float("-inf")
    hints = []
    if average < TOO_QUIET_DB:
        hints.append(
            f"too quiet (below {TOO_QUIET_DB:.0f} dBFS): raise the capture gain (alsamixer, "
            "`amixer set Capture 80%`), move the microphone closer, or pick another input.device"
        )
    if clipped:
        hints.append("clipping: lower the capture gain until the loudest speech peaks below -3 dBFS")
    return {
        "seconds": round(samples / SAMPLE_RATE, 2),
        "average_dbfs": None if math.isinf(average) else round(average, 1),
        "peak_dbfs": None if math.isinf(peak) else round(peak, 1),
        "clipped_samples": clipped,
        "ok": not hints,
        "hints": hints,
    }


async def run_mic_test(
    settings: Settings, socket: Path, wav: str | None, seconds: float | None, as_json: bool
) -> int:
    import numpy as np

    from homeplm.core.audio import rms_dbfs

    _warn_if_daemon(socket, wav)
    source = _open_source(settings, wav)
    if seconds is None and wav is None:
        seconds = MIC_DEFAULT_S
    live = _Live(not as_json)
    powers: list[float] = []
    peak, clipped, samples = float("-inf"), 0, 0
    if wav is None and not as_json:
        print(f"listening for {seconds:g} s (Ctrl-C to stop)…", file=sys.stderr)
    # Ctrl-C (or SIGTERM) ends the test early: the summary is still shown.
    with contextlib.suppress(asyncio.CancelledError):
        async with contextlib.aclosing(_chunks(source, seconds)) as chunks:
            async for chunk in chunks:
                level, chunk_peak = rms_dbfs(chunk), _peak_dbfs(chunk)
                powers.append(float(np.mean(np.square(chunk.astype(np.float64)))) / 32768.0**2)
                peak = max(peak, chunk_peak)
                over = int(np.count_nonzero(np.abs(chunk.astype(np.int32)) >= CLIP))
                clipped += over
                samples += chunk.size
                live.show(
                    f"{_db(level)} dBFS |{_bar(level, METER_FLOOR_DB, 0)}| peak {_db(chunk_peak)}"
                    + (" CLIP" if over else "")
                )
    live.end()
    summary = level_summary(powers, peak, clipped, samples)
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        average = summary["average_dbfs"]
        print(
            f"average {average if average is not None else '-inf'} dBFS, "
            f"peak {summary['peak_dbfs'] if summary['peak_dbfs'] is not None else '-inf'} dBFS, "
            f"{clipped} clipped samples over {summary['seconds']} s"
        )
        for hint in summary["hints"]:
            print(f"hint: {hint}")
        if summary["ok"]:
            print("the level looks fine")
    return 0 if summary["ok"] else 1


async def run_wake_test(
    settings: Settings, socket: Path, wav: str | None, seconds: float | None, as_json: bool
) -> int:
    from homeplm.backends import factory
    from homeplm.core.audio import CHUNK_MS
    from homeplm.voice.endpointer import RefractoryGate

    _warn_if_daemon(socket, wav)
    source = _open_source(settings, wav)  # a bad file or device fails before the models load
    detector = await asyncio.to_thread(factory.make_wake, settings)
    inner = inner_wake(detector)  # the VAD gate wraps the openWakeWord detector
    names = list(detector.names)
    window: deque[dict[str, float]] = deque(maxlen=max(1, round(WAKE_WINDOW_S * 1000 / CHUNK_MS)))
    gate = RefractoryGate(int(settings.wake.refractory_s * 1000))
    best = dict.fromkeys(names, 0.0)
    detections: list[dict[str, Any]] = []
    live = _Live(not as_json)
    if not as_json:
        where = wav or "the microphone"
        print(
            f"wake words {', '.join(names)} (threshold {settings.wake.threshold}) on {where}…",
            file=sys.stderr,
        )
    count = 0
    try:
        with contextlib.suppress(asyncio.CancelledError):  # Ctrl-C: stop, show the summary
            async with contextlib.aclosing(_chunks(source, seconds)) as chunks:
                async for chunk in chunks:
                    count += 1
                    gate.advance(CHUNK_MS)
                    detection = await asyncio.to_thread(detector.process, chunk)
                    awake = getattr(detector, "awake", True)
                    scores = dict(getattr(inner, "last_scores", {})) if awake else dict.fromkeys(names, 0.0)
                    if detection is not None:
                        scores[detection.name] = max(scores.get(detection.name, 0.0), detection.score)
                    window.append(scores)
                    recent = {n: max(s.get(n, 0.0) for s in window) for n in names}
                    for n in names:
                        best[n] = max(best[n], recent[n])
                    at_s = round(count * CHUNK_MS / 1000, 2)
                    if detection is not None and gate.open:
                        gate.fire()
                        detector.reset()
                        detections.append(
                            {"name": detection.name, "score": round(detection.score, 3), "at_s": at_s}
                        )
                        live.note(f"{at_s:7.2f} s  DETECTED {detection.name} (score {detection.score:.2f})")
                    shown = "  ".join(f"{n} {recent[n]:.2f} {_bar(recent[n], 0, 1, 10)}" for n in names)
                    live.show(f"{at_s:7.2f} s  {shown}" + ("" if awake else "  (quiet: wake model asleep)"))
    finally:
        live.end()
        close = getattr(detector, "close", None) or getattr(inner, "close", None)
        if close is not None:
            close()
    max_scores = {n: round(s, 3) for n, s in best.items()}
    result: dict[str, Any] = {
        "seconds": round(count * CHUNK_MS / 1000, 2),
        "threshold": settings.wake.threshold,
        "max_scores": max_scores,
        "detections": detections,
    }
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        tops = ", ".join(f"{n} {s:.2f}" for n, s in max_scores.items())
        print(f"{len(detections)} detection(s) in {result['seconds']} s; highest scores: {tops}")
        if not detections:
            print(
                f"hint: say the wake word clearly within 1-3 m; if the scores stay well below "
                f"{settings.wake.threshold}, check the level with `homeplm mic-test`"
            )
    return 0
