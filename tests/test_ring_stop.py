"""While a timer rings, "stop" needs no wake word (issue 13): a voice hushes the ring at once, a stop
word ends it, other talk lets it ring on, its own words never hush it. Fakes: milliseconds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np

from homeplm.core.events import EventType, FollowUp
from homeplm.core.stages import Transcript
from homeplm.planner.ringer import Ringer
from homeplm.planner.store import Item
from homeplm.voice.listener import RING_WINDOW_MS, Listener
from tests.fakes import SILENCE, SPEECH, WAKE, FakeStt, FakeWake, ListSource, SlowSink, chunks, make_pipeline


class SaysStt(FakeStt):
    """Hears `text` in any speech (and 'Hey Jarvis,' before it when the wake chunk is in it)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def transcribe(self, audio: np.ndarray, *, prompt: str | None = None) -> Transcript:
        heard = super().transcribe(audio, prompt=prompt).text
        wake = "Hey Jarvis, " if heard.startswith("Hey Jarvis") else ""
        return Transcript(text=f"{wake}{self.text}" if heard else "", duration_ms=len(audio) // 16)


class FakeAlert:
    """A ring that counts pauses and resumes; the pipeline's stop ends it."""

    def __init__(self) -> None:
        self.ringing, self.speaking = True, False
        self.paused = self.resumed = 0

    def listening(self) -> bool:
        return self.ringing and not self.speaking

    def pause(self) -> None:
        self.paused += 1

    def resume(self) -> None:
        self.resumed += 1

    def stop(self) -> None:
        self.ringing = False


def listener_for(said: str, alert: FakeAlert | None = None, sink=None):
    pipeline, rec, stt, chat, tts = make_pipeline(sink=sink)
    pipeline.parts.stt = SaysStt(said)
    listener = Listener(pipeline, FakeWake(), rec)
    listener.alert = alert
    if alert is not None:
        pipeline.on_stop.append(alert.stop)
    return listener, rec, chat


TALK = ((SILENCE, 3), (SPEECH, 4), (SILENCE, 8))


async def test_stop_without_the_wake_word_ends_the_ring() -> None:
    alert = FakeAlert()
    listener, rec, chat = listener_for("Stop.", alert)
    await asyncio.wait_for(listener.run(ListSource(chunks(*TALK))), 5)
    assert not alert.ringing and alert.paused >= 1
    assert EventType.WAKE not in rec.types()
    assert rec.first(EventType.FOLLOW_UP).data == FollowUp(RING_WINDOW_MS, "ringing")  # type: ignore[union-attr]
    assert [t.record.get("route") for t in listener.turns] == ["intent:stop"]
    assert chat.calls == []


async def test_stop_words_people_use() -> None:
    for said in ("Okay, okay.", "Thanks.", "I'm up!", "Cancel.", "Alexa stop", "Hey Jarvis, stop."):
        alert = FakeAlert()
        listener, _, _ = listener_for(said, alert)
        await asyncio.wait_for(listener.run(ListSource(chunks(*TALK))), 5)
        assert not alert.ringing, said


async def test_other_talk_lets_it_ring_on_and_reaches_no_model() -> None:
    alert = FakeAlert()
    listener, rec, chat = listener_for("Is dinner ready yet?", alert)
    await asyncio.wait_for(listener.run(ListSource(chunks(*TALK))), 5)
    assert alert.ringing and alert.paused >= 1 and alert.resumed >= alert.paused
    assert chat.calls == [] and listener.turns == []


async def test_its_own_words_never_hush_it_and_the_wake_word_holds_it_for_a_turn() -> None:
    alert = FakeAlert()
    alert.speaking = True  # the ringer says "your rice timer is done": not a person
    listener, rec, _ = listener_for("what time is it", alert)
    await asyncio.wait_for(listener.run(ListSource(chunks(*TALK))), 5)
    assert alert.paused == 0 and EventType.FOLLOW_UP not in rec.types()
    alert = FakeAlert()
    alert.speaking = True
    listener, rec, _ = listener_for("what time is it", alert)
    audio = chunks((SILENCE, 3), (WAKE, 2), (SPEECH, 6), (SILENCE, 8))
    await asyncio.wait_for(listener.run(ListSource(audio)), 5)
    assert rec.types().count(EventType.WAKE) == 1
    assert alert.paused == 1 and alert.resumed == 1, "held while its turn lasted, then rings on"


async def test_audio_that_ends_while_it_rings_ends_the_listener() -> None:
    alert = FakeAlert()
    listener, _, _ = listener_for("", alert)
    await asyncio.wait_for(listener.run(ListSource(chunks((SILENCE, 4)))), 2)
    assert alert.ringing


async def test_a_real_ring_is_hushed_at_the_voice_and_stopped_by_it() -> None:
    sink = SlowSink(seconds=0.01)
    listener, _, _ = listener_for("stop", sink=sink)
    pipeline = listener.pipeline
    ringer = Ringer(timeout_s=10.0, gap_s=0.05, speak_every=1000)
    ringer.pipeline = pipeline
    pipeline.on_stop.append(ringer.stop)
    listener.alert = ringer

    class Paced(ListSource):
        async def chunks(self) -> AsyncIterator[np.ndarray]:
            for item in self.items:
                await asyncio.sleep(0.002)
                yield item

    ringing = asyncio.create_task(ringer.ring(Item(1, "timer", name="rice", duration=720), 0.0))
    await asyncio.sleep(0.05)
    assert ringer.listening()
    await asyncio.wait_for(listener.run(Paced(chunks((SILENCE, 2), *TALK))), 5)
    await asyncio.wait_for(ringing, 2)  # ended by voice, long before its 10 s
    assert ringer.current is None and sink.stops >= 1
