"""Brain figures for `homeplm bench`: fast-intent matching, memory retrieval at scale, and the
LLM's time to first token with a cold and a warm prompt cache."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from homeplm.config.schema import Settings
from homeplm.core.stages import ChatMessage

INTENT_PHRASES = (
    "what time is it",
    "hey jarvis what's the time please",
    "what's today's date",
    "never mind",
    "say that again",
    "remember that the bins go out on monday",
    "what do you know about the bins",
    "forget what I said about the bins",
    "how far away is the moon",  # not an intent: the cost of saying no
    "could you tell me the time",
)
QUESTIONS = ("When do the bins go out?", "What is my sister's phone number?", "Who is the plumber?")


def timed_ms(fn: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def intent_match_ms() -> list[float]:
    from homeplm.brain.intents.router import make_builtin_intents

    route = make_builtin_intents()
    times: list[float] = []
    for phrase in INTENT_PHRASES:
        times += timed_ms(partial(route.match, phrase), 20)
    return times


class _RandomEmbedder:
    """Unit vectors for filling a store fast; retrieval cost does not depend on the content."""

    dim = 384

    def __init__(self, query: Any) -> None:
        self.query = query
        self.rng = np.random.default_rng(1)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 1:  # a query: the real model, so its cost is counted
            return np.asarray(self.query.embed(texts))
        vectors = self.rng.normal(size=(len(texts), self.dim)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def retrieval_ms(settings: Settings, sizes: Sequence[int]) -> dict[int, list[float]]:
    """HouseholdMemory.recall (MiniLM query embedding + chromadb search + ranking) at each size."""
    from homeplm.backends.chroma_store import ChromaStore
    from homeplm.backends.factory import make_embedder
    from homeplm.memory.service import HouseholdMemory
    from homeplm.memory.types import MemoryItem, MemoryKind

    embedder = _RandomEmbedder(make_embedder(settings))
    results: dict[int, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="homeplm-bench-") as tmp:
        store = ChromaStore(Path(tmp) / "memory", embedder, lock_path=Path(tmp) / "memory.lock")
        memory = HouseholdMemory(store, settings.memory)
        now, filled = time.time(), 0
        for size in sorted(sizes):
            while filled < size:
                batch = min(2000, size - filled)
                store.add(
                    [
                        MemoryItem(f"b{filled + i}", MemoryKind.FACT, f"note {filled + i}", now - i * 60)
                        for i in range(batch)
                    ]
                )
                filled += batch
            memory.recall(QUESTIONS[0])  # warm
            results[size] = []
            for question in QUESTIONS:
                results[size] += timed_ms(partial(memory.recall, question), 10)
        memory.close()
    return results


def first_token_ms(chat: Any, system_prompt: str) -> dict[str, float]:
    """Cold: the prompt cache emptied first. Warm: the byte-stable system prompt already evaluated."""

    def first(question: str) -> float:
        messages = [ChatMessage("system", system_prompt), ChatMessage("user", question)]
        start = time.perf_counter()
        for _ in chat.stream_chat(messages, max_tokens=4):
            break
        return (time.perf_counter() - start) * 1000

    cold, warm = [], []
    for question in QUESTIONS:
        chat.reset_cache()
        cold.append(first(question))
        warm.append(first(question + " Please be brief."))
    return {"cold": float(np.median(cold)), "warm": float(np.median(warm))}


def decode_tokens_per_s(chat: Any, system_prompt: str, tokens: int = 96, rounds: int = 3) -> float:
    """Tokens per second while replies stream (after each first token): all of QUESTIONS' tokens
    over all their time, the median of `rounds` rounds (single short replies are too noisy)."""
    rates = []
    for _ in range(rounds):
        count, seconds = 0, 0.0
        for question in QUESTIONS:
            messages = [
                ChatMessage("system", system_prompt),
                ChatMessage("user", question + " Tell me more."),
            ]
            first = None
            parts: list[str] = []
            for delta in chat.stream_chat(messages, max_tokens=tokens):
                if first is None:
                    first = time.perf_counter()
                else:
                    parts.append(delta)
            if first is not None and parts:
                count += chat.count_tokens("".join(parts))
                seconds += time.perf_counter() - first
        if seconds > 0:
            rates.append(count / seconds)
    return float(np.median(rates)) if rates else 0.0


def llama_build() -> str:
    """How llama.cpp was built: setup's record and the compiled-in CPU features."""
    from homeplm.backends.llama_chat import system_info
    from homeplm.cli.doctor_native import build_record, compiled_features

    features = compiled_features(system_info())
    simd = [f for f in features if f not in ("LLAMAFILE", "OPENMP", "REPACK")]
    return f"{build_record().get('build', 'unrecorded')} ({' '.join(simd)})"
