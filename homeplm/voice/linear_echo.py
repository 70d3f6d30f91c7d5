"""A linear echo canceller: what homeplm plays, filtered the way the room does, taken from the
microphone — and nothing else done to it.

WebRTC's canceller (homeplm/voice/echo.py) ends with a suppressor that also bends a person talking
over the echo, which costs wake words (python -m homeplm.bench.barge_in). This one stops at the
subtraction: what is left is the person, untouched, plus what the filter has not learnt of the
echo. It is a partitioned-block frequency-domain adaptive filter (overlap-save, constrained
gradient, normalised by the far-end's power in each bin), 256 ms long, in 16 ms blocks.

Someone talking over the echo would be learnt by a filter that always adapts, and the echo would
come back. So there are two (as in Speex's canceller): a background filter learns whenever the
far-end plays; the foreground filter, whose output is used, takes the background's weights only
when the background has left clearly less for a while (it learnt the room, not a person), and the
background starts again from the foreground when it has gone clearly wrong.

A filter learns about as many samples as it is long, so a short one learns fast; the delay before
the echo (the device's, and EchoCanceller's far-end laid early) is found apart, by
cross-correlating the last seconds of far-end and microphone (GCC-PHAT) up to MAX_DELAY_MS — the
first time once half a second has played, then once a second while it plays — and the far-end is
delayed by it (less PRE_MS) before the filter. A moved delay starts the filter afresh.
"""

from __future__ import annotations

import numpy as np

RATE = 16000
BLOCK = 256  # 16 ms: an 80 ms chunk is five blocks
TAPS = 4096  # 256 ms of the room after the delay
STEP = 0.7  # the background filter's normalised step
FLOOR = 0.01  # each bin normalised by its far-end power, or this share of the mean bin's if more
SMOOTH = 0.2  # per block: the two filters' leftover power, smoothed over ~5 blocks (80 ms)
BETTER = 0.7  # the background's leftover below this share of the foreground's: it is copied
WORSE = 4.0  # above this many times the foreground's: the background starts again from it
MAX_DELAY_MS = 400  # the longest delay looked for
PRE_MS = 8  # the filter starts this long before the delay found (a peak is a little spread)
HISTORY_S = 2.0  # the far-end and microphone cross-correlated for the delay
ESTIMATE_EVERY_S = 1.0
FIRST_AFTER_S = 0.5  # the far-end needed in the history for an estimate (the first one is then)
PEAK_OVER_FLOOR = 6.0  # a delay is taken when its peak stands this far above the mean correlation
_FAR_ACTIVE = 64.0**2  # mean square (int16): below it the far-end is silence and nothing is learnt
_EPS = 1e-3


class LinearEchoCanceller:
    """`process(mic, far)`: both 16 kHz int16 on one timeline, any multiple of BLOCK samples long;
    returns the microphone less the predicted echo, as float64 samples on the int16 scale."""

    def __init__(self, taps: int = TAPS, block: int = BLOCK, step: float = STEP) -> None:
        if taps % block:
            raise ValueError(f"taps ({taps}) must be a multiple of the block ({block})")
        self.block = block
        self.step = step
        self.parts = taps // block
        self.reset()

    def reset(self) -> None:
        self.delay: int | None = None  # samples, once found
        history = round(HISTORY_S * RATE)
        self._far_history = np.zeros(history + MAX_DELAY_MS * RATE // 1000 + self.block)
        self._mic_history = np.zeros(history)
        self._active = np.zeros(history // self.block, dtype=bool)  # which blocks had a far-end
        self._since_estimate = 0
        self._restart()

    def _restart(self) -> None:
        bins = self.block + 1
        self._background = np.zeros((self.parts, bins), dtype=np.complex128)
        self._foreground = np.zeros((self.parts, bins), dtype=np.complex128)
        self._far_spectra = np.zeros((self.parts, bins), dtype=np.complex128)
        self._far_power = np.zeros(bins)  # Σ over the partitions of |X|², kept up to date
        self._last_far = np.zeros(self.block)
        self._left_fore = self._left_back = 0.0  # smoothed leftover power of each filter

    def process(self, mic: np.ndarray, far: np.ndarray) -> np.ndarray:
        if len(mic) != len(far) or len(mic) % self.block:
            raise ValueError(f"mic and far must be equal and a multiple of {self.block} samples long")
        out = np.empty(len(mic))
        for start in range(0, len(mic), self.block):
            part = slice(start, start + self.block)
            out[part] = self._step(mic[part].astype(np.float64), far[part].astype(np.float64))
        return out

    def _step(self, mic: np.ndarray, far: np.ndarray) -> np.ndarray:
        n = self.block
        for history, new in ((self._far_history, far), (self._mic_history, mic)):
            history[:-n] = history[n:]
            history[-n:] = new
        self._active[:-1] = self._active[1:]
        self._active[-1] = float(np.mean(far**2)) > _FAR_ACTIVE
        self._since_estimate += n
        # The first estimate as soon as half a second has played; then once a second while it plays.
        every = ESTIMATE_EVERY_S if self.delay is not None else FIRST_AFTER_S
        if self._since_estimate >= every * RATE and self._active.sum() * n >= FIRST_AFTER_S * RATE:
            self._since_estimate = 0
            self._estimate_delay()
        if self.delay is None or not (self._active.any() or self._far_power.any()):
            return mic  # no delay found yet, or nothing played for two seconds: no echo
        end = len(self._far_history) - self.delay
        return self._block(mic, self._far_history[end - n : end].copy())

    def _estimate_delay(self) -> None:
        """GCC-PHAT of the far-end (from MAX_DELAY_MS before) and the microphone over the history."""
        longest = MAX_DELAY_MS * RATE // 1000
        mic = self._mic_history
        far = self._far_history[len(self._far_history) - len(mic) - longest :]
        size = 1 << int(np.ceil(np.log2(len(far) + len(mic))))
        cross = np.fft.rfft(far, size) * np.conj(np.fft.rfft(mic, size))
        corr = np.fft.irfft(cross / (np.abs(cross) + _EPS), size)[: longest + 1]
        # corr[k]: the far-end k samples on against the microphone: its echo `longest - k` later.
        peak = int(np.argmax(corr))
        if corr[peak] < PEAK_OVER_FLOOR * float(np.mean(np.abs(corr))):
            return
        delay = max(0, longest - peak - PRE_MS * RATE // 1000)
        if self.delay is None or abs(delay - self.delay) > PRE_MS * RATE // 2000:
            self.delay = delay
            self._restart()

    def _block(self, mic: np.ndarray, far: np.ndarray) -> np.ndarray:
        n = self.block
        spectrum = np.fft.rfft(np.concatenate((self._last_far, far)))
        self._last_far = far
        self._far_power += np.abs(spectrum) ** 2 - np.abs(self._far_spectra[-1]) ** 2
        np.maximum(self._far_power, 0.0, out=self._far_power)
        self._far_spectra = np.roll(self._far_spectra, 1, axis=0)
        self._far_spectra[0] = spectrum
        both = np.stack((self._foreground, self._background)) * self._far_spectra
        echoes = np.fft.irfft(both.sum(axis=1), axis=1)[:, n:]
        left_fore, left_back = mic - echoes[0], mic - echoes[1]
        if float(np.mean(far**2)) <= _FAR_ACTIVE:
            return left_fore
        self._left_fore += SMOOTH * (float(np.mean(left_fore**2)) - self._left_fore)
        self._left_back += SMOOTH * (float(np.mean(left_back**2)) - self._left_back)
        if self._left_back < BETTER * self._left_fore:
            self._foreground = self._background.copy()
            self._left_fore = self._left_back
        elif self._left_back > WORSE * self._left_fore:
            self._background = self._foreground.copy()
            self._left_back = self._left_fore
            left_back = left_fore
        self._adapt(left_back)
        return left_fore

    def _adapt(self, left: np.ndarray) -> None:
        n = self.block
        error = np.fft.rfft(np.concatenate((np.zeros(n), left)))
        floor = _EPS + FLOOR * float(self._far_power.mean())
        gradient = np.conj(self._far_spectra) * (error / (self._far_power + floor))
        # The constraint: each partition's update is a filter n taps long (overlap-save's valid part).
        taps = np.fft.irfft(gradient, axis=1)
        taps[:, n:] = 0.0
        self._background += self.step * np.fft.rfft(taps, axis=1)
