"""tts.volume is applied once: half the volume is half the amplitude of the shipped voice."""

from __future__ import annotations

import numpy as np

from homeplm.config.schema import TtsSettings
from homeplm.voice.speaker import SentenceSpeaker
from homeplm.voice.wavio import NullSink


class CaptureSink(NullSink):
    """Keeps what is played."""

    def __init__(self) -> None:
        super().__init__(22050)
        self.audio: list[np.ndarray] = []

    async def play(self, audio: np.ndarray) -> None:
        self.audio.append(audio)


async def _rms(tts, volume: float) -> float:
    sink = CaptureSink()
    speaker = SentenceSpeaker(tts, sink, lambda event: None, 1, volume)
    speaker.put("The kitchen light is on, and dinner is ready.")
    await speaker.finish()
    audio = np.concatenate(sink.audio).astype(np.float64)
    return float(np.sqrt(np.mean(audio**2)))


class Once:
    """The same rendered sentence every time: piper's synthesis is stochastic (its noise scales),
    so two renderings differ by a few per cent in level."""

    def __init__(self, tts) -> None:
        self.sample_rate = tts.sample_rate
        self.audio = tts.synthesize("The kitchen light is on, and dinner is ready.")

    def synthesize(self, text: str) -> np.ndarray:
        return self.audio


async def test_half_volume_is_half_the_amplitude() -> None:
    from homeplm.backends.piper_tts import PiperTts

    halved = PiperTts(TtsSettings(volume=0.5))  # the config's volume must not reach piper as well
    plain = PiperTts(TtsSettings(volume=1.0))
    tts = Once(halved)
    full, half = await _rms(tts, 1.0), await _rms(tts, 0.5)
    print(f"\nRMS at volume 1.0: {full:.0f}, at 0.5: {half:.0f} (ratio {half / full:.3f})")
    assert abs(half / full - 0.5) < 0.01
    # Inside piper, tts.volume 0.5 changes nothing (before the fix it halved the level there too).
    ratio = await _rms(Once(halved), 1.0) / await _rms(Once(plain), 1.0)
    print(f"piper's own level with tts.volume 0.5 vs 1.0: {ratio:.2f}")
    assert ratio > 0.8
