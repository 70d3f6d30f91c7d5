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


def follow_up_earcon(sample_rate: int, volume: float = 0.18) -> np.ndarray:
    """~200 ms soft two-note "still listening" tone (lower and quieter than the wake chime), int16."""
    notes = ((660.0, 0.09), (880.0, 0.11))
    parts = []
    for freq, seconds in notes:
        t = np.arange(int(sample_rate * seconds)) / sample_rate
        envelope = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.02)  # softer 20 ms fades
        parts.append(np.sin(2 * np.pi * freq * t) * envelope)
    return (np.concatenate(parts) * volume * 32767).astype(np.int16)


def ring_tone(sample_rate: int, volume: float = 0.4) -> np.ndarray:
    """~1 s of an alarm-clock ring: three short double beeps, then quiet (gaps leave room for the
    wake word and "stop" to be heard)."""
    beeps = []
    for _ in range(3):
        for freq in (988.0, 784.0):
            t = np.arange(int(sample_rate * 0.09)) / sample_rate
            tone = np.sin(2 * np.pi * freq * t) + 0.25 * np.sin(6 * np.pi * freq * t)
            beeps.append(tone * np.minimum(1.0, np.minimum(t, t[::-1]) / 0.008))
        beeps.append(np.zeros(int(sample_rate * 0.12)))
    signal = np.concatenate(beeps) / 1.25 * volume
    return (signal * 32767).astype(np.int16)
