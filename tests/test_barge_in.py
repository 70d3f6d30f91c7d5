"""Barge-in (issue 13): with an echo canceller, the wake word said while the assistant speaks stops
the speech at once and starts a new turn with what follows; without one, the microphone stays gated.
Fakes: the echo front is the identity (no echo in fakes), the sink plays slowly until stopped."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import numpy as np

from homeplm.config.schema import ConversationSettings, Settings
from homeplm.core.events import EventType
from homeplm.core.stages import WakeDetection
from homeplm.voice.listener import Listener
from tests.fakes import (
    PIPELINE_SETTINGS,
    SILENCE,
    SPEECH,
    WAKE,
    FakeChat,
    FakeWake,
    ListSource,
    SlowSink,
    chunks,
)
from tests.fakes import make_pipeline as make

LONG = "The moon is about three hundred and eighty thousand kilometres away. " * 3


class Identity:
    last_linear: np.ndarray | None = None  # no linear output: the raw chunk stands for it

    def __init__(self) -> None:
        self.chunks = 0

    def process(self, chunk: np.ndarray) -> np.ndarray:
        self.chunks += 1
        return chunk

    def stopped(self) -> None:
        return None


class PacedSource(ListSource):
    """Chunks one event-loop turn apart, as a microphone gives them while the speaker plays."""

    async def chunks(self):
        for item in self.items:
            await asyncio.sleep(0.002)
            yield item


def settings(**conversation: object) -> Settings:
    return replace(PIPELINE_SETTINGS, conversation=ConversationSettings(follow_up="never", **conversation))


async def listen(audio, echo=None, conf: Settings | None = None):
    sink = SlowSink()
    pipeline, recorder, stt, chat, tts = make(conf or settings(), chat=FakeChat(LONG), sink=sink)
    listener = Listener(pipeline, FakeWake(), recorder, echo=echo)
    await listener.run(PacedSource(audio))
    return listener, recorder, sink, stt


# A question, then — while the long answer plays — the wake word and a new question.
AUDIO = chunks(
    (SILENCE, 3), (WAKE, 2), (SPEECH, 6), (SILENCE, 6),  # "hey jarvis, <question>"
    (SILENCE, 10), (WAKE, 2), (SPEECH, 4), (SILENCE, 8),  # "hey jarvis, <another>" over the answer
)  # fmt: skip


async def test_the_wake_word_while_it_speaks_stops_it_and_starts_a_new_turn() -> None:
    echo = Identity()
    listener, rec, sink, stt = await listen(AUDIO, echo=echo)
    assert listener.barge_ins == 1
    assert [t.outcome for t in listener.turns] == ["cancelled", "ok"]
    assert sink.stops >= 1, "the speech was stopped"
    assert rec.types().count(EventType.WAKE) == 2
    assert len(stt.calls) == 2 and echo.chunks == len(AUDIO)
    # The first run ended (cancelled) before the second began.
    ends = [e.data.outcome for e in rec.events if e.type is EventType.RUN_END]
    assert ends[:2] == ["cancelled", "ok"]


async def test_without_a_canceller_the_microphone_stays_gated() -> None:
    listener, rec, sink, stt = await listen(AUDIO, echo=None)
    assert listener.barge_ins == 0
    assert listener.turns[0].outcome == "ok", "the answer was spoken to its end"


async def test_barge_in_can_be_switched_off() -> None:
    listener, rec, sink, stt = await listen(AUDIO, echo=Identity(), conf=settings(barge_in=False))
    assert listener.barge_ins == 0 and listener.turns[0].outcome == "ok"


async def test_no_barge_in_when_nobody_speaks_over_it() -> None:
    audio = chunks((SILENCE, 3), (WAKE, 2), (SPEECH, 6), (SILENCE, 40))
    listener, rec, sink, stt = await listen(audio, echo=Identity())
    assert listener.barge_ins == 0 and [t.outcome for t in listener.turns] == ["ok"]
    assert sink.stops == 0


class Suppressing(Identity):
    """A canceller whose suppressor distorts a voice over the echo (the wake word does not survive
    it) while its linear output keeps it."""

    def process(self, chunk: np.ndarray) -> np.ndarray:
        self.chunks += 1
        self.last_linear = chunk
        return np.full_like(chunk, SPEECH) if int(chunk[0]) == WAKE and self.chunks > 20 else chunk


async def test_the_linear_output_hears_a_wake_word_the_suppressor_distorted() -> None:
    for linear_wake, barge_ins in ((None, 0), (FakeWake(), 1)):
        sink = SlowSink()
        pipeline, recorder, *_ = make(settings(), chat=FakeChat(LONG), sink=sink)
        listener = Listener(pipeline, FakeWake(), recorder, echo=Suppressing())
        listener.linear_wake = linear_wake
        await listener.run(PacedSource(AUDIO))
        assert listener.barge_ins == barge_ins


# -- a barge-in threshold above the idle one, and the voice held while the score rises -------------

RISE, HALF = 1201, 1202  # chunks whose wake score rises to 0.2 (held) or 0.45 (ambiguous)


class ScoredWake(FakeWake):
    """Scores by chunk value, fired or not (the product's detectors keep `last_score`)."""

    def __init__(self) -> None:
        super().__init__()
        self.last_score = 0.0

    def process(self, chunk: np.ndarray) -> WakeDetection | None:
        self.last_score = {WAKE: 0.99, RISE: 0.2, HALF: 0.45}.get(int(chunk[0]), 0.0)
        return WakeDetection("hey_jarvis", self.last_score) if self.last_score >= 0.35 else None


class HoldingSink(SlowSink):
    """A SlowSink that can hold (silent, its place kept) and go on."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[str] = []

    def hold(self) -> None:
        self.held.append("hold")

    def release(self) -> None:
        self.held.append("release")


async def hold_run(audio, conf: Settings | None = None, echo: Identity | None = None):
    sink = HoldingSink()
    pipeline, recorder, *_ = make(conf or settings(), chat=FakeChat(LONG), sink=sink)
    listener = Listener(pipeline, ScoredWake(), recorder, echo=echo or Identity())
    await listener.run(PacedSource(audio))
    return listener, sink


QUESTION = ((SILENCE, 3), (WAKE, 2), (SPEECH, 6), (SILENCE, 6), (SILENCE, 10))


async def test_a_rising_score_holds_the_voice_and_it_goes_on_when_no_barge_in_comes() -> None:
    listener, sink = await hold_run(chunks(*QUESTION, (RISE, 2), (SILENCE, 40)))
    assert sink.held == ["hold", "release"] and listener.holds == 1
    assert listener.barge_ins == 0 and [t.outcome for t in listener.turns] == ["ok"]
    assert sink.stops == 0


async def test_its_own_voice_scoring_like_a_wake_word_does_not_barge_in() -> None:
    # 0.45 wakes it when idle (threshold 0.35), but not while it speaks (barge_in_threshold 0.5).
    listener, sink = await hold_run(chunks(*QUESTION, (HALF, 3), (SILENCE, 40)))
    assert listener.barge_ins == 0 and [t.outcome for t in listener.turns] == ["ok"]
    assert sink.held == ["hold", "release"]


async def test_a_held_voice_stops_when_the_wake_word_follows() -> None:
    listener, sink = await hold_run(chunks(*QUESTION, (RISE, 1), (WAKE, 2), (SPEECH, 4), (SILENCE, 8)))
    assert listener.barge_ins == 1 and [t.outcome for t in listener.turns] == ["cancelled", "ok"]
    assert sink.held[0] == "hold" and sink.stops >= 1


async def test_holding_can_be_switched_off() -> None:
    listener, sink = await hold_run(chunks(*QUESTION, (RISE, 2), (SILENCE, 40)), settings(hold_threshold=0.0))
    assert sink.held == [] and listener.holds == 0 and listener.barge_ins == 0


class OwnVoiceOnly(Identity):
    """A canceller whose linear filter took 25 dB out of the microphone lately: its own voice alone."""

    def __init__(self, erle_db: float | None) -> None:
        super().__init__()
        self.linear_erle_db = erle_db


async def test_a_wake_word_in_its_own_voice_alone_neither_holds_nor_barges_in() -> None:
    # The room made its own voice sound like the wake word; the linear filter took nearly all of the
    # microphone away, so nobody else spoke.
    audio = chunks(*QUESTION, (RISE, 1), (WAKE, 2), (SILENCE, 40))
    listener, sink = await hold_run(audio, echo=OwnVoiceOnly(25.0))
    assert listener.barge_ins == 0 and sink.held == [] and [t.outcome for t in listener.turns] == ["ok"]
    # A person over it leaves much in the microphone (a few dB taken): that barges in.
    listener, sink = await hold_run(audio, echo=OwnVoiceOnly(4.0))
    assert listener.barge_ins == 1 and sink.held[0] == "hold"


class SuppressingNoiseOnly(Identity):
    """A front end with noise suppression and no echo canceller: its own voice is in the microphone."""

    cancel_echo = False


async def test_noise_suppression_alone_keeps_the_microphone_gated() -> None:
    listener, rec, sink, stt = await listen(AUDIO, echo=SuppressingNoiseOnly())
    assert listener.barge_ins == 0 and listener.turns[0].outcome == "ok"
