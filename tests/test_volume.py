"""tts.volume is applied once: half the volume is half the amplitude of the shipped voice."""

from __future__ import annotations

import numpy as np

from homeplm.config.schema import TtsSettings
from homeplm.voice.speaker import SentenceSpeaker


class CaptureSink:
    sample_rate = 22050

    def __init__(self) -> None:
        self.audio: list[np.ndarray] = []

    async def play(self, audio: np.ndarray) -> None:
        self.audio.append(audio)

    async def drain(self) -> None:
        return None

    def stop(self) -> None:
        return None

    async def close(self) -> None:
        return None


async def _rms(tts, volume: float) -> float:
    sink = CaptureSink()
    speaker = SentenceSpeaker(tts, sink, lambda event: None, 1, volume)
    speaker.put("The kitchen light is on, and dinner is ready.")
    await speaker.finish()
    audio = np.concatenate(sink.audio).astype(np.float64)
    return float(np.sqrt(np.mean(audio**2)))


async def test_half_volume_is_half_the_amplitude() -> None:
    from homeplm.backends.piper_tts import PiperTts

    tts = PiperTts(TtsSettings(volume=0.5))  # the config's volume must not reach piper as well
    full, half = await _rms(tts, 1.0), await _rms(tts, 0.5)
    print(f"\nRMS at volume 1.0: {full:.0f}, at 0.5: {half:.0f} (ratio {half / full:.3f})")
    assert abs(half / full - 0.5) < 0.05
    reference = await _rms(PiperTts(TtsSettings(volume=1.0)), 1.0)
    assert abs(full / reference - 1.0) < 0.02  # tts.volume: 0.5 in the config changed nothing inside piper
