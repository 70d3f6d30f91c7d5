"""One speech probability per chunk, shared by the wake gate and the recorder (fakes)."""

from __future__ import annotations

import numpy as np

from homeplm.assistant import LoadedParts, build_pipeline
from homeplm.core.events import EventRecorder
from homeplm.voice.listener import Listener
from homeplm.voice.wakegate import ScoredVad, VadGatedWake
from tests.fakes import PIPELINE_SETTINGS as SETTINGS
from tests.fakes import (
    SILENCE,
    SPEECH,
    WAKE,
    FakeChat,
    FakeStt,
    FakeTts,
    FakeVad,
    FakeWake,
    ListSource,
    chunk,
    chunks,
)


class CountingVad(FakeVad):
    def __init__(self) -> None:
        self.calls = 0

    def speech_probability(self, c: np.ndarray) -> float:
        self.calls += 1
        return super().speech_probability(c)


AUDIO = chunks((SILENCE, 5), (WAKE, 2), (SPEECH, 8), (SILENCE, 10))


async def one_turn(shared: bool) -> tuple[list[str | None], list[str], int, int]:
    """(transcripts, event types, model calls in all, model calls during the turn)."""
    gate_vad, own_vad = CountingVad(), CountingVad()
    wake = VadGatedWake(FakeWake(), ScoredVad(gate_vad) if shared else gate_vad, 0.5)
    parts = {"wake": wake, "vad": own_vad, "stt": FakeStt(), "llm": FakeChat(), "tts": FakeTts()}
    recorder = EventRecorder()
    pipeline = build_pipeline(SETTINGS, LoadedParts(parts=parts), recorder, None)
    listener = Listener(pipeline, wake, recorder)
    before = gate_vad.calls + own_vad.calls
    turn = pipeline.run_audio

    async def counted(*args, **kw):  # the model calls between the wake word and the turn's end
        nonlocal before
        start = gate_vad.calls + own_vad.calls
        result = await turn(*args, **kw)
        before = gate_vad.calls + own_vad.calls - start
        return result

    pipeline.run_audio = counted  # type: ignore[method-assign]
    await listener.run(ListSource(AUDIO))
    types = [str(e.type) for e in recorder.events]
    return [t.transcript for t in listener.turns], types, gate_vad.calls + own_vad.calls, before


async def test_one_score_per_chunk_same_turn() -> None:
    old_text, old_events, old_all, old_turn = await one_turn(shared=False)
    new_text, new_events, new_all, new_turn = await one_turn(shared=True)
    print(f"\nsilero calls: all {old_all} → {new_all}; in the turn {old_turn} → {new_turn}")
    assert new_text == old_text == ["light"] and new_events == old_events
    preroll = round(SETTINGS.wake.preroll_s * 1000 / 80)
    assert old_turn - new_turn == preroll  # the pre-roll is no longer scored twice
    assert new_all == len(AUDIO)  # every chunk scored exactly once


def test_scored_vad_scores_each_chunk_once_and_forgets_on_reset() -> None:
    inner = CountingVad()
    vad = ScoredVad(inner, kept=2)
    a, b, c = chunk(SPEECH), chunk(SILENCE), chunk(SILENCE)
    assert [vad.speech_probability(x) for x in (a, b, a)] == [0.9, 0.05, 0.9] and inner.calls == 2
    vad.speech_probability(c)  # a falls out of the two kept
    assert vad.score_of(a) is None and vad.score_of(c) == 0.05
    vad.reset()
    assert vad.score_of(c) is None
