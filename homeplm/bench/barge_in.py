"""Barge-in, measured: the wake word while homeplm speaks, how fast it stops, and whether its own
voice ever barges in.

    python -m homeplm.bench.barge_in            # about 17 minutes on a 2-core machine
    python -m homeplm.bench.barge_in --quick    # fewer voices and replies

1. **Heard while it speaks vs. in silence.** 25 wake phrases ("hey jarvis" + stop, cancel, a new
   question …, five espeak-ng voices) are mixed, one at a time, into a live recording of homeplm
   speaking into the private PulseAudio room (`homeplm.bench.echo`: its own sink and microphone,
   a null sink between them), at +6, 0 and -6 dB over the echo there, on the null sink and with a
   synthetic room added; each mix goes through the echo canceller on the recording's own clock.
   Heard = the product's detector at `wake.threshold` in the raw microphone, WebRTC's output and
   the linear canceller's output; and the score the listener acts on (the better of the two
   outputs, nothing while its own voice alone is heard) at `conversation.barge_in_threshold`.
   In silence: the same phrases alone, under the room's noise.
2. **Stop latency** = detection (the end of "jarvis" to the end of the chunk at which the score
   the listener acts on reaches the barge-in or the hold threshold, from the mixes; the cancellers'
   and detectors' CPU time added) + the sink's stop (live: from `stop()` to the last of its sound
   on the room's monitor, runs at 6 points).
3. **False barge-ins and holds for nothing** per hour of its own speech: every example reply of
   the answer benchmark (homeplm/bench/answer_sets.py) and the household facts said back, by the
   shipped piper voice, handed to a synthetic sink two blocks ahead, through a synthetic room and
   cleaned on the same timeline; detections (2 s apart at least) in each signal and as the
   listener acts.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from homeplm.bench.echo import (
    SENTENCES,
    WAKE_THRESHOLD,
    Recording,
    power,
    pulse_room,
    record,
    replay,
    with_room,
)
from homeplm.core.audio import CHUNK_MS, CHUNK_SAMPLES, SAMPLE_RATE, resample

WAKE = "hey jarvis"
COMMANDS = ("stop", "cancel that", "what time is it?", "turn it down", "that's enough")
VOICES = (("en-us", 160), ("en-gb", 170), ("en-us+f3", 155), ("en-gb-scotland", 165), ("en-us+m7", 175))
LEVELS_DB = (6, 0, -6)
REFRACTORY_CHUNKS = 25  # 2 s: one detection per wake word
BARGE_THRESHOLDS = (0.35, 0.5, 0.6, 0.7, 0.8)  # candidates for conversation.barge_in_threshold
HOLD_THRESHOLDS = (0.01, 0.02, 0.05, 0.1, 0.2)  # candidates for conversation.hold_threshold
HOLD_CHUNKS = 8  # a hold that does not become a barge-in within 640 ms lets the voice go on
HOLD_TAIL_CHUNKS = 2  # after a hold its echo is still heard this long (sink's stop, room's tail)
LEAD_S = 2.0  # what the detector hears before a phrase (it needs ~1.5 s to fill its window)


@dataclass(frozen=True, slots=True)
class Phrase:
    """A spoken wake phrase and where in it the wake word ends (samples)."""

    text: str
    voice: str
    audio: np.ndarray
    wake_end: int


def phrases(folder: Path, quick: bool) -> list[Phrase]:
    """Each voice says each command after the wake word; the wake word's end is where its own
    rendering ends (it is rendered apart and joined with 120 ms of silence)."""
    from homeplm.bench.spoken_house import espeak

    out = []
    for voice, speed in VOICES[:2] if quick else VOICES:
        wake = _trim(espeak(WAKE, voice, speed, folder))
        for command in COMMANDS:
            said = _trim(espeak(command, voice, speed, folder))
            audio = np.concatenate((wake, np.zeros(SAMPLE_RATE * 12 // 100, np.int16), said))
            out.append(Phrase(f"{WAKE}, {command}", voice, audio, len(wake)))
    return out


def _trim(audio: np.ndarray) -> np.ndarray:
    loud = np.flatnonzero(np.abs(audio) > 200)
    return audio[loud[0] : loud[-1] + 1] if loud.size else audio


@functools.cache
def _detector() -> Any:
    from homeplm.backends.openwakeword_wake import OpenWakeWordDetector
    from homeplm.config.schema import WakeSettings

    return OpenWakeWordDetector(WakeSettings(threshold=1.0))


def scores(audio: np.ndarray) -> np.ndarray:
    """The product's detector's best score for each 80 ms chunk of `audio` (from a reset)."""
    detector = _detector()
    detector.reset()
    out = np.zeros(len(audio) // CHUNK_SAMPLES)
    for i in range(len(out)):
        detector.process(audio[i * CHUNK_SAMPLES : (i + 1) * CHUNK_SAMPLES])
        out[i] = max(detector.last_scores.values())
    return out


def first_hit(audio: np.ndarray, threshold: float = WAKE_THRESHOLD) -> int | None:
    """The first chunk at which the detector fires on `audio` (at wake.threshold), or None."""
    return _first(scores(audio), threshold)


def _first(chunk_scores: np.ndarray, threshold: float) -> int | None:
    hits = np.flatnonzero(chunk_scores >= threshold)
    return int(hits[0]) if hits.size else None


def detections(audio: np.ndarray, threshold: float = WAKE_THRESHOLD) -> int:
    """How many times the detector fires on `audio`, a wake word's refractory time apart."""
    return _events(scores(audio), threshold)


def _events(chunk_scores: np.ndarray, threshold: float) -> int:
    count, quiet_until = 0, -1
    for i in np.flatnonzero(chunk_scores >= threshold):
        if i > quiet_until:
            count, quiet_until = count + 1, int(i) + REFRACTORY_CHUNKS
    return count


def holds(chunk_scores: np.ndarray, hold: float, barge: float, within: int = HOLD_CHUNKS) -> int:
    """Holds that came to nothing: the score reached `hold` but not `barge` within `within` chunks."""
    count, quiet_until = 0, -1
    for i in np.flatnonzero(chunk_scores >= hold):
        if i > quiet_until:
            if not (chunk_scores[i : i + within + 1] >= barge).any():
                count += 1
            quiet_until = int(i) + within
    return count


def product(cleaned: np.ndarray, linear: np.ndarray, erle: np.ndarray) -> np.ndarray:
    """The score the listener acts on while it speaks: the better of the cleaned and the linear
    output's, nothing where the linear filter took OWN_VOICE_DB or more (its own voice alone)."""
    from homeplm.voice.listener import OWN_VOICE_DB

    best = np.maximum(cleaned, linear)
    return np.where(np.nan_to_num(erle[: len(best)], nan=0.0) >= OWN_VOICE_DB, 0.0, best)


@dataclass(slots=True)
class Heard:
    raw: int = 0
    cleaned: int = 0
    linear: int = 0
    tries: int = 0
    # Each phrase's chunk scores as the listener acts on them, and where the wake word ends (chunks).
    tracks: list[tuple[np.ndarray, float]] = field(default_factory=list)
    held: int = 0  # heard at the product's barge-in threshold with its hold (simulated)

    def heard_at(self, threshold: float) -> int:
        return sum(bool((track >= threshold).any()) for track, _ in self.tracks)

    def onsets_ms(self, threshold: float) -> list[float]:
        """From the wake word's end to the end of the first chunk at `threshold`."""
        out = []
        for track, word_end in self.tracks:
            hit = _first(track, threshold)
            if hit is not None:
                out.append(((hit + 1) - word_end) * CHUNK_MS)
        return out


def while_speaking(rec: Recording, mic: np.ndarray, said: list[Phrase], ser_db: float) -> Heard:
    """Each phrase mixed into `mic` at its own place in the speech, `ser_db` over the echo there."""
    base = replay(rec, mic)
    active = np.flatnonzero(np.abs(base.far) > 64)
    start, end = int(active[0]) + SAMPLE_RATE, int(active[-1]) - 4 * SAMPLE_RATE
    heard = Heard()
    for phrase, at in zip(said, np.linspace(start, end, len(said)).astype(int), strict=True):
        at -= at % CHUNK_SAMPLES  # chunk-aligned, so latency counts from the detector's own chunks
        window = slice(at, at + len(phrase.audio))
        scale = np.sqrt(power(base.mic[window]) / power(phrase.audio)) * 10 ** (ser_db / 20)
        track = np.zeros(len(base.mic))
        track[window] = phrase.audio * scale
        mixed = np.clip(base.mic + track, -32768, 32767).astype(np.int16)
        run = replay(rec, mixed)
        around = slice(at - int(LEAD_S * SAMPLE_RATE), at + len(phrase.audio) + SAMPLE_RATE)
        chunks = slice(around.start // CHUNK_SAMPLES, around.stop // CHUNK_SAMPLES)
        raw, cleaned, linear = scores(mixed[around]), scores(run.out[around]), scores(run.linear[around])
        acted = product(cleaned, linear, run.linear_erle[chunks])
        heard.tracks.append((acted, (LEAD_S * SAMPLE_RATE + phrase.wake_end) / CHUNK_SAMPLES))
        heard.held += held_hit(run.linear[around], track[around], acted)
        heard.tries += 1
        heard.raw += _first(raw, WAKE_THRESHOLD) is not None
        heard.cleaned += _first(cleaned, WAKE_THRESHOLD) is not None
        heard.linear += _first(linear, WAKE_THRESHOLD) is not None
    return heard


def held_hit(linear: np.ndarray, phrase: np.ndarray, acted: np.ndarray) -> bool:
    """The product's barge-in with its hold (conversation.barge_in_threshold, hold_threshold),
    simulated on one mix: from the first chunk at the hold threshold the voice is silent, so its
    echo leaves the microphone HOLD_TAIL_CHUNKS later (the sink's stop and the room's tail), and
    the detector goes on hearing the person alone (the room's noise gone too: an upper bound);
    before that it hears the linear output, as the listener does."""
    from homeplm.config.schema import ConversationSettings

    conversation = ConversationSettings()
    hold = _first(acted, conversation.hold_threshold) if conversation.hold_threshold > 0 else None
    if hold is None:
        return bool((acted >= conversation.barge_in_threshold).any())
    cut = min(len(linear), (hold + 1 + HOLD_TAIL_CHUNKS) * CHUNK_SAMPLES)
    held = np.concatenate((linear[:cut], np.clip(phrase[cut:], -32768, 32767).astype(np.int16)))
    # Before the cut the microphone is as it was; after it, the person alone.
    heard = scores(held)[: len(acted)]
    before = cut // CHUNK_SAMPLES
    heard[:before] = np.maximum(heard[:before], acted[:before])
    barge = conversation.barge_in_threshold
    # Held, it is heard within HOLD_CHUNKS; after the voice goes on, as without a hold.
    held_window, after = heard[: hold + HOLD_CHUNKS + 1], acted[hold + HOLD_CHUNKS :]
    return bool((held_window >= barge).any() or (after >= barge).any())


def in_silence(said: list[Phrase], level_like: np.ndarray) -> int:
    """The phrases alone at the echo's level, under -55 dBFS of noise: how many are heard."""
    rng = np.random.default_rng(7)
    count = 0
    for phrase in said:
        scale = np.sqrt(power(level_like) / power(phrase.audio))
        lead = np.zeros(int(LEAD_S * SAMPLE_RATE))
        audio = np.concatenate((lead, phrase.audio * scale, np.zeros(SAMPLE_RATE)))
        audio += rng.normal(0, 32768 * 10 ** (-55 / 20), len(audio))
        count += first_hit(np.clip(audio, -32768, 32767).astype(np.int16)) is not None
    return count


def sink_stop_ms(env: dict[str, str], speech: np.ndarray, rate: int, points: int) -> list[float]:
    """Live: the sink told to stop at `points` places; how long its sound went on in the room."""
    out = []
    for k in range(points):
        rec = record(env, speech[: rate * 8], rate, stop_at_s=1.5 + 0.37 * k)
        mic = rec.mic.reshape(-1)
        # Chunk i came at mic_t[i]; its sample j was heard (1280 - j) samples before that.
        before = CHUNK_SAMPLES - np.tile(np.arange(CHUNK_SAMPLES), len(rec.mic_t))
        times = np.repeat(rec.mic_t, CHUNK_SAMPLES) - before / SAMPLE_RATE
        loud = np.flatnonzero(np.abs(mic) > 64)
        out.append((float(times[loud[-1]]) - rec.stopped) * 1000 if loud.size else 0.0)
    return out


def own_speech(quick: bool) -> tuple[np.ndarray, int]:
    """Every example reply of the answer benchmark and every told fact, by piper, 0.4 s apart."""
    from homeplm.backends.piper_tts import PiperTts
    from homeplm.bench.answer_sets import EVERYDAY, HOUSEHOLD_FACTS
    from homeplm.config.schema import TtsSettings

    tts = PiperTts(TtsSettings())
    texts = [q.example for q in EVERYDAY if q.example] + list(HOUSEHOLD_FACTS) + list(SENTENCES)
    gap = np.zeros(int(tts.sample_rate * 0.4), np.int16)
    pieces = [piece for text in texts[:: 6 if quick else 1] for piece in (tts.synthesize(text), gap)]
    return np.concatenate(pieces), tts.sample_rate


def synthetic_path(speech: np.ndarray, rate: int, delay_ms: int = 30) -> Recording:
    """`speech` played from 1 s on, handed to a sink in 1024-sample blocks two blocks before they
    sound (as a device's buffer takes them), heard `delay_ms` later through a synthetic room by a
    microphone that started at 0: a Recording to replay."""
    block = 1024
    plays = [
        (1.0 + max(0, k - 2 * block) / rate, speech[k : k + block], rate)
        for k in range(0, len(speech), block)
    ]
    at16 = resample(speech, rate, SAMPLE_RATE)
    lead = np.zeros(SAMPLE_RATE + delay_ms * SAMPLE_RATE // 1000, np.int16)
    mic = with_room(np.concatenate((lead, at16, np.zeros(SAMPLE_RATE, np.int16))))
    mic = mic[: len(mic) - len(mic) % CHUNK_SAMPLES]
    mic_t = (np.arange(len(mic) // CHUNK_SAMPLES) + 1) * CHUNK_SAMPLES / SAMPLE_RATE
    return Recording(mic_t, mic.reshape(-1, CHUNK_SAMPLES), plays)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="two voices, a sixth of the replies")
    args = parser.parse_args(argv)
    if shutil.which("pulseaudio") is None or shutil.which("espeak-ng") is None:
        print("needs pulseaudio, pulseaudio-utils and espeak-ng (bash scripts/setup.sh --test)")
        return 2
    from homeplm.backends.piper_tts import PiperTts
    from homeplm.config.schema import TtsSettings

    tts = PiperTts(TtsSettings())
    speech = np.concatenate([tts.synthesize(s) for s in SENTENCES])
    with tempfile.TemporaryDirectory(prefix="homeplm-barge-") as tmp, pulse_room() as env:
        said = phrases(Path(tmp), args.quick)
        rec = record(env, speech, tts.sample_rate)
        stops = sink_stop_ms(env, speech, tts.sample_rate, 3 if args.quick else 6)
    print(f"{len(said)} wake phrases over {len(speech) / tts.sample_rate:.0f} s of homeplm's speech "
          f"(threshold {WAKE_THRESHOLD}):")  # fmt: skip
    from homeplm.config.schema import ConversationSettings

    conversation = ConversationSettings()
    barge = conversation.barge_in_threshold
    mic = rec.mic.reshape(-1)
    every: list[Heard] = []
    at_six: list[Heard] = []
    for name, path in (("null sink", mic), ("with a room", with_room(mic))):
        for ser in LEVELS_DB:
            h = while_speaking(rec, path, said, ser)
            every.append(h)
            if ser == LEVELS_DB[0]:
                at_six.append(h)
            print(f"  while it speaks, {ser:+d} dB over the echo, {name}: at {WAKE_THRESHOLD}, raw "
                  f"{h.raw}/{h.tries}, cleaned {h.cleaned}/{h.tries}, linear {h.linear}/{h.tries}; "
                  f"as the listener acts (cleaned or linear, its own voice alone set aside) at "
                  f"{barge}: {h.heard_at(barge)}/{h.tries}")  # fmt: skip
    speech_part = replay(rec).mic[SAMPLE_RATE * 2 : SAMPLE_RATE * 8]
    print(f"  in silence (same phrases, the echo's level, -55 dBFS noise): heard "
          f"{in_silence(said, speech_part)}/{len(said)}")  # fmt: skip
    cpu_run = replay(rec)
    _detector()
    started = time.process_time()
    scores(cpu_run.out)
    wake_ms = (time.process_time() - started) * 1000 / len(rec.mic_t)
    front_ms = cpu_run.cpu_ms + 2 * wake_ms
    print(f"front end CPU per 80 ms chunk: cancellers (WebRTC and linear) {cpu_run.cpu_ms:.2f} ms + "
          f"two wake word detectors {2 * wake_ms:.2f} ms")  # fmt: skip
    print(f"the sink's stop, live (its sound in the room after stop(), {len(stops)} runs): p50 "
          f"{pct(stops, 50):.0f} ms, p95 {pct(stops, 95):.0f} ms")  # fmt: skip
    own, rate = own_speech(args.quick)
    spoken = synthetic_path(own, rate)
    minutes = len(own) / rate / 60
    run = replay(spoken)
    n = len(run.mic) // CHUNK_SAMPLES
    own_raw, own_cleaned, own_linear = scores(run.mic), scores(run.out), scores(run.linear)
    own_acted = product(own_cleaned, own_linear, run.linear_erle[:n])
    erle = [10 * np.log10(power(run.mic) / power(x)) for x in (run.out, run.linear)]
    print(f"its own speech, {minutes:.1f} min through a room: ERLE WebRTC {erle[0]:.1f} dB, linear "
          f"{erle[1]:.1f} dB; wake words in it (2 s apart):")  # fmt: skip
    for threshold in (0.1, WAKE_THRESHOLD, *BARGE_THRESHOLDS[1:]):
        counts = [_events(x, threshold) for x in (own_raw, own_cleaned, own_linear, own_acted)]
        print(f"  at {threshold:.2f}: raw {counts[0]}, cleaned {counts[1]}, linear {counts[2]}; as the "
              f"listener acts {counts[3]} ({counts[3] * 60 / minutes:.1f}/h)")  # fmt: skip
    print(f"a barge-in threshold (as the listener acts; {LEVELS_DB[0]:+d} dB, null sink / with a room):")
    for threshold in BARGE_THRESHOLDS:
        heard = " / ".join(f"{h.heard_at(threshold)}/{h.tries}" for h in at_six)
        false = _events(own_acted, threshold)
        print(f"  {threshold:.2f}: heard {heard}, false barge-ins {false} ({false * 60 / minutes:.1f}/h)")
    print(f"with the product's defaults (barge-in at {barge}, held at {conversation.hold_threshold}; the "
          "echo gone 160 ms after a hold, simulated): heard "
          + " / ".join(f"{h.held}/{h.tries}" for h in at_six))  # fmt: skip
    print(f"stop latency, the wake word's end → silence in the room (all levels and paths; a hold that "
          f"is no barge-in within {HOLD_CHUNKS * CHUNK_MS} ms lets it go on):")  # fmt: skip
    for hold in (0.0, *HOLD_THRESHOLDS):
        onsets = [ms for h in every for ms in h.onsets_ms(hold or barge)]
        total = [a + front_ms + b for a in onsets for b in stops]
        idle = holds(own_acted, hold, barge) if hold else 0
        what = f"held at {hold:.2f}" if hold else "no hold"
        print(f"  {what}: {len(onsets)} stopped, p50 {pct(total, 50):.0f} ms, p95 {pct(total, 95):.0f} "
              f"ms; holds for nothing {idle} ({idle * 60 / minutes:.1f}/h)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
