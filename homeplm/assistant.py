"""The composition root: loads the parts a command needs (in parallel threads) and wires them."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from homeplm.backends import factory
from homeplm.brain.router import Route, Router
from homeplm.config.schema import Settings
from homeplm.core import workers
from homeplm.core.events import EventCallback, PipelineEvent, Ready
from homeplm.core.stages import AudioSink
from homeplm.core.workers import worker
from homeplm.daemon.warmup import StartupMarks, run_once
from homeplm.voice.phrasecache import PhraseCache
from homeplm.voice.pipeline import Components, Pipeline

_LOGGER = logging.getLogger(__name__)

PART_NAMES = ("wake", "vad", "stt", "llm", "tts", "memory")


@dataclass(slots=True)
class LoadedParts:
    """The parts a command loaded, by role, with how long each took to load (ms)."""

    parts: dict[str, Any] = field(default_factory=dict)
    load_ms: dict[str, float] = field(default_factory=dict)


def _open_memory(settings: Settings) -> Any:
    from homeplm.memory.service import open_memory

    return open_memory(settings) if settings.memory.enabled else None


_LOADERS: dict[str, Callable[[Settings], Any]] = {
    "wake": factory.make_wake,
    "vad": factory.make_vad,
    "stt": factory.make_stt,
    "llm": factory.make_chat_model,
    "tts": factory.make_tts,
    "memory": _open_memory,
}


async def load_parts(
    settings: Settings, names: tuple[str, ...], marks: StartupMarks | None = None
) -> LoadedParts:
    """Load models concurrently in worker threads; the first failure is raised.

    With `marks` (the daemon), each part is also run once right after loading, marked in the state
    directory meanwhile, so a native crash happens at start-up and the next start can name the part.
    """

    def timed(name: str) -> tuple[str, Any, float]:
        start = time.perf_counter()
        if marks is None:
            part = _LOADERS[name](settings)
        else:
            with marks.loading(name):
                part = _LOADERS[name](settings)
                run_once(name, part)
        return name, part, (time.perf_counter() - start) * 1000

    loaded = LoadedParts()
    results = await asyncio.gather(*(asyncio.to_thread(timed, n) for n in names))
    for name, part, ms in results:
        loaded.parts[name] = part
        loaded.load_ms[name] = round(ms, 1)
    return loaded


def fixed_replies() -> tuple[str, ...]:
    """Replies said word for word: rendered once at start-up, then played at once."""
    from homeplm.brain.expert import UNREACHABLE_NOTE
    from homeplm.brain.intents.control_intents import NOTHING_SAID
    from homeplm.memory.voice import FIXED_REPLIES

    return (*FIXED_REPLIES, NOTHING_SAID, UNREACHABLE_NOTE.strip())


@dataclass(slots=True)
class PlugIns:
    """What other parts add when the pipeline is built (the house over MQTT does): intent handlers
    after the built-in ones, and the words that bias speech recognition."""

    intents: list[Any] = field(default_factory=list)
    asr_prompt: Callable[[], str | None] | None = None
    # The house's commands nearest to a heard one that names nothing it has (voice/recheck.py).
    asr_candidates: Callable[[str], list[str]] | None = None
    # Routes between the fast intents and the language model, made once the model is loaded:
    # factory(settings, chat) → a Route or None (the house's free phrasing).
    routes: list[Callable[[Settings, Any], Any]] = field(default_factory=list)


def build_brain(
    settings: Settings,
    chat: Any,
    memory: Any,
    intents: Sequence[Any] = (),
    route_factories: Sequence[Callable[[Settings, Any], Any]] = (),
) -> Router:
    """The ordered routes: fast intents (built-in, then the plug-ins'), questions about the household
    (told facts or "I don't know"), the plug-ins' routes (free
    phrasing about the house), the expert (only if configured), the local LLM."""
    from homeplm.brain.household import HouseholdRoute
    from homeplm.brain.intents.router import make_builtin_intents
    from homeplm.brain.llm_route import LlmChatRoute
    from homeplm.memory.voice import VoiceMemory

    local = LlmChatRoute(chat, settings.llm, settings.assistant, memory=memory)
    fast = make_builtin_intents(VoiceMemory(memory) if memory is not None else None)
    for handler in intents:
        fast.register(handler)
    routes: list[Route] = [fast, HouseholdRoute(memory)]
    routes += [route for make in route_factories if (route := make(settings, chat)) is not None]
    if settings.expert.url:
        from homeplm.brain.expert import ExpertClient, ExpertRoute

        routes.append(ExpertRoute(ExpertClient(settings.expert), settings.expert, local))
    routes.append(local)
    return Router(routes, memory=memory, max_sentences=settings.assistant.max_sentences)


def shared_vad(parts: dict[str, Any]) -> Any:
    """The wake gate's VAD when there is one, so each chunk is scored once on one model state."""
    from homeplm.voice.wakegate import ScoredVad, VadGatedWake

    wake = parts.get("wake")
    if "vad" in parts and isinstance(wake, VadGatedWake) and isinstance(wake.vad, ScoredVad):
        return wake.vad
    return parts.get("vad")


def build_pipeline(
    settings: Settings,
    loaded: LoadedParts,
    emit: EventCallback,
    sink: AudioSink | None,
    plugins: PlugIns | None = None,
) -> Pipeline:
    parts = loaded.parts
    plugins = plugins or PlugIns()
    brain = None
    if "llm" in parts:
        brain = build_brain(settings, parts["llm"], parts.get("memory"), plugins.intents, plugins.routes)
    tts = PhraseCache(parts["tts"]) if "tts" in parts else None
    components = Components(vad=shared_vad(parts), stt=parts.get("stt"), brain=brain, tts=tts)
    return Pipeline(components, settings, emit, sink, plugins.asr_prompt, plugins.asr_candidates)


async def shutdown(pipeline: Pipeline | None, parts: dict[str, Any]) -> None:
    """Let background memory writes finish, then close the memory (it holds a lock)."""
    brain = pipeline.parts.brain if pipeline is not None else None
    if isinstance(brain, Router):
        await brain.flush()
    if (memory := parts.get("memory")) is not None:
        memory.close()
    await asyncio.to_thread(workers.stop_all)


async def start(
    settings: Settings,
    names: tuple[str, ...],
    emit: EventCallback,
    sink: AudioSink | None,
    marks: StartupMarks | None = None,
    plugins: PlugIns | None = None,
) -> tuple[Pipeline, dict[str, Any]]:
    """Load what is named, build the pipeline, and announce READY with the load times."""
    started = time.perf_counter()
    loaded = await load_parts(settings, names, marks)
    pipeline = build_pipeline(settings, loaded, emit, sink, plugins)
    ready_ms = round((time.perf_counter() - started) * 1000, 1)
    if isinstance(pipeline.parts.tts, PhraseCache):
        warm = functools.partial(pipeline.parts.tts.warm, fixed_replies())
        pipeline.in_background(worker("tts").call(warm))
    emit(PipelineEvent(Ready(loaded.load_ms, ready_ms)))
    return pipeline, loaded.parts
