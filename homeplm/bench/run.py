"""`homeplm bench`: real models, spoken commands, figures per stage (not pass/fail)."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from homeplm import assistant
from homeplm.bench import asr as bench_asr
from homeplm.bench import brain as bench_brain
from homeplm.bench.phrases import HOUSEHOLD_COMMANDS, INTENT_COMMANDS, noise, speak
from homeplm.config.schema import Settings
from homeplm.core.audio import CHUNK_SAMPLES, SAMPLE_RATE
from homeplm.core.events import EventRecorder, EventType, ReplyEnd
from homeplm.core.stages import inner_wake
from homeplm.voice.listener import Listener
from homeplm.voice.wavio import ArraySource, NullSink


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return float(np.percentile(np.asarray(values), q))


def measure_wake_cpu(wake: Any, audio: np.ndarray) -> float:
    """CPU time per second of audio spent listening for the wake word, as % of one core."""
    chunks = audio[: len(audio) // CHUNK_SAMPLES * CHUNK_SAMPLES].reshape(-1, CHUNK_SAMPLES)
    start = time.thread_time()
    for chunk in chunks:
        wake.process(chunk)
    return (time.thread_time() - start) / (len(chunks) * CHUNK_SAMPLES / SAMPLE_RATE) * 100


def wake_cpu_figures(wake: Any, tts: Any, seconds: float) -> dict[str, float]:
    """Idle (a quiet room's noise floor) and busy (talk all the time), gated and, as the baseline
    in the same process, the wake word model on every chunk."""
    quiet = noise(seconds, dbfs=-55.0)
    talk = np.concatenate([speak(tts, t, lead_s=0.1, tail_s=0.1) for t in HOUSEHOLD_COMMANDS])
    talk = np.resize(talk, len(quiet))
    inner = inner_wake(wake)  # the model itself, without the VAD gate
    return {
        "wake_idle_cpu_percent": measure_wake_cpu(wake, quiet),
        "wake_idle_ungated_cpu_percent": measure_wake_cpu(inner, quiet),
        "wake_talk_cpu_percent": measure_wake_cpu(wake, talk),
    }


def longest_pauses(vad: Any, tts: Any, threshold: float) -> list[int]:
    """Longest pause inside each spoken command (ms, 80 ms steps): what `vad.silence_s` must bridge."""
    pauses = []
    for text in HOUSEHOLD_COMMANDS:
        audio = speak(tts, f"Hey Jarvis, {text}")
        vad.reset()
        flags = [
            vad.speech_probability(c) >= threshold
            for c in audio[: len(audio) // CHUNK_SAMPLES * CHUNK_SAMPLES].reshape(-1, CHUNK_SAMPLES)
        ]
        speech = [i for i, f in enumerate(flags) if f]
        longest = run = 0
        for flag in flags[speech[0] : speech[-1] + 1] if speech else []:
            run = 0 if flag else run + 1
            longest = max(longest, run)
        pauses.append(longest * CHUNK_SAMPLES * 1000 // SAMPLE_RATE)
    return pauses


def measure_cold_start(config_path: Path | None) -> float:
    """Wall time from a new process to READY (imports and every model load included)."""
    cmd = [sys.executable, "-m", "homeplm.bench.run", "--cold-start"]
    if config_path is not None:
        cmd.append(str(config_path))
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return (time.perf_counter() - start) * 1000


def turn_latencies(recorder: EventRecorder) -> dict[str, list[float]]:
    """Per spoken turn: speech end → transcript, → first reply token, → first audio out."""
    by_run: dict[int, dict[EventType, float]] = defaultdict(dict)
    for event in recorder.events:
        by_run[event.run_id].setdefault(event.type, event.timestamp_ms)
    routes = {e.run_id: str(e.data.route) for e in recorder.events if isinstance(e.data, ReplyEnd)}
    figures: dict[str, list[float]] = defaultdict(list)
    for run_id, marks in by_run.items():
        end = marks.get(EventType.SPEECH_END)
        if end is None:
            continue
        group = "intent" if routes.get(run_id, "").startswith("intent:") else "llm"
        for name, kind in (
            ("transcript", EventType.TRANSCRIPT),
            ("first_token", EventType.REPLY_DELTA),
            ("first_audio", EventType.AUDIO_OUT),
        ):
            if kind in marks:
                figures[f"{group}_{name}"].append(marks[kind] - end)
    return figures


async def spoken_turns(
    settings: Settings, loaded: assistant.LoadedParts, commands: Sequence[str]
) -> tuple[EventRecorder, int, float]:
    recorder = EventRecorder()
    pipeline = assistant.build_pipeline(settings, loaded, recorder, NullSink(settings.output.sample_rate))
    listener = Listener(pipeline, loaded.parts["wake"], recorder)
    tts = loaded.parts["tts"]
    direct_ms: list[float] = []
    for text in commands:
        audio = speak(tts, f"Hey Jarvis, {text}")
        # Each command is a new conversation, as when someone asks in passing.
        if pipeline.parts.brain is not None:
            pipeline.parts.brain.new_conversation()
        await listener.run(ArraySource(audio, realtime=True))
        # Baseline in the same process: the recogniser alone on the same speech.
        start = time.perf_counter()
        loaded.parts["stt"].transcribe(audio[SAMPLE_RATE // 2 : -SAMPLE_RATE])
        direct_ms.append((time.perf_counter() - start) * 1000)
    heard = sum(1 for t in listener.turns if t.transcript)
    return recorder, heard, statistics.median(direct_ms)


def children_peak_rss_mb() -> float:
    """Peak RSS (VmHWM) of this process's live children, in MB."""
    me, total = str(os.getpid()), 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[1] != me:  # the parent pid
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, IndexError):
            continue
        total += next(
            (int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM")), 0
        )
    return total


def render(figures: dict[str, Any]) -> str:
    rows = [
        ("LLM answer: end of speech → transcript", "llm_transcript", ""),
        ("LLM answer: end of speech → first reply token", "llm_first_token", ""),
        ("LLM answer: end of speech → first audio out", "llm_first_audio", "≤ 1500 ms (p50)"),
        ("fast intent: end of speech → first audio out", "intent_first_audio", "≤ 800 ms (p50)"),
        ("fast intent: matching the text", "intent_match", "≤ 10 ms"),
        ("memory retrieval, 1k items", "retrieval_1k", ""),
        ("memory retrieval, 50k items", "retrieval_50k", "≤ 50 ms"),
    ]
    lines = ["| metric | p50 | p95 | target |", "| --- | --- | --- | --- |"]
    for label, key, target in rows:
        if f"{key}_p50_ms" not in figures:
            continue
        p50, p95 = figures[f"{key}_p50_ms"], figures[f"{key}_p95_ms"]
        lines.append(f"| {label} | {p50:.1f} ms | {p95:.1f} ms | {target} |")
    lines.append(
        f"| LLM time to first token, cold / warm prompt cache | {figures['ttft_cold_ms']:.0f} / "
        f"{figures['ttft_warm_ms']:.0f} ms | | |"
    )
    lines.append(
        f"| LLM reply speed (llama.cpp {figures['llama_build']}) | "
        f"{figures['llm_tokens_per_s']:.0f} tokens/s | | |"
    )
    lines += [
        f"| wake word CPU, idle listening | {figures['wake_idle_cpu_percent']:.1f} % of one core | | ≤ 5 % |",
        "| wake word CPU, idle, without the VAD gate (baseline) | "
        f"{figures['wake_idle_ungated_cpu_percent']:.1f} % of one core | | |",
        "| wake word CPU, someone talking all the time | "
        f"{figures['wake_talk_cpu_percent']:.1f} % of one core | | |",
        f"| longest pause inside a spoken command | {figures['longest_pause_in_command_ms']} ms | | "
        f"< vad.silence_s = {figures['silence_s'] * 1000:.0f} ms |",
        f"| peak RSS of the assistant (all models, memory, every turn) | {figures['peak_rss_mb']:.0f} MB | "
        "| ≤ 1200 MB |",
        f"| peak RSS of the benchmark (and its 50k store) | {figures['bench_peak_rss_mb']:.0f} MB | | |",
        f"| cold start to ready (new process) | {figures['cold_start_ms'] / 1000:.1f} s | | |",
        *_accuracy_rows(figures.get("device_command_accuracy") or {}),
        f"| model load in process (parallel) | {figures['load_ms_total'] / 1000:.1f} s | | |",
    ]
    return "\n".join(lines)


async def run_bench(settings: Settings, config_path: Path | None, quick: bool, json_path: str | None) -> int:
    llm_commands = HOUSEHOLD_COMMANDS[: 10 if quick else len(HOUSEHOLD_COMMANDS)]
    commands = (*llm_commands, *INTENT_COMMANDS[: 5 if quick else len(INTENT_COMMANDS)])
    count = len(commands)
    cold_ms = measure_cold_start(config_path)
    # The household's own memory is not touched: the benchmark keeps its memory in a temporary dir.
    scratch = tempfile.TemporaryDirectory(prefix="homeplm-bench-")
    settings = replace(settings, paths=replace(settings.paths, state_dir=scratch.name))
    loaded = await assistant.load_parts(settings, assistant.PART_NAMES)
    wake_cpu = wake_cpu_figures(loaded.parts["wake"], loaded.parts["tts"], 10.0 if quick else 30.0)
    pauses = longest_pauses(loaded.parts["vad"], loaded.parts["tts"], settings.vad.threshold)
    recorder, heard, direct_stt_ms = await spoken_turns(settings, loaded, commands)
    # The memory store runs in a child process (memory/isolated.py): its peak counts too.
    assistant_rss_mb = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 + children_peak_rss_mb()
    )
    lat = turn_latencies(recorder)
    lat["intent_match"] = bench_brain.intent_match_ms()
    accuracy = bench_asr.bias_accuracy(loaded.parts["stt"]) or {}
    for size, times in bench_brain.retrieval_ms(settings, (1000,) if quick else (1000, 50000)).items():
        lat[f"retrieval_{size // 1000}k"] = times
    from homeplm.brain.llm_route import build_system_prompt

    ttft = bench_brain.first_token_ms(loaded.parts["llm"], build_system_prompt(settings.assistant))
    tokens_per_s = bench_brain.decode_tokens_per_s(
        loaded.parts["llm"], build_system_prompt(settings.assistant)
    )
    if loaded.parts.get("memory") is not None:
        loaded.parts["memory"].close()
    scratch.cleanup()
    figures: dict[str, Any] = {
        "machine": _machine(),
        "commands": count,
        "turns_heard": heard,
        "cold_start_ms": round(cold_ms),
        "load_ms": loaded.load_ms,
        "load_ms_total": round(max(loaded.load_ms.values())),
        **{key: round(value, 2) for key, value in wake_cpu.items()},
        "longest_pause_in_command_ms": max(pauses),
        "silence_s": settings.vad.silence_s,
        # The assistant: every model and the memory loaded, all spoken turns answered.
        "peak_rss_mb": assistant_rss_mb,
        # The whole benchmark process, building a 50k-item memory store included.
        "bench_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "direct_stt_p50_ms": round(direct_stt_ms),
        "ttft_cold_ms": round(ttft["cold"]),
        "ttft_warm_ms": round(ttft["warm"]),
        "llm_tokens_per_s": round(tokens_per_s, 1),
        "llama_build": bench_brain.llama_build(),
        "device_command_accuracy": accuracy,
        "llm_turns": len(lat.get("llm_first_audio", [])),
        "intent_turns": len(lat.get("intent_first_audio", [])),
    }
    for key, values in lat.items():
        figures[f"{key}_p50_ms"] = round(percentile(values, 50), 1)
        figures[f"{key}_p95_ms"] = round(percentile(values, 95), 1)
    figures["transcript_vs_direct_stt_ratio"] = round(
        figures.get("llm_transcript_p50_ms", 0) / max(direct_stt_ms, 1), 2
    )
    print(f"homeplm bench — {figures['machine']}")
    print(
        f"{count} spoken commands, {heard} heard and answered ({figures['llm_turns']} by the LLM with audio, "
        f"{figures['intent_turns']} by fast intents with audio); model load {loaded.load_ms} ms\n"
    )
    print(render(figures))
    print(
        f"\nbaseline in the same process: recogniser alone p50 {direct_stt_ms:.0f} ms; "
        "pipeline end of speech → transcript / recogniser alone = "
        f"{figures['transcript_vs_direct_stt_ratio']}"
    )
    if json_path:
        Path(json_path).write_text(json.dumps(figures, indent=2))
    return 0 if heard == count else 1


def _accuracy_rows(accuracy: dict[str, float]) -> list[str]:
    if not accuracy:
        return []
    return [
        "| device commands (espeak-ng voice) with the device name heard right, "
        f"plain / biased with the house's names | {accuracy['plain']:.0%} / {accuracy['biased']:.0%} | | |"
    ]


def _machine() -> str:
    return f"{platform.machine()}, {_cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _cold_start_main(argv: list[str]) -> None:
    from homeplm.config import load_settings

    settings = load_settings(argv[0] if argv else None)
    asyncio.run(assistant.load_parts(settings, assistant.PART_NAMES))


if __name__ == "__main__" and sys.argv[1:2] == ["--cold-start"]:
    _cold_start_main(sys.argv[2:])
