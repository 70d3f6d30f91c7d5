"""A short two-tone wake chime, generated in code (no audio files to ship)."""

from __future__ import annotations

import numpy as np


def wake_chime(sample_rate: int, volume: float = 0.35) -> np.ndarray:
    """~180 ms rising two-note chime as int16 at `sample_rate`."""
    notes = ((880.0, 0.08), (1320.0, 0.10))
    parts = []
    for freq, seconds in notes:
        t = np.arange(int(sample_rate * seconds)) / sample_rate
        tone = np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(4 * np.pi * freq * t)
        envelope = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)  # 10 ms fades: no clicks
        parts.append(tone * envelope)
    signal = np.concatenate(parts) / 1.3 * volume
    return (signal * 32767).astype(np.int16)
