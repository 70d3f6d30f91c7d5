"""The microphone cleaned of what the assistant plays: WebRTC's echo canceller (AEC3), with optional
noise suppression and automatic gain control (pywebrtc-audio).

What homeplm plays is told with `played()` — the sink's hook, called as each block is handed to
the device, from any thread, at the sink's own rate — and laid on a far-end timeline counted in
microphone samples: a block is heard `delay_ms` after it is handed over, or right after the audio
queued before it, whichever is later. `process()` cleans each 80 ms microphone chunk with the
far-end that lines up with it (silence while nothing plays); WebRTC works through it in 10 ms
frames and finds the rest of the delay itself. That search reaches a few hundred milliseconds one
way only: a far-end that comes early is found, one that comes late (after its echo) is not — so
`delay_ms` should err low.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from homeplm.core.audio import SAMPLE_RATE, StreamResampler
from homeplm.core.errors import AudioError

INSTALL = ".venv/bin/pip install pywebrtc-audio==0.2.0"
DEFAULT_DELAY_MS = 40
# A chunk whose far-end is below this RMS (int16) counts as silence for the ERLE figure (-60 dBFS).
_FAR_ACTIVE_RMS = 32.8
_ERLE_SMOOTHING = 0.05  # per active chunk: the figure follows about the last 20 (1.6 s)
_LOWPASS_TAPS = 63


def _audio_processor(**options: Any) -> Any:
    try:
        from pywebrtc_audio import AudioProcessor
    except ImportError as err:
        raise AudioError(
            f"Echo cancellation needs the pywebrtc-audio package (WebRTC's audio processing): {INSTALL}",
            code="echo_canceller_missing",
        ) from err
    return AudioProcessor(sample_rate=SAMPLE_RATE, num_channels=1, **options)


class _ToInternalRate:
    """A sink-rate stream to 16 kHz, block by block, with no delay added: low-pass first (so that
    what lies above 8 kHz does not fold into the reference), then StreamResampler (which carries
    its phase between blocks: resampling each block on its own would drift by up to a sample a block).
    """

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._resampler = StreamResampler(rate, SAMPLE_RATE)
        self._kernel: np.ndarray | None = None
        self._history = np.zeros(0)
        self._skip = 0
        if rate > SAMPLE_RATE:
            cutoff = 0.45 * SAMPLE_RATE / rate
            n = np.arange(_LOWPASS_TAPS) - (_LOWPASS_TAPS - 1) / 2
            kernel = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(_LOWPASS_TAPS)
            self._kernel = kernel / kernel.sum()
            self._history = np.zeros(_LOWPASS_TAPS - 1)
            self._skip = (_LOWPASS_TAPS - 1) // 2  # the filter's own delay, taken back at the start

    def process(self, block: np.ndarray) -> np.ndarray:
        if self._kernel is None:
            return self._resampler.process(block)
        signal = np.concatenate((self._history, block.astype(np.float64)))
        self._history = signal[len(signal) - (_LOWPASS_TAPS - 1) :]
        filtered = np.convolve(signal, self._kernel, mode="valid")
        if self._skip:
            cut = min(self._skip, len(filtered))
            filtered, self._skip = filtered[cut:], self._skip - cut
        return self._resampler.process(filtered)


class EchoCanceller:
    """Cleans 80 ms microphone chunks (16 kHz int16) of what homeplm plays.

    `played(samples, sample_rate)` from the sink (any thread), `process(chunk)` from the listener.
    `noise_level` 0–3 also suppresses steady noise (6, 12, 18, 21 dB); `auto_gain` levels the
    voice (WebRTC AGC2); `cancel_echo=False` leaves only those two.
    """

    def __init__(
        self,
        delay_ms: int = DEFAULT_DELAY_MS,
        *,
        noise_level: int | None = None,
        auto_gain: bool = False,
        cancel_echo: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if noise_level is not None and not 0 <= noise_level <= 3:
            raise ValueError(f"noise_level must be 0–3 or None, not {noise_level}")
        self.delay_ms = delay_ms
        self.cancel_echo = cancel_echo
        self._clock = clock
        self._options: dict[str, Any] = {
            "echo_cancellation": cancel_echo,
            "noise_suppression": noise_level is not None,
            "ns_level": 1 if noise_level is None else noise_level,
            "auto_gain_control": auto_gain,
            "high_pass_filter": True,
        }
        self._apm = _audio_processor(**self._options)
        self._apm_lock = threading.Lock()  # the processor: process() and reset()
        self._lock = threading.Lock()  # the timeline: played(), stopped(), process(), reset()
        self._clear()

    def _clear(self) -> None:
        self._mic_pos = 0  # microphone samples processed so far
        self._mic_time: float | None = None  # the clock when the last chunk came
        self._far = np.zeros(0, dtype=np.int16)  # the far-end not yet heard, from _far_start on
        self._far_start = 0
        self._to_16k: _ToInternalRate | None = None
        self._mic_power = 0.0
        self._out_power = 0.0
        self._far_chunks = 0
        self.last_far = np.zeros(0, dtype=np.int16)  # the far-end fed with the last chunk

    @property
    def erle_db(self) -> float | None:
        """Echo return loss enhancement: microphone over cleaned power (dB) on the recent chunks
        during which homeplm played (None before any). Someone talking meanwhile lowers it."""
        with self._lock:
            if self._far_chunks == 0 or self._out_power <= 0.0:
                return None
            return 10 * math.log10(max(self._mic_power, 1e-9) / self._out_power)

    def played(self, samples: np.ndarray, sample_rate: int) -> None:
        """`samples` (int16 mono at `sample_rate`) were just handed to the sink."""
        if not self.cancel_echo or samples.size == 0:
            return
        now = self._clock()
        with self._lock:
            heard = self._mic_pos
            if self._mic_time is not None:
                heard += round((now - self._mic_time) * SAMPLE_RATE)
            heard += self.delay_ms * SAMPLE_RATE // 1000
            far_end = self._far_start + len(self._far)
            if heard > far_end or self._to_16k is None or self._to_16k.rate != sample_rate:
                self._to_16k = _ToInternalRate(sample_rate)  # a new stream: nothing queued before it
            block = self._to_16k.process(samples)
            if heard <= far_end:
                self._far = np.concatenate((self._far, block))
            elif far_end <= self._mic_pos or not len(self._far):
                self._far, self._far_start = block, heard
            else:
                gap = np.zeros(heard - far_end, dtype=np.int16)
                self._far = np.concatenate((self._far, gap, block))

    def stopped(self) -> None:
        """The sink dropped what it had queued (a barge-in): forget the far-end not yet heard."""
        with self._lock:
            self._far = np.zeros(0, dtype=np.int16)
            self._far_start = self._mic_pos
            self._to_16k = None

    def _take_far(self, n: int) -> np.ndarray:
        start, end = self._mic_pos, self._mic_pos + n
        far = np.zeros(n, dtype=np.int16)
        lo, hi = max(start, self._far_start), min(end, self._far_start + len(self._far))
        if hi > lo:
            far[lo - start : hi - start] = self._far[lo - self._far_start : hi - self._far_start]
        if end > self._far_start:
            self._far = self._far[end - self._far_start :]
            self._far_start = end
        self._mic_pos = end
        self._mic_time = self._clock()
        return far

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """One microphone chunk (16 kHz int16) → the same chunk cleaned."""
        mic = np.ascontiguousarray(chunk, dtype=np.int16)
        with self._lock:
            far = self._take_far(len(mic))
            self.last_far = far
        with self._apm_lock:
            out: np.ndarray = self._apm.process(mic, far if self.cancel_echo else None)
        far_power = float(np.mean(far.astype(np.float64) ** 2)) if len(far) else 0.0
        if far_power > _FAR_ACTIVE_RMS**2:
            mic_power = float(np.mean(mic.astype(np.float64) ** 2))
            out_power = float(np.mean(out.astype(np.float64) ** 2)) + 1.0
            with self._lock:
                first = self._far_chunks == 0
                a = 1.0 if first else _ERLE_SMOOTHING
                self._mic_power += a * (mic_power - self._mic_power)
                self._out_power += a * (out_power - self._out_power)
                self._far_chunks += 1
        return out

    def reset(self) -> None:
        """Forget everything: the far-end timeline and WebRTC's filters (the settings stay)."""
        with self._apm_lock:
            self._apm.reset()
        with self._lock:
            self._clear()
