"""A burst of typed questions must not starve the voice loop, fast intents or the control socket."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import numpy as np

from homeplm.brain.llm_route import BUSY_REPLY, MAX_WAITING_TYPED
from homeplm.core import workers
from homeplm.voice.pipeline import Stage
from tests.fakes import SlowChat
from tests.fakes import make_pipeline as make


async def test_a_burst_of_typed_questions_is_bounded_and_the_rest_refused() -> None:
    chat = SlowChat(0.15)
    pipeline, recorder, *_ = make(chat=chat)
    results = await asyncio.gather(
        *(pipeline.run_text(f"tell me a story number {i}", Stage.BRAIN, source="mqtt") for i in range(20))
    )
    answered = [r for r in results if r.outcome == "ok"]
    refused = [r for r in results if r.error is not None and r.error.code == "busy"]
    assert len(answered) == MAX_WAITING_TYPED
    assert len(refused) == 20 - MAX_WAITING_TYPED
    assert refused[0].error is not None and refused[0].error.message == BUSY_REPLY
    assert chat.most_at_once == 1  # one model, one thread
    assert workers.worker("llm").waiting == 0


async def test_fast_intents_and_the_shared_pool_do_not_wait_behind_the_language_model() -> None:
    chat = SlowChat(1.0)
    pipeline, *_ = make(chat=chat)
    backlog = [
        asyncio.create_task(pipeline.run_text(f"story {i}", Stage.BRAIN, source="mqtt"))
        for i in range(MAX_WAITING_TYPED)
    ]
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    clock = await pipeline.run_text("what time is it", Stage.BRAIN, source="mqtt")
    intent_s = time.perf_counter() - started
    started = time.perf_counter()
    await asyncio.gather(*(asyncio.to_thread(time.sleep, 0.01) for _ in range(16)))
    pool_s = time.perf_counter() - started
    started = time.perf_counter()
    await workers.worker("stt").call(lambda: np.zeros(1).sum(), workers.VOICE)
    stt_s = time.perf_counter() - started
    await asyncio.gather(*backlog)
    print(
        f"\nwhile the LLM is busy: intent {intent_s * 1000:.1f} ms, 16 pool jobs {pool_s * 1000:.1f} ms, "
        f"stt job {stt_s * 1000:.1f} ms"
    )
    assert clock.outcome == "ok" and clock.reply and "It's" in clock.reply
    assert intent_s < 0.5 and pool_s < 0.5 and stt_s < 0.5  # the backlog is seconds long


async def test_spoken_turns_go_before_typed_ones_and_are_never_refused() -> None:
    order: list[str] = []
    worker = workers.ModelWorker("test")
    gate = threading.Event()

    async def job(name: str, priority: int) -> None:
        await worker.call(lambda: (gate.wait(2), order.append(name)), priority)

    first = asyncio.create_task(job("running", workers.TYPED))
    await asyncio.sleep(0.05)
    typed = [asyncio.create_task(job(f"typed{i}", workers.TYPED)) for i in range(3)]
    await asyncio.sleep(0.01)
    voice = asyncio.create_task(job("voice", workers.VOICE))
    await asyncio.sleep(0.01)
    gate.set()
    await asyncio.gather(first, *typed, voice)
    assert order == ["running", "voice", "typed0", "typed1", "typed2"]


async def test_a_stream_closed_early_stops_the_job_and_frees_the_worker() -> None:
    worker = workers.ModelWorker("test-stream")
    produced: list[int] = []

    def numbers() -> Iterator[int]:
        for i in range(1000):
            produced.append(i)
            time.sleep(0.001)
            yield i

    stream = worker.stream(numbers)
    async for item in stream:
        if item == 3:
            break
    await stream.aclose()
    await asyncio.sleep(0.05)
    assert len(produced) < 10
    assert await worker.call(lambda: "free") == "free"
    assert worker.waiting == 0


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS"))


async def test_speech_synthesis_memory_stays_flat(real_parts) -> None:
    """The daemon grew by ~500 MB over a long probe; piper's buffers (onnxruntime's arena, then
    glibc's heaps keeping what was freed) were ~200 MB of it. Sentences of every length, 200 times."""
    tts = real_parts.parts["tts"]
    words = [
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "the",
        "lazy",
        "dog",
        "and",
        "then",
        "some",
        "more",
        "words",
        "to",
        "say",
        "today",
    ]
    tts_worker = workers.worker("tts")
    await tts_worker.call(lambda: tts.synthesize("Hello there."))
    before = _rss_mb()
    peak = before
    for i in range(200):
        text = " ".join(words[: 3 + (i * 7) % 15]) + "."
        await tts_worker.call(lambda text=text: tts.synthesize(text))
        peak = max(peak, _rss_mb())
    await asyncio.sleep(workers.TRIM_AFTER_IDLE_S + 0.3)  # the worker trims once the model is idle
    after = _rss_mb()
    print(f"\nRSS around 200 sentences: before {before:.0f} MB, peak {peak:.0f} MB, after {after:.0f} MB")
    assert after - before < 50  # it was +130 MB and stayed there
