"""The microphone cleaned of what the assistant plays: WebRTC's echo canceller (AEC3), with optional
noise suppression and automatic gain control (pywebrtc-audio).

What homeplm plays is told with `played()` — the sink's hook, called as each block is handed to
the device, from any thread, at the sink's own rate — and laid on a far-end timeline counted in
microphone samples: a block follows the far-end still queued (not yet met by a microphone chunk),
as the device plays it; with none queued it starts a new stream, heard `delay_ms` after now (and
laid EARLY_MS sooner).
`process()` cleans each 80 ms microphone chunk with the far-end that lines up with it (silence
while nothing plays); WebRTC works through it in 10 ms frames and finds the rest of the delay
itself. That search reaches ~450 ms one way only: a far-end that comes early is found, one that
comes late (after its echo, even by 5 ms) is not — so `delay_ms` errs low, and every estimate
here errs early. WebRTC hands each sample back 8 ms later (noise suppression: 6 ms more).

WebRTC's output ends with a suppressor that bends a person talking over the echo too; a barge-in
listens to `last_linear` as well: the same chunk less the echo a linear filter predicts from the
same far-end (homeplm/voice/linear_echo.py), the person left as they were.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from homeplm.core.audio import SAMPLE_RATE, StreamResampler
from homeplm.core.errors import AudioError
from homeplm.voice.linear_echo import LinearEchoCanceller

INSTALL = ".venv/bin/pip install pywebrtc-audio==0.2.0"
# WebRTC finds up to ~450 ms more by itself, but nothing less: 0 suits any output faster than that.
DEFAULT_DELAY_MS = 0
# A new stream is laid this much before its estimated place (its first samples are dropped if that
# falls before the next microphone chunk): through a PulseAudio null sink, whose monitor hears a
# block before its time, the estimate came out up to 26 ms late.
EARLY_MS = 50
# A pause this long between two microphone chunks (a reopened microphone) moves it on by the pause.
_MIC_GAP_S = 0.5
# Where the microphone is now is judged by its most punctual recent chunk: the best lead (chunk end
# minus clock) is kept, less _DRIFT samples a chunk (clocks drift), and dropped when a chunk comes
# _SKIP_S later than it (chunks were thrown away: the microphone is further on than counted).
_DRIFT = 2
_SKIP_S = 0.15
# A chunk whose far-end is below this RMS (int16) counts as silence for the ERLE figure (-60 dBFS).
_FAR_ACTIVE_RMS = 32.8
_ERLE_SMOOTHING = 0.05  # per active chunk: the figure follows about the last 20 (1.6 s)
_LOWPASS_TAPS = 63
# The linear filter's recent take (`linear_erle_db`) is judged over this many chunks (800 ms).
_RECENT_CHUNKS = 10


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
        # Samples to drop at the start: the low-pass filter's delay, and one for StreamResampler,
        # whose first output is the (zero) sample it carries from before the stream.
        self._skip = 0 if rate == SAMPLE_RATE else 1
        if rate > SAMPLE_RATE:
            cutoff = 0.45 * SAMPLE_RATE / rate
            n = np.arange(_LOWPASS_TAPS) - (_LOWPASS_TAPS - 1) / 2
            kernel = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(_LOWPASS_TAPS)
            self._kernel = kernel / kernel.sum()
            self._history = np.zeros(_LOWPASS_TAPS - 1)
            self._skip += (_LOWPASS_TAPS - 1) // 2

    def process(self, block: np.ndarray) -> np.ndarray:
        signal = block.astype(np.float64)
        if self._kernel is not None:
            signal = np.concatenate((self._history, signal))
            self._history = signal[len(signal) - (_LOWPASS_TAPS - 1) :]
            signal = np.convolve(signal, self._kernel, mode="valid")
        if self._skip:
            cut = min(self._skip, len(signal))
            signal, self._skip = signal[cut:], self._skip - cut
        return self._resampler.process(signal)


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
        self._linear = LinearEchoCanceller() if cancel_echo else None
        self._apm_lock = threading.Lock()  # the processor: process() and reset()
        self._lock = threading.Lock()  # the timeline: played(), stopped(), process(), reset()
        self._clear()

    def _clear(self) -> None:
        self._mic_pos = 0  # microphone samples processed so far
        self._mic_time: float | None = None  # the clock when the last chunk came
        self._lead: float | None = None  # microphone samples counted minus the clock's, at best
        self._far = np.zeros(0, dtype=np.int16)  # the far-end not yet heard, from _far_start on
        self._far_start = 0
        self._far_end: int | None = None  # where the stream played last ends (None: stopped)
        self._to_16k: _ToInternalRate | None = None
        self._mic_power = 0.0
        self._out_power = 0.0
        self._far_chunks = 0
        self.last_far = np.zeros(0, dtype=np.int16)  # the far-end fed with the last chunk
        self.last_linear: np.ndarray | None = None  # the last chunk less the linear filter's echo
        # Per recent chunk: the microphone's power, the linear output's, whether a far-end played.
        self._recent: deque[tuple[float, float, bool]] = deque(maxlen=_RECENT_CHUNKS)

    @property
    def erle_db(self) -> float | None:
        """Echo return loss enhancement: microphone over cleaned power (dB) on the recent chunks
        during which homeplm played (None before any). Someone talking meanwhile lowers it."""
        with self._lock:
            if self._far_chunks == 0 or self._out_power <= 0.0:
                return None
            return 10 * math.log10(max(self._mic_power, 1e-9) / self._out_power)

    @property
    def linear_erle_db(self) -> float | None:
        """How much the linear filter took out of the microphone over the last 800 ms (dB); None
        when nothing played then. Its own voice alone: about its ERLE (15–30 dB); someone talking
        over it: the person is left, so a few dB (python -m homeplm.bench.barge_in)."""
        with self._lock:
            recent = list(self._recent)
        if not any(far for _, _, far in recent):
            return None
        mic = sum(m for m, _, _ in recent)
        linear = sum(lin for _, lin, _ in recent)
        return 10 * math.log10((mic + 1.0) / (linear + 1.0))

    def played(self, samples: np.ndarray, sample_rate: int) -> None:
        """`samples` (int16 mono at `sample_rate`) were just handed to the sink.

        Only the microphone's own count says when the queue has run out: the times at which chunks
        come wobble (PulseAudio hands 80 ms blocks over 87 ms apart, then two at once), and judging
        the queue by them put false gaps into continuous speech (20 ms jumps, each costing WebRTC
        ~1.5 s). "Now" on the microphone's count, for a new stream, is judged by its most punctual
        recent chunk, so that every stream lines up alike.
        """
        if not self.cancel_echo or samples.size == 0:
            return
        now = self._clock()
        early = EARLY_MS * SAMPLE_RATE // 1000
        with self._lock:
            queued = self._far_end is not None and self._far_end > self._mic_pos - early
            if not queued or self._to_16k is None or self._to_16k.rate != sample_rate:
                self._to_16k = _ToInternalRate(sample_rate)
            block = self._to_16k.process(samples)
            if queued and self._far_end is not None:
                start = self._far_end
            else:
                heard = self._mic_pos if self._lead is None else round(self._lead + now * SAMPLE_RATE)
                start = max(heard, self._mic_pos) + self.delay_ms * SAMPLE_RATE // 1000 - early
            self._far_end = start + len(block)
            skip = max(0, self._mic_pos - start)  # laid before the next chunk: gone
            if len(self._far):
                self._far = np.concatenate((self._far, block[skip:]))
            else:
                self._far, self._far_start = block[skip:], start + skip

    def stopped(self) -> None:
        """The sink dropped what it had queued (a barge-in): forget the far-end not yet heard."""
        with self._lock:
            self._far = np.zeros(0, dtype=np.int16)
            self._far_end = None
            self._to_16k = None

    def _take_far(self, n: int) -> np.ndarray:
        now = self._clock()
        if self._mic_time is not None and now - self._mic_time > _MIC_GAP_S + n / SAMPLE_RATE:
            self._mic_pos += round((now - self._mic_time) * SAMPLE_RATE) - n
        start, end = self._mic_pos, self._mic_pos + n
        far = np.zeros(n, dtype=np.int16)
        lo, hi = max(start, self._far_start), min(end, self._far_start + len(self._far))
        if hi > lo:
            far[lo - start : hi - start] = self._far[lo - self._far_start : hi - self._far_start]
        if end > self._far_start:
            self._far = self._far[end - self._far_start :]
            self._far_start = end
        self._mic_pos, self._mic_time = end, now
        lead = end - now * SAMPLE_RATE
        if self._lead is None or lead > self._lead or lead < self._lead - _SKIP_S * SAMPLE_RATE:
            self._lead = lead
        else:
            self._lead -= _DRIFT
        return far

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """One microphone chunk (16 kHz int16) → the same chunk cleaned."""
        mic = np.ascontiguousarray(chunk, dtype=np.int16)
        with self._lock:
            far = self._take_far(len(mic))
            self.last_far = far
        mic_power = float(np.mean(mic.astype(np.float64) ** 2))
        with self._apm_lock:
            out: np.ndarray = self._apm.process(mic, far if self.cancel_echo else None)
            if self._linear is not None and len(mic) % self._linear.block == 0:
                linear = self._linear.process(mic, far)
                self.last_linear = np.clip(linear, -32768, 32767).astype(np.int16)
                with self._lock:
                    self._recent.append((mic_power, float(np.mean(linear**2)), bool(far.any())))
        far_power = float(np.mean(far.astype(np.float64) ** 2)) if len(far) else 0.0
        if far_power > _FAR_ACTIVE_RMS**2:
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
            if self._linear is not None:
                self._linear.reset()
        with self._lock:
            self._clear()
