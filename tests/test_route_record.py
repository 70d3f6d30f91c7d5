"""The route record travels with the turn: concurrent turns never read each other's record."""

from __future__ import annotations

import asyncio

from homeplm.brain.explain import TurnTimer, explain
from homeplm.core.events import EventType
from homeplm.voice.pipeline import Stage
from tests.fakes import SlowChat
from tests.fakes import make_pipeline as make


async def test_concurrent_turns_keep_their_own_route_record() -> None:
    pipeline, recorder, *_ = make(chat=SlowChat(0.2))
    story, clock = await asyncio.gather(
        pipeline.run_text("tell me a story about the sea", Stage.BRAIN, source="mqtt"),
        pipeline.run_text("what time is it", Stage.BRAIN, source="cli"),
    )
    # The LLM turn ends last: a record read from the brain afterwards would say "intent:time" for both.
    assert explain(story, TurnTimer())["route"] == "llm"
    assert explain(clock, TurnTimer())["route"] == "intent:time"
    ends = {e.run_id: e.data.route for e in recorder.of(EventType.REPLY_END)}
    assert ends == {story.run_id: "llm", clock.run_id: "intent:time"}


async def test_the_record_carries_what_the_route_added_while_answering() -> None:
    pipeline, *_ = make()
    result = await pipeline.run_text("how far away is the moon", Stage.BRAIN)
    record = explain(result, TurnTimer())
    assert record["route"] == "llm" and record["reason"].startswith("general question")
    assert "retrieval_ms" in record and record["memories"] == []
