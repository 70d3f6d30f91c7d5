"""Echo cancellation, measured on a real echo path without sound hardware.

    python -m homeplm.bench.echo

A private PulseAudio (its own runtime dir and socket; killed at the end) with a null sink "room":
homeplm's own speaker sink plays the shipped piper voice into it through PortAudio's ALSA "pulse"
device while homeplm's own microphone source records its monitor ("room.monitor": what a
microphone there hears) — real device buffers, clocks and resampling, but no loudspeaker and no
room (a null sink is a pure delay; a synthetic room is added afterwards for a second figure). A
child process logs the sink's reference hook and each microphone chunk with their clock times;
they are replayed through `EchoCanceller` on the same clock, once per setting: ERLE (microphone
over cleaned power while only homeplm speaks, from 1 s in), the device delay (cross-correlation),
ERLE by `delay_ms`, CPU per 80 ms chunk. Double talk: an espeak-ng "hey jarvis, stop" mixed into
the recording afterwards (deterministic) at 8 places and 3 levels, and once live (paplay into the
room during a second run): is the wake word heard in the raw and in the cleaned signal?
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from homeplm.core.audio import CHUNK_SAMPLES, SAMPLE_RATE
from homeplm.voice.echo import EARLY_MS, EchoCanceller

SENTENCES = (
    "Good morning. It is seven degrees outside with light rain until about eleven, and then the sky "
    "clears for a dry and fairly bright afternoon.",
    "Your first meeting is at half past nine, the bins go out tonight, and the washing machine "
    "finished its cycle twenty minutes ago.",
    "I have turned the heating up to twenty one degrees in the living room and switched on the "
    "lights in the hall and the kitchen.",
)
NEAR_TEXT = "hey jarvis, stop"
CONVERGED_S = 1.0  # ERLE counts from this long after the far-end starts
WAKE_THRESHOLD = 0.35  # wake.threshold's default
AEC_LAG = 128  # WebRTC's AEC3 hands each sample back 8 ms later


@contextmanager
def pulse_room() -> Iterator[dict[str, str]]:
    """A private pulseaudio in the foreground with a null sink "room"; yields the clients' env."""
    folder = Path(tempfile.mkdtemp(prefix="homeplm-pa-"))  # short: the socket path must fit
    runtime, home = folder / "run", folder / "home"
    for path in (runtime, home):
        path.mkdir(mode=0o700)
    (folder / "client.conf").write_text("autospawn = no\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env.update(XDG_RUNTIME_DIR=str(runtime), PULSE_RUNTIME_PATH=str(runtime), PULSE_STATE_PATH=str(home))
    env.update(PULSE_SERVER=f"unix:{runtime / 'native'}", PULSE_COOKIE=str(folder / "cookie"))
    env.update(PULSE_CLIENTCONFIG=str(folder / "client.conf"))
    daemon_env = {**env, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    del daemon_env["PULSE_SERVER"]
    args = ["-n", "--daemonize=no", "--system=no", "--exit-idle-time=-1", "--realtime=no"]
    args += ["--high-priority=no", "--no-cpu-limit", "--disable-shm", "--log-target=stderr"]
    args += [f"--load=module-native-protocol-unix auth-anonymous=1 socket={runtime / 'native'}"]
    args += ["--load=module-null-sink sink_name=room rate=48000"]
    log = folder / "pulseaudio.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["pulseaudio", *args], env=daemon_env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 15
        while True:
            info = subprocess.run(["pactl", "info"], env=env, capture_output=True, text=True)
            if info.returncode == 0 and "Default Sink: room" in info.stdout:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pulseaudio did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.1)
        yield {**env, "PULSE_SOURCE": "room.monitor"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        shutil.rmtree(folder, ignore_errors=True)


# -- the live run (a child process inside the room's env: PortAudio sees only that server) -----------


async def _record(
    speech: np.ndarray, rate: int, near: str | None, near_at_s: float, stop_at_s: float | None = None
) -> dict[str, Any]:
    from homeplm.backends.sounddevice_audio import MicSource, SpeakerSink
    from homeplm.config.schema import InputSettings, OutputSettings

    mic = MicSource(InputSettings(device="pulse"))
    sink = SpeakerSink(OutputSettings(device="pulse", sample_rate=rate))
    plays: list[tuple[float, np.ndarray, int]] = []
    sink.reference = lambda block, r: plays.append((time.monotonic(), block.copy(), r))
    chunks: list[tuple[float, np.ndarray]] = []

    async def listen() -> None:
        async for chunk in mic.chunks():
            chunks.append((time.monotonic(), chunk))

    listening = asyncio.create_task(listen())
    await asyncio.sleep(3.0)  # the pulse device's first block takes up to ~2 s to come
    await sink.play(speech)
    paplay, stopped = None, 0.0
    if near is not None:
        await asyncio.sleep(near_at_s)
        paplay = subprocess.Popen(["paplay", "--device=room", near])
    if stop_at_s is not None:
        await asyncio.sleep(stop_at_s)
        stopped = time.monotonic()
        sink.stop()  # as a barge-in does
    await sink.drain()
    await asyncio.sleep(1.0)
    if paplay is not None:
        paplay.wait(timeout=30)
    await mic.close()
    await sink.close()
    listening.cancel()
    await asyncio.gather(listening, return_exceptions=True)
    return {
        "mic_t": np.array([t for t, _ in chunks]),
        "mic": np.stack([c for _, c in chunks]),
        "play_t": np.array([t for t, _, _ in plays]),
        "play_n": np.array([len(b) for _, b, _ in plays]),
        "play": np.concatenate([b for _, b, _ in plays]),
        "rate": np.array(plays[0][2]),
        "stopped": np.array(stopped),
    }


def _child(args: argparse.Namespace) -> int:
    with np.load(args.record) as given:
        speech, rate = given["speech"], int(given["rate"])
    np.savez(args.record, **asyncio.run(_record(speech, rate, args.near, args.near_at, args.stop_at)))
    return 0


@dataclass(slots=True)
class Recording:
    mic_t: np.ndarray
    mic: np.ndarray  # (chunks, 1280) int16
    plays: list[tuple[float, np.ndarray, int]]
    stopped: float = 0.0  # when the sink was told to stop (clock time), 0 when it was not


def record(
    env: dict[str, str],
    speech: np.ndarray,
    rate: int,
    near: Path | None = None,
    near_at_s: float = 0.0,
    stop_at_s: float | None = None,
) -> Recording:
    """Plays `speech` (int16 at `rate`) into the room with homeplm's sink while its microphone records
    (`near` played into the room too, `near_at_s` in; the sink stopped `stop_at_s` in)."""
    with tempfile.TemporaryDirectory(prefix="homeplm-echo-") as tmp:
        path = Path(tmp) / "run.npz"
        np.savez(path, speech=speech, rate=np.array(rate))
        command = [sys.executable, "-m", "homeplm.bench.echo", "--record", str(path)]
        if near is not None:
            command += ["--near", str(near), "--near-at", str(near_at_s)]
        if stop_at_s is not None:
            command += ["--stop-at", str(stop_at_s)]
        subprocess.run(command, env=env, check=True, timeout=120 + len(speech) / rate)
        with np.load(path) as data:
            bounds = np.cumsum(data["play_n"])[:-1]
            blocks = np.split(data["play"], bounds)
            plays = [(float(t), b, int(data["rate"])) for t, b in zip(data["play_t"], blocks, strict=True)]
            return Recording(data["mic_t"], data["mic"], plays, float(data["stopped"]))


# -- offline: the same events through the canceller --------------------------------------------------


@dataclass(slots=True)
class Replayed:
    mic: np.ndarray
    out: np.ndarray
    far: np.ndarray  # the far-end the canceller fed with each sample
    cpu_ms: float  # process time per 80 ms chunk
    linear: np.ndarray  # the linear filter's output (the echo subtracted, no suppressor)
    linear_erle: np.ndarray  # per chunk: the canceller's linear_erle_db after it (nan: none)


def replay(rec: Recording, mic: np.ndarray | None = None, delay_ms: int = 0, **options: Any) -> Replayed:
    """The logged run through an EchoCanceller on the logged clock (`mic` in place of the recording)."""
    mic = rec.mic.reshape(-1) if mic is None else mic
    now = [0.0]
    canceller = EchoCanceller(delay_ms, clock=lambda: now[0], **options)
    outs, fars, linears, erles, cpu = [], [], [], [], 0.0
    plays = iter(rec.plays)
    pending = next(plays, None)
    for i, t in enumerate(rec.mic_t):
        while pending is not None and pending[0] <= t:
            now[0] = pending[0]
            canceller.played(pending[1], pending[2])
            pending = next(plays, None)
        now[0] = float(t)
        started = time.process_time()
        outs.append(canceller.process(mic[i * CHUNK_SAMPLES : (i + 1) * CHUNK_SAMPLES]))
        cpu += time.process_time() - started
        fars.append(canceller.last_far)
        linears.append(outs[-1] if canceller.last_linear is None else canceller.last_linear)
        erle = canceller.linear_erle_db
        erles.append(np.nan if erle is None else erle)
    return Replayed(
        mic,
        np.concatenate(outs),
        np.concatenate(fars),
        cpu * 1000 / len(rec.mic_t),
        np.concatenate(linears),
        np.array(erles),
    )


def power(audio: np.ndarray) -> float:
    return float(np.mean(audio.astype(np.float64) ** 2)) + 1e-9


def far_span(far: np.ndarray) -> tuple[int, int]:
    """First and last sample of the far-end (the speech, as it lies on the microphone's timeline)."""
    active = np.flatnonzero(np.abs(far) > 64)
    return (int(active[0]), int(active[-1])) if active.size else (0, 0)


def erle_db(run: Replayed, skip_s: float = CONVERGED_S) -> float:
    """Microphone over cleaned power while the far-end plays, from `skip_s` after it starts."""
    start, end = far_span(run.far)
    keep = slice(start + int(skip_s * SAMPLE_RATE), end)
    return 10 * np.log10(power(run.mic[keep]) / power(run.out[keep]))


def lag_ms(far: np.ndarray, mic: np.ndarray) -> float:
    """How long after the far-end the microphone hears it (cross-correlation peak)."""
    n = 1 << int(np.ceil(np.log2(len(far) + len(mic))))
    spectrum = np.fft.rfft(mic.astype(np.float64), n) * np.conj(np.fft.rfft(far.astype(np.float64), n))
    corr = np.fft.irfft(spectrum, n)
    corr = np.concatenate((corr[-SAMPLE_RATE:], corr[: SAMPLE_RATE + 1]))  # lags of -1 s … +1 s
    return (int(np.argmax(np.abs(corr))) - SAMPLE_RATE) * 1000 / SAMPLE_RATE


def wake_score(audio: np.ndarray) -> float:
    from homeplm.bench.false_wake import chunk_scores

    return float(chunk_scores(audio).max())


def near_kept(out: np.ndarray, near: np.ndarray, lag: int = AEC_LAG) -> tuple[float, float]:
    """The near-end's level in the cleaned signal (dB, over its own) and their correlation (the
    cleaned signal taken `lag` samples on: WebRTC's own delay)."""
    shifted = np.concatenate((out[lag:], np.zeros(lag)))
    corr = float(np.dot(shifted, near) / np.sqrt(np.dot(shifted, shifted) * np.dot(near, near) + 1e-9))
    return 10 * np.log10(power(out) / power(near)), corr


def double_talk(
    rec: Recording, base: Replayed, near: np.ndarray, ser_db: float, places: int = 8
) -> list[float]:
    """The words mixed into the recording afterwards at `places` places in the speech, `ser_db`
    over the echo there: wake heard raw, cleaned, either (counts); the near-end's level in the
    cleaned (dB) and their correlation (medians)."""
    start, end = far_span(base.far)
    hits, levels, corrs = np.zeros(3), [], []
    for at in np.linspace(start + SAMPLE_RATE, end - len(near) - SAMPLE_RATE, places).astype(int):
        window = slice(at, at + len(near))
        scale = np.sqrt(power(base.mic[window]) / power(near)) * 10 ** (ser_db / 20)
        track = np.zeros(len(base.mic))
        track[window] = near * scale
        mixed = np.clip(base.mic + track, -32768, 32767).astype(np.int16)
        out = replay(rec, mixed).out
        level, corr = near_kept(out[window].astype(np.float64), track[window])
        levels.append(level)
        corrs.append(corr)
        around = slice(at - 2 * SAMPLE_RATE, at + len(near) + SAMPLE_RATE)  # the detector warms up
        raw, cleaned = wake_score(mixed[around]) >= WAKE_THRESHOLD, wake_score(out[around]) >= WAKE_THRESHOLD
        hits += (raw, cleaned, raw or cleaned)
    return [*hits, float(np.median(levels)), float(np.median(corrs))]


def with_room(mic: np.ndarray, seed: int = 5) -> np.ndarray:
    """A synthetic room on top of the recording: ~0.3 s of reverberation, -55 dBFS of noise."""
    rng = np.random.default_rng(seed)
    response = np.exp(-np.arange(4800) / 800.0) * rng.normal(size=4800) * 0.15
    response[0] = 1.0
    roomy = np.convolve(mic.astype(np.float64), response)[: len(mic)] * 0.5
    roomy += rng.normal(0, 32768 * 10 ** (-55 / 20), len(roomy))
    return np.clip(roomy, -32768, 32767).astype(np.int16)


# -- the report ---------------------------------------------------------------------------------------


def report(rec: Recording, live: Recording, near: np.ndarray) -> None:
    base = replay(rec)
    lag = lag_ms(base.far, base.mic)
    print(f"at delay_ms 0 the far-end leads its echo by {lag:.1f} ms (cross-correlation; EARLY_MS "
          f"{EARLY_MS} of it by design): device delay (hand-over → mic) {lag - EARLY_MS:.1f} ms")  # fmt: skip
    sweep = {d: erle_db(replay(rec, delay_ms=d)) for d in range(0, max(0, int(lag)) + 30, 5)}
    print("ERLE by delay_ms: " + ", ".join(f"{d}: {e:.0f}" for d, e in sweep.items()) + " dB")
    mic = base.mic
    later = {ms: erle_db(replay(rec, np.concatenate((np.zeros(ms * 16, np.int16), mic))[: len(mic)]), 2.0)
             for ms in (100, 200, 300, 400, 500, 600)}  # fmt: skip
    print("a slower device, delay_ms 0: " + ", ".join(f"+{d} ms: {e:.0f}" for d, e in later.items()) + " dB")
    roomy = with_room(mic)
    settings: dict[str, dict[str, Any]] = {
        "AEC": {},
        "AEC + NS 2": {"noise_level": 2},
        "AEC + NS 2 + AGC": {"noise_level": 2, "auto_gain": True},
    }
    for name, options in settings.items():
        runs = [replay(rec, **options) for _ in range(3)]
        cpu = min(r.cpu_ms for r in runs)
        roomy_erle = erle_db(replay(rec, roomy, **options))
        print(f"{name}: ERLE {erle_db(runs[0]):.1f} dB (with a room: {roomy_erle:.1f}), "
              f"CPU {cpu:.2f} ms per 80 ms chunk ({cpu / 80 * 100:.2f} % of one core)")  # fmt: skip
    started = time.process_time()
    canceller = EchoCanceller()
    for _, block, rate in rec.plays:
        canceller.played(block, rate)
    seconds = sum(len(b) / r for _, b, r in rec.plays)
    print(f"played() (resampling to 16 kHz): {(time.process_time() - started) * 1000 / seconds:.2f} ms per s")
    print(f"double talk, '{NEAR_TEXT}' mixed in afterwards at 8 places (wake threshold {WAKE_THRESHOLD}):")
    for ser in (6, 0, -6):
        for name, rec_mic in (("null sink", None), ("with a room", roomy)):
            used = base if rec_mic is None else replay(rec, rec_mic)
            raw, cleaned, either, level, corr = double_talk(rec, used, near, ser)
            print(f"  {ser:+d} dB over the echo, {name}: wake heard raw {raw:.0f}/8, "
                  f"cleaned {cleaned:.0f}/8, either {either:.0f}/8; "
                  f"near-end in the cleaned {level:+.1f} dB, correlation {corr:.2f}")  # fmt: skip
    heard = replay(live)
    print(f"double talk, live (paplay into the room 5 s in, both at full scale): wake score raw "
          f"{wake_score(heard.mic):.2f}, cleaned {wake_score(heard.out):.2f}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--record", help=argparse.SUPPRESS)
    parser.add_argument("--near", help=argparse.SUPPRESS)
    parser.add_argument("--near-at", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--stop-at", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.record:
        return _child(args)
    if shutil.which("pulseaudio") is None or shutil.which("paplay") is None:
        print("needs pulseaudio and pulseaudio-utils (bash scripts/setup.sh --test installs them)")
        return 2
    from homeplm.backends.piper_tts import PiperTts
    from homeplm.bench.spoken_house import espeak
    from homeplm.config.schema import TtsSettings
    from homeplm.voice.wavio import write_wav

    tts = PiperTts(TtsSettings())
    speech = np.concatenate([tts.synthesize(s) for s in SENTENCES])
    with tempfile.TemporaryDirectory(prefix="homeplm-echo-") as tmp, pulse_room() as env:
        near = espeak(NEAR_TEXT, "en-us", 160, Path(tmp))
        write_wav(Path(tmp) / "near.wav", near, SAMPLE_RATE)
        rec = record(env, speech, tts.sample_rate)
        live = record(env, speech, tts.sample_rate, Path(tmp) / "near.wav", near_at_s=5.0)
    print(f"homeplm's speech: {len(speech) / tts.sample_rate:.1f} s at {tts.sample_rate} Hz")
    report(rec, live, near)
    return 0


if __name__ == "__main__":
    sys.exit(main())
