"""The linear echo canceller (homeplm/voice/linear_echo.py): it finds the delay, learns the room,
leaves a person talking over the echo as they were, and does not unlearn the room meanwhile."""

from __future__ import annotations

import numpy as np
import pytest

from homeplm.voice.echo import EchoCanceller
from homeplm.voice.linear_echo import PRE_MS, LinearEchoCanceller

RATE = 16000
rng = np.random.default_rng(3)


def room(far: np.ndarray, delay_ms: int = 60) -> np.ndarray:
    """The far-end heard `delay_ms` later through a short reverberant room, with a little noise."""
    response = np.zeros(delay_ms * 16 + 2400)
    response[delay_ms * 16] = 0.6
    tail = np.arange(2399)
    response[delay_ms * 16 + 1 :] = rng.normal(size=2399) * np.exp(-tail / 300) * 0.08
    heard = np.convolve(far.astype(np.float64), response)[: len(far)]
    return heard + rng.normal(0, 3, len(far))


def speechlike(seconds: float) -> np.ndarray:
    """Noise shaped and switched on and off like speech (syllables of ~200 ms)."""
    n = int(seconds * RATE)
    noise = np.convolve(rng.normal(0, 3000, n), np.ones(6) / 6, mode="same")
    envelope = np.repeat(rng.uniform(0.2, 1.0, n // 3200 + 1), 3200)[:n]
    return (noise * envelope).astype(np.int16)


def db(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(a.astype(np.float64) ** 2) / np.mean(b.astype(np.float64) ** 2)))


def test_it_finds_the_delay_and_learns_the_room() -> None:
    far = speechlike(8)
    mic = room(far).astype(np.int16)
    canceller = LinearEchoCanceller()
    out = canceller.process(mic, far)
    assert canceller.delay is not None and abs(canceller.delay - (60 - PRE_MS) * 16) <= 16
    erle = db(mic[5 * RATE :], out[5 * RATE :])
    print(f"\nERLE over the last 3 s: {erle:.1f} dB")
    assert erle > 25


def test_a_person_over_the_echo_is_left_as_they_were_and_the_room_stays_learnt() -> None:
    far = speechlike(12)
    echo = room(far)
    person = np.zeros(len(far))
    talk = slice(7 * RATE, 9 * RATE)
    person[talk] = speechlike(2) * 0.5  # 6 dB under the far-end, about the echo's level
    mic = np.clip(echo + person, -32768, 32767).astype(np.int16)
    out = LinearEchoCanceller().process(mic, far)
    kept = np.corrcoef(out[talk], person[talk])[0, 1]
    print(f"\nthe person in the output: correlation {kept:.3f}")
    assert kept > 0.97
    after = slice(10 * RATE, 12 * RATE)
    assert db(mic[after], out[after]) > 20, "the talk was not learnt as the room"


def test_nothing_played_is_nothing_taken() -> None:
    mic = speechlike(3.2)
    out = LinearEchoCanceller().process(mic, np.zeros_like(mic))
    assert np.array_equal(out, mic.astype(np.float64))


def test_bad_lengths() -> None:
    with pytest.raises(ValueError):
        LinearEchoCanceller().process(np.zeros(256, np.int16), np.zeros(512, np.int16))
    with pytest.raises(ValueError):
        LinearEchoCanceller().process(np.zeros(100, np.int16), np.zeros(100, np.int16))
    with pytest.raises(ValueError):
        LinearEchoCanceller(taps=1000)


def test_the_canceller_says_how_much_the_linear_filter_took() -> None:
    now = [0.0]
    canceller = EchoCanceller(clock=lambda: now[0])
    assert canceller.linear_erle_db is None
    far = speechlike(6)
    mic = room(far, delay_ms=20)
    for i in range(0, len(far) - 1280, 1280):
        now[0] = i / RATE
        canceller.played(far[i + 1280 : i + 2560], RATE)  # handed a chunk before it sounds
        canceller.process(np.clip(mic[i : i + 1280], -32768, 32767).astype(np.int16))
        assert canceller.last_linear is not None and canceller.last_linear.dtype == np.int16
    erle = canceller.linear_erle_db
    print(f"\nits own voice alone: the linear filter took {erle:.1f} dB")
    assert erle is not None and erle > 15
