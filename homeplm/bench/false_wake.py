"""False wakes, measured: how often the wake word fires on a household's talk that is not for it.

    python -m homeplm.bench.false_wake [--thresholds 0.5 0.4 0.35 0.3] [--snr 15] [--voices …]

A long recording of what a living room hears — people talking about their day, near-misses of the
wake phrase ("hey Travis", "a service", "are you serious"), read by five espeak-ng voices and the
shipped piper voice, over room noise with a television's babble — is fed in 80 ms chunks to the
product's openWakeWord detector (no VAD gate, so an upper bound). Each threshold counts the
chunks at or above it, with the daemon's refractory time between two; printed per hour of audio.
The same detector's hits on "Hey Jarvis, <command>" (the spoken-house utterances) give the other
side: what each threshold wakes for.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from homeplm.bench.spoken_house import (
    COMMANDS,
    DEFAULT_VOICES,
    SPEECH_DBFS,
    Speakers,
    Voice,
    level,
    parse_voice,
    room_noise,
    trim,
)
from homeplm.core.audio import SAMPLE_RATE

CHUNK = 1280  # 80 ms
REFRACTORY_S = 2.0
# What a household says that is not for the assistant: everyday talk and sounds like the wake phrase.
NOT_FOR_IT = (
    "Hey, are you coming down for dinner?", "Hey Travis, can you pass me the salt?",
    "We need to call the service people about the boiler.", "Are you serious? That's amazing.",
    "Harvest festival is on Sunday at the school.", "Jervis Bay was lovely last summer.",
    "Hey Davis, how was football practice?", "I'm so nervous about the exam tomorrow.",
    "Have you seen my car keys anywhere?", "Hey, Charlie, turn that music down a bit.",
    "The kettle's just boiled if you want tea.", "Did you remember to feed the cat?",
    "Hey guys, dinner is ready in five minutes.", "Pass me the remote, would you?",
    "What time does your train leave tomorrow?", "I'll pick the kids up from school today.",
    "Hey, Marcus, where did you put the scissors?", "She said the garage door was stuck again.",
    "Turn the lights off when you go to bed.", "It's freezing in here, is the heating on?",
    "Let's watch a film tonight, something funny.", "Hey Jess, can you help me with this box?",
    "Java is the language they teach at school now.", "The service was really slow at that restaurant.",
    "Hey there, how was your day at work?", "Can you believe the price of petrol?",
    "Hey, Jamie, your phone is ringing.", "I'm going to the shop, do we need anything?",
    "Don't forget your lunch box.", "The plumber is coming on Thursday morning.",
    "Hey, Harvey, stop jumping on the sofa!", "Her birthday party is next Saturday.",
    "Hey you, yes you, come and look at this.", "Jars of jam are in the top cupboard.",
    "Hey Siri is on your phone, not on this thing.", "Okay, everyone, shoes on, we're late.",
)  # fmt: skip


def events(scores: np.ndarray, threshold: float) -> int:
    """Chunks at or above `threshold`, counting one per refractory time."""
    count, ready_at = 0, -1
    refractory = int(REFRACTORY_S * SAMPLE_RATE / CHUNK)
    for i in np.flatnonzero(scores >= threshold).tolist():
        if i >= ready_at:
            count, ready_at = count + 1, i + refractory
    return count


def chunk_scores(audio: np.ndarray) -> np.ndarray:
    """The product's detector's best score for each 80 ms chunk."""
    from homeplm.backends.openwakeword_wake import OpenWakeWordDetector
    from homeplm.config.schema import WakeSettings

    detector = OpenWakeWordDetector(WakeSettings(threshold=1.0))
    out = np.zeros(len(audio) // CHUNK)
    for i in range(len(out)):
        detector.process(audio[i * CHUNK : (i + 1) * CHUNK])
        out[i] = max(detector.last_scores.values())
    return out


def recording(
    texts: Sequence[str], voices: Sequence[Voice], snr_db: float | None, folder: Path
) -> tuple[np.ndarray, list[tuple[int, int, str]]]:
    """Every text by every voice, 1 s apart, under room noise at `snr_db` (int16), and where each
    text lies in it (first and last chunk)."""
    speakers = Speakers(folder)
    gap = np.zeros(SAMPLE_RATE)
    pieces, spans, at = [gap], [], len(gap)
    for voice in voices:
        for text in texts:
            speech = level(trim(speakers.say(text, voice)))
            spans.append((at // CHUNK, (at + len(speech) + SAMPLE_RATE // 2) // CHUNK, text))
            pieces += [speech, gap]
            at += len(speech) + len(gap)
    clean = np.concatenate(pieces)
    if snr_db is not None:
        noise = room_noise(len(clean) / SAMPLE_RATE + 0.1, folder)[: len(clean)]
        clean = clean + noise * 32768 * 10 ** (SPEECH_DBFS / 20) * 10 ** (-snr_db / 20)
    return np.clip(np.round(clean), -32768, 32767).astype(np.int16), spans


def woke_on(scores: np.ndarray, threshold: float, spans: Sequence[tuple[int, int, str]]) -> list[str]:
    """The texts during which the detector fired."""
    return [text for first, last, text in spans if (scores[first : last + 1] >= threshold).any()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--thresholds", nargs="+", type=float, default=[0.5, 0.4, 0.35, 0.3])
    parser.add_argument("--snr", type=float, default=15.0, help="dB of speech over the room noise")
    parser.add_argument("--voices", nargs="+", type=parse_voice, default=list(DEFAULT_VOICES))
    parser.add_argument("--repeat", type=int, default=3, help="times the talk is said (different noise)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="homeplm-false-wake-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        said = [recording(NOT_FOR_IT, args.voices, args.snr, folder) for _ in range(args.repeat)]
        offsets = np.cumsum([0] + [len(audio) // CHUNK for audio, _ in said])
        talk = np.concatenate([audio for audio, _ in said])
        spans = [
            (first + int(at), last + int(at), text)
            for (_, part), at in zip(said, offsets, strict=False)
            for first, last, text in part
        ]
        wakes, _ = recording([f"Hey Jarvis, {c.text}." for c in COMMANDS], args.voices, args.snr, folder)
        print(f"rendered in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        talk_scores, wake_scores = chunk_scores(talk), chunk_scores(wakes)
        hours = len(talk) / SAMPLE_RATE / 3600
        cost = (time.perf_counter() - started) / ((len(talk) + len(wakes)) / SAMPLE_RATE)
    print(
        f"{len(NOT_FOR_IT)} sentences × {len(args.voices)} voices × {args.repeat} = "
        f"{hours * 60:.1f} min of talk at {args.snr:g} dB; "
        f"{len(COMMANDS) * len(args.voices)} 'Hey Jarvis, …' utterances; "
        f"detector {cost * 1000:.1f} ms per s of audio"
    )
    for threshold in args.thresholds:
        false = events(talk_scores, threshold)
        hits = events(wake_scores, threshold)
        print(
            f"threshold {threshold:.2f}: false wakes {false} ({false / hours:.1f} per hour of talk), "
            f"wake phrase heard {hits}/{len(COMMANDS) * len(args.voices)}"
        )
        fired = Counter(woke_on(talk_scores, threshold, spans))
        print("    on: " + "; ".join(f"{text!r} ×{n}" for text, n in fired.most_common()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
