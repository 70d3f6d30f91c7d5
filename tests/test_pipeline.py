"""Pipeline logic with fakes: milliseconds, no models."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import replace

import numpy as np
import pytest

from homeplm.brain.llm_route import SHOTS
from homeplm.config.schema import Settings
from homeplm.core.errors import BrainError
from homeplm.core.events import EventType
from homeplm.core.stages import ChatMessage, Turn
from homeplm.voice.listener import Listener
from homeplm.voice.pipeline import Stage
from homeplm.voice.wavio import NullSink, WavFileSink
from tests.fakes import PIPELINE_SETTINGS as SETTINGS
from tests.fakes import (
    SILENCE,
    SPEECH,
    WAKE,
    FakeChat,
    FakeWake,
    ListSource,
    chunks,
)
from tests.fakes import make_pipeline as make


async def listen(items, settings: Settings = SETTINGS, **kw):
    pipeline, recorder, stt, chat, tts = make(settings, **kw)
    wake = FakeWake()
    listener = Listener(pipeline, wake, recorder)
    source = ListSource(items)
    await listener.run(source)
    return listener, recorder, stt, chat, tts, source


async def test_wake_then_command_runs_every_stage_in_order() -> None:
    audio = chunks((SILENCE, 5), (WAKE, 2), (SPEECH, 8), (SILENCE, 10))
    listener, rec, stt, chat, tts, source = await listen(audio)
    assert [t.outcome for t in listener.turns] == ["ok"]
    order = [
        EventType.WAKE,
        EventType.RUN_START,
        EventType.SPEECH_START,
        EventType.SPEECH_END,
        EventType.TRANSCRIPT,
        EventType.REPLY_START,
        EventType.REPLY_DELTA,
    ]
    first_seen = list(dict.fromkeys(rec.types()))
    assert first_seen[: len(order)] == order
    assert first_seen[-2:] == [EventType.TTS_END, EventType.RUN_END]
    assert first_seen.index(EventType.TTS_START) < first_seen.index(EventType.AUDIO_OUT)
    assert EventType.REPLY_END in first_seen
    transcript = rec.first(EventType.TRANSCRIPT)
    assert transcript is not None and transcript.data.text == "light"  # wake phrase stripped
    assert chat.calls[0][-1] == ChatMessage("user", "light")
    assert tts.texts == ["The light is on now.", "Anything else I can do?"]
    assert source.discarded == 1
    stamps = [e.timestamp_ms for e in rec.events]
    assert stamps == sorted(stamps)


async def test_speech_starts_after_a_pause_drops_preroll_and_silence() -> None:
    audio = chunks((WAKE, 2), (SILENCE, 6), (SPEECH, 5), (SILENCE, 10))
    listener, rec, stt, *_ = await listen(audio)
    heard = stt.calls[0].reshape(-1, 1280)[:, 0]
    assert WAKE not in heard and (heard == SPEECH).sum() == 5
    assert len(heard) <= 5 + 4 + 4  # lead-in + speech + tail, not the whole pause


async def test_no_wake_word_means_no_turn() -> None:
    listener, rec, stt, chat, *_ = await listen(chunks((SPEECH, 20), (SILENCE, 20)))
    assert listener.turns == [] and stt.calls == [] and chat.calls == []


async def test_wake_word_alone_times_out_quietly() -> None:
    listener, rec, stt, chat, *_ = await listen(chunks((WAKE, 2), (SILENCE, 30)))
    assert [t.outcome for t in listener.turns] == ["no-speech"]
    assert rec.first(EventType.NO_SPEECH) is not None and stt.calls == [] and chat.calls == []


async def test_wake_tail_does_not_retrigger_within_refractory() -> None:
    # Wake word, command, then the wake word's own (fake) echo 0.4 s later, then a real one.
    audio = chunks(
        (WAKE, 3),
        (SPEECH, 4),
        (SILENCE, 6),
        (WAKE, 1),
        (SILENCE, 20),
        (WAKE, 2),
        (SPEECH, 4),
        (SILENCE, 8),
    )
    listener, rec, *_ = await listen(audio)
    assert len(rec.of(EventType.WAKE)) == 2


async def test_input_ending_mid_speech_still_transcribes() -> None:
    listener, rec, stt, *_ = await listen(chunks((WAKE, 2), (SPEECH, 6)))
    assert [t.outcome for t in listener.turns] == ["ok"] and len(stt.calls) == 1


async def test_text_turn_can_stop_after_brain() -> None:
    pipeline, rec, stt, chat, tts = make()
    result = await pipeline.run_text("how far away is the moon", end_stage=Stage.BRAIN)
    assert result.reply == "The light is on now. Anything else I can do?"
    assert tts.texts == [] and rec.first(EventType.TTS_START) is None
    end = rec.first(EventType.REPLY_END)
    assert end is not None and end.data.route == "llm"


async def test_brain_error_becomes_event_and_run_still_ends() -> None:
    class Broken(FakeChat):
        def stream_chat(self, messages: Sequence[ChatMessage], *, max_tokens: int) -> Iterator[str]:
            yield "Partial "
            raise RuntimeError("model exploded")

    pipeline, rec, *_ = make(chat=Broken())
    result = await pipeline.run_text("hello")
    assert result.outcome == "error" and isinstance(result.error, BrainError)
    assert rec.types()[-2:] == [EventType.ERROR, EventType.RUN_END]


async def test_history_is_kept_and_bounded() -> None:
    pipeline, rec, stt, chat, tts = make(replace(SETTINGS, llm=replace(SETTINGS.llm, history_turns=1)))
    for text in ("one", "two", "three"):
        await pipeline.run_text(text, end_stage=Stage.BRAIN)
    shots = 2 * len(SHOTS)  # the example questions and answers after the system prompt
    roles = [m.role for m in chat.calls[-1]][1 + shots :]
    assert roles == ["user", "assistant", "user"] and chat.calls[-1][1 + shots].content == "two"
    # The system prompt and the examples stay byte-stable (llama.cpp's prompt cache).
    assert chat.calls[0][: 1 + shots] == chat.calls[-1][: 1 + shots]


async def test_reply_audio_goes_to_wav_sink_at_its_rate(tmp_path) -> None:
    sink = WavFileSink(tmp_path / "r.wav", sample_rate=16000)
    pipeline, rec, stt, chat, tts = make(sink=sink)
    await pipeline.run_text("hi")
    await sink.close()
    expected = sum(len(t) * 100 for t in tts.texts) * 16000 // 22050
    assert abs(sink.samples - expected) <= 4


async def test_speak_splits_sentences() -> None:
    pipeline, rec, stt, chat, tts = make()
    await pipeline.speak("Dinner is ready. Come down please.")
    assert tts.texts == ["Dinner is ready.", "Come down please."]


async def test_cancellation_passes_through_and_ends_the_run() -> None:
    class Slow(FakeChat):
        def stream_chat(self, messages, *, max_tokens):
            import time

            for _ in range(100):
                time.sleep(0.01)
                yield "word "

    pipeline, rec, *_ = make(chat=Slow())
    task = asyncio.create_task(pipeline.run_text("hello"))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert rec.types()[-1] is EventType.RUN_END
    assert rec.events[-1].data.outcome == "cancelled"


async def test_stop_playback_cuts_the_reply() -> None:
    class SlowSink(NullSink):
        def __init__(self) -> None:
            super().__init__()
            self.stopped = False

        async def play(self, audio: np.ndarray) -> None:
            await asyncio.sleep(0.2)

        def stop(self) -> None:
            self.stopped = True

    sink = SlowSink()
    pipeline, rec, *_ = make(sink=sink)
    task = asyncio.create_task(pipeline.speak("One sentence here. Another sentence here. A third one here."))
    await asyncio.sleep(0.05)
    pipeline.stop_playback()
    result = await asyncio.wait_for(task, 1.0)
    assert sink.stopped and result.outcome == "ok"
    assert rec.first(EventType.TTS_END) is None


async def test_history_expires_after_the_timeout() -> None:
    from homeplm.brain.llm_route import LlmChatRoute
    from homeplm.brain.router import Router

    now = [0.0]
    chat = FakeChat()
    route = LlmChatRoute(chat, SETTINGS.llm, SETTINGS.assistant, clock=lambda: now[0])
    router = Router([route])
    for text, at in (("one", 0.0), ("two", 30.0), ("three", 30.0 + SETTINGS.llm.history_timeout_s + 1)):
        now[0] = at
        async for _ in router.reply(Turn(text)):
            pass
    shots = 1 + 2 * len(SHOTS)
    assert [m.content for m in chat.calls[1][shots:] if m.role == "user"] == ["one", "two"]
    assert [m.content for m in chat.calls[2][shots:] if m.role == "user"] == ["three"]


async def test_early_recognition_is_used_when_the_speaker_stays_quiet() -> None:
    audio = chunks((WAKE, 2), (SPEECH, 6), (SILENCE, 12))
    listener, rec, stt, *_ = await listen(
        audio, replace(SETTINGS, vad=replace(SETTINGS.vad, early_asr_after_s=0.16))
    )
    transcript = rec.first(EventType.TRANSCRIPT)
    assert transcript is not None and transcript.data.early is True
    assert len(stt.calls) == 1


async def test_early_recognition_is_dropped_when_the_speaker_goes_on() -> None:
    audio = chunks((WAKE, 2), (SPEECH, 4), (SILENCE, 3), (SPEECH, 4), (SILENCE, 12))
    settings = replace(SETTINGS, vad=replace(SETTINGS.vad, early_asr_after_s=0.16, silence_s=0.4))
    listener, rec, stt, *_ = await listen(audio, settings)
    transcript = rec.first(EventType.TRANSCRIPT)
    assert transcript is not None and transcript.data.text == "light"
    last = stt.calls[-1].reshape(-1, 1280)[:, 0]
    assert (last == SPEECH).sum() == 8  # the used transcript heard both parts


async def test_no_early_recognition_when_switched_off() -> None:
    audio = chunks((WAKE, 2), (SPEECH, 6), (SILENCE, 12))
    listener, rec, stt, *_ = await listen(
        audio, replace(SETTINGS, vad=replace(SETTINGS.vad, early_asr_after_s=0.0))
    )
    transcript = rec.first(EventType.TRANSCRIPT)
    assert transcript is not None and transcript.data.early is False


def test_every_event_kind_has_typed_fields() -> None:
    """One payload dataclass per event kind; a wrong field name fails where the event is built."""
    from homeplm.core.events import PAYLOADS, PipelineEvent, ReplyEnd

    assert set(PAYLOADS) == set(EventType)
    event = PipelineEvent.of(EventType.REPLY_END, run_id=3, text="Done.", route="intent:light_on")
    assert isinstance(event.data, ReplyEnd) and event.type is EventType.REPLY_END
    assert event.data.fields() == {"text": "Done.", "route": "intent:light_on", "reason": None}
    with pytest.raises(TypeError):
        PipelineEvent.of(EventType.REPLY_END, run_id=3, txt="Done.")
