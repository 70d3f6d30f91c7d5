"""How punctual the planner is: a timer's ring against its due time while the language model is busy,
and the CPU the scheduler costs with 20 timers and 20 reminders pending (against none, in the same
process). `python -m homeplm.bench.planner [--llm]`."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from homeplm.planner.scheduler import Scheduler
from homeplm.planner.store import Item, PlannerStore


class _Sink:
    """Notes when the ring tone is played (the ringer plays it first, before any speech)."""

    sample_rate = 16000

    def __init__(self) -> None:
        self.played: list[float] = []

    async def play(self, audio: Any) -> None:
        self.played.append(time.time())


async def ring_lateness(rounds: int, busy: Any = None) -> list[float]:
    """Milliseconds from each timer's due time to its ring tone; `busy()` runs meanwhile in a thread."""
    from homeplm.planner.ringer import Ringer

    late: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        store = PlannerStore(Path(folder) / "p.sqlite3")
        ringer = Ringer(timeout_s=0.1, gap_s=0.05)
        sink = _Sink()
        ringer.pipeline = type("P", (), {"sink": sink, "speak": staticmethod(_silent)})()
        scheduler = Scheduler(store, ringer.ring, ZoneInfo("UTC"))
        scheduler.start()
        stop = threading.Event()
        worker = threading.Thread(target=_loop, args=(busy, stop), daemon=True) if busy else None
        if worker is not None:
            worker.start()
        try:
            for round_ in range(rounds + 1):  # the first is a warm-up (imports, the tone's first render)
                due = time.time() + 0.7
                store.add(Item(0, "timer", name="bench", due=due, duration=0.7))
                before = len(sink.played)
                while len(sink.played) == before:
                    await asyncio.sleep(0.005)
                if round_:
                    late.append((sink.played[-1] - due) * 1000)
                await asyncio.sleep(0.2)
        finally:
            stop.set()
            await scheduler.stop()
            store.close()
    return late


async def _silent(text: str) -> None:
    return None


def _loop(work: Any, stop: threading.Event) -> None:
    while not stop.is_set():
        work()


async def idle_cpu(pending: int, seconds: float) -> float:
    """CPU of the event loop's thread (% of one core) while the scheduler waits with `pending`
    timers and reminders (the loop's thread: other threads of the benchmark do not count)."""
    with tempfile.TemporaryDirectory() as folder:
        store = PlannerStore(Path(folder) / "p.sqlite3")
        now = time.time()
        for i in range(pending):
            kind = "timer" if i % 2 else "reminder"
            store.add(Item(0, kind, name=f"t{i}", text=f"r{i}", due=now + 3600 + i * 60, duration=3600.0))

        async def ring(item: Item, late: float) -> None:
            return None

        scheduler = Scheduler(store, ring, ZoneInfo("UTC"))
        scheduler.start()
        start = time.thread_time()
        await asyncio.sleep(seconds)
        used = time.thread_time() - start
        await scheduler.stop()
        store.close()
    return used / seconds * 100


def _llm_turn() -> Any:
    from homeplm.backends.llama_chat import LlamaChat
    from homeplm.config.schema import LlmSettings
    from homeplm.core.stages import ChatMessage

    chat = LlamaChat(LlmSettings())
    messages = [ChatMessage("user", "Tell me a long story about a lighthouse keeper.")]
    return lambda: "".join(chat.stream_chat(messages, max_tokens=64))


def _spin() -> None:
    total = 0
    for i in range(200_000):
        total += i * i


async def main(with_llm: bool, rounds: int) -> None:
    base = await idle_cpu(0, 10.0)
    loaded = await idle_cpu(40, 10.0)
    quiet = await ring_lateness(rounds)
    busy = await ring_lateness(rounds, _llm_turn() if with_llm else _spin)
    what = "an LLM turn running" if with_llm else "a CPU-bound thread running"
    for label, values in (("idle", quiet), (what, busy)):
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        p50 = statistics.median(values)
        print(f"ring after due, {label}: p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {max(values):.0f} ms")
    ratio = loaded / max(base, 1e-6)
    print(f"loop CPU: none pending {base:.3f} %, 20 timers + 20 reminders {loaded:.3f} % (ratio {ratio:.2f})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--llm", action="store_true", help="load the real LLM for the busy case")
    parser.add_argument("--rounds", type=int, default=10)
    options = parser.parse_args()
    asyncio.run(main(options.llm, options.rounds))
