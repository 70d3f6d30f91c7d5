"""Plug-in points are handed to the pipeline when it is built: intents after the built-in ones, the
ASR bias; a custom sentence's event reaches its listener (Home Assistant's event entity)."""

from __future__ import annotations

from typing import Any

from homeplm.assistant import LoadedParts, PlugIns, build_pipeline
from homeplm.brain.intents.normalise import normalise
from homeplm.core.events import EventRecorder
from homeplm.house.sentences import SentenceIntents, SentenceRule
from homeplm.voice.pipeline import Stage
from homeplm.voice.wavio import NullSink
from tests.fakes import PIPELINE_SETTINGS as SETTINGS
from tests.fakes import FakeChat, FakeStt, FakeTts, FakeVad


async def test_plugin_intents_and_asr_bias_are_built_in() -> None:
    events: list[dict[str, Any]] = []
    rule = SentenceRule(
        (normalise("movie time"),), reply="Enjoy the film.", event="movie", data={"room": "den"}
    )
    plugins = PlugIns(
        intents=[SentenceIntents(None, [rule], on_event=events.append)], asr_prompt=lambda: "Den."
    )
    loaded = LoadedParts(parts={"vad": FakeVad(), "stt": FakeStt(), "llm": FakeChat(), "tts": FakeTts()})
    pipeline = build_pipeline(SETTINGS, loaded, EventRecorder(), NullSink(), plugins)
    result = await pipeline.run_text("movie time", Stage.BRAIN)
    assert result.reply == "Enjoy the film." and result.record["route"] == "intent:sentences.custom"
    assert events == [{"event": "movie", "room": "den"}]
    assert pipeline.asr_prompt() == "Den."
    clock = await pipeline.run_text("what time is it", Stage.BRAIN)  # built-ins still come first
    assert clock.record["route"] == "intent:time"
