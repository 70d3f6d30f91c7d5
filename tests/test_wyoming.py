"""homeplm as Wyoming services (speech to text, text to speech, the brain) for Home Assistant: the
wyoming package's own client talks to the server on a loopback port, with fakes (fast) and with the
real Whisper and piper (marked real)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator, Callable

import numpy as np
import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe, Info
from wyoming.ping import Ping, Pong
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeStopped

from homeplm.config import load_settings_text
from homeplm.config.schema import Settings, WyomingSettings
from homeplm.core.errors import BrainError, ConfigError
from homeplm.core.stages import Transcript as HeardText
from homeplm.daemon.main import start_wyoming
from homeplm.wyoming.handler import SORRY, WyomingHandler
from homeplm.wyoming.server import WyomingServer, services_for
from tests.fakes import PIPELINE_SETTINGS, FakeChat, make_pipeline

LOOPBACK = "127.0.0.1"
WYOMING_LOGGER = "homeplm.wyoming"


class RecordingStt:
    """Hears what it is given: the text says how many samples came, the calls keep audio and prompt."""

    def __init__(self) -> None:
        self.calls: list[tuple[np.ndarray, str | None]] = []

    def transcribe(self, audio: np.ndarray, *, prompt: str | None = None) -> HeardText:
        self.calls.append((audio, prompt))
        return HeardText(text=f"{len(audio)} samples", duration_ms=len(audio) // 16)


class FailingChat(FakeChat):
    def stream_chat(self, messages, *, max_tokens):
        raise BrainError("the model fell over")
        yield ""


def tone(seconds: float, rate: int, hz: float = 440.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    mono = (8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    return np.repeat(mono[:, None], channels, axis=1) if channels > 1 else mono


@pytest.fixture()
async def served() -> AsyncIterator[Callable[..., object]]:
    """`await served(pipeline, settings=…, idle_timeout_s=…)` → the loopback port of a running server."""
    servers: list[WyomingServer] = []

    async def serve(pipeline, settings: Settings = PIPELINE_SETTINGS, **changes) -> int:
        services = dataclasses.replace(services_for(settings, pipeline), **changes)
        server = WyomingServer(LOOPBACK, 0, max_connections=4)
        await server.start(lambda reader, writer: WyomingHandler(services, reader, writer))
        servers.append(server)
        return server.address[1]

    yield serve
    for server in servers:
        await server.stop()


async def ask(
    port: int, *events: Event, until: Callable[[Event], bool], timeout_s: float = 10.0
) -> list[Event]:
    """Send `events` on a new connection; every event back up to and including the first `until`."""
    answers: list[Event] = []
    async with AsyncTcpClient(LOOPBACK, port, read_timeout=timeout_s) as client:
        for event in events:
            await client.write_event(event)
        while (event := await client.read_event()) is not None:
            answers.append(event)
            if until(event):
                break
    return answers


def audio_events(audio: np.ndarray, rate: int, channels: int = 1, width: int = 2) -> list[Event]:
    raw = audio.tobytes()
    step = rate * width * channels // 10
    chunks = [raw[i : i + step] for i in range(0, len(raw), step)]
    return [
        AudioStart(rate=rate, width=width, channels=channels).event(),
        *(AudioChunk(rate=rate, width=width, channels=channels, audio=c).event() for c in chunks),
        AudioStop().event(),
    ]


def is_a(kind) -> Callable[[Event], bool]:
    return lambda event: kind.is_type(event.type)


def pcm(events: list[Event]) -> np.ndarray:
    chunks = [AudioChunk.from_event(e).audio for e in events if AudioChunk.is_type(e.type)]
    return np.frombuffer(b"".join(chunks), dtype=np.int16)


async def still_serving(port: int) -> None:
    answers = await ask(port, Describe().event(), until=is_a(Info))
    assert Info.is_type(answers[-1].type)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith(WYOMING_LOGGER) and r.levelno >= logging.WARNING]


# --- describe ----------------------------------------------------------------------------------------


async def test_describe_offers_whisper_piper_and_the_brain(served) -> None:
    pipeline, *_ = make_pipeline()
    port = await served(pipeline)
    info = Info.from_event((await ask(port, Describe().event(), until=is_a(Info)))[-1])
    assert [p.name for p in info.asr] == ["homeplm-whisper"]
    assert info.asr[0].models[0].languages == ["en"]
    assert info.asr[0].supports_transcript_streaming is False
    assert info.tts[0].supports_synthesize_streaming is True
    assert info.tts[0].voices[0].installed
    handle = info.handle[0]
    assert handle.installed and handle.models[0].languages == ["en"]
    assert handle.supports_handled_streaming is False  # Home Assistant reads `handled` only
    assert handle.supports_home_control is False  # no MQTT link: it switches nothing


def test_home_control_is_offered_when_the_house_is_linked() -> None:
    pipeline, *_ = make_pipeline()
    settings = load_settings_text("mqtt:\n  host: 127.0.0.1\n")
    assert services_for(settings, pipeline).info.handle[0].supports_home_control is True


async def test_ping_gets_pong(served) -> None:
    pipeline, *_ = make_pipeline()
    port = await served(pipeline)
    answers = await ask(port, Ping(text="hi").event(), until=is_a(Pong))
    assert Pong.from_event(answers[-1]).text == "hi"


# --- speech to text ----------------------------------------------------------------------------------


async def test_transcribe_16k_mono_goes_to_whisper_as_it_came_with_the_house_prompt(served) -> None:
    pipeline, *_ = make_pipeline()
    pipeline.parts.stt = stt = RecordingStt()
    pipeline.asr_prompt = lambda: "Kitchen Light, Garage Door."
    port = await served(pipeline)
    audio = tone(1.0, 16_000)
    answers = await ask(
        port, Transcribe(language="en").event(), *audio_events(audio, 16_000), until=is_a(Transcript)
    )
    transcript = Transcript.from_event(answers[-1])
    assert transcript.text == "16000 samples"
    heard, prompt = stt.calls[0]
    assert np.array_equal(heard, audio)
    assert prompt == "Kitchen Light, Garage Door."


async def test_transcribe_22050_stereo_is_made_16k_mono(served) -> None:
    pipeline, *_ = make_pipeline()
    pipeline.parts.stt = stt = RecordingStt()
    port = await served(pipeline)
    audio = tone(2.0, 22_050, channels=2)
    answers = await ask(port, Transcribe().event(), *audio_events(audio, 22_050, 2), until=is_a(Transcript))
    assert Transcript.from_event(answers[-1]).text == "32000 samples"
    heard = stt.calls[0][0]
    assert heard.dtype == np.int16
    # Still the same 440 Hz tone at the same level (the correlation with it at 16 kHz is near 1).
    expected = tone(2.0, 16_000).astype(np.float64)
    middle = slice(800, 31_200)
    correlation = np.corrcoef(heard[middle].astype(np.float64), expected[middle])[0, 1]
    assert correlation > 0.99
    assert abs(np.abs(heard[middle]).max() - 8000) < 200


async def test_transcribe_32_bit_audio_and_chunks_without_audio_start(served) -> None:
    pipeline, *_ = make_pipeline()
    pipeline.parts.stt = stt = RecordingStt()
    port = await served(pipeline)
    audio = tone(0.5, 16_000).astype(np.int32) << 16
    events = audio_events(audio, 16_000, width=4)[1:]  # no audio-start, no transcribe
    answers = await ask(port, *events, until=is_a(Transcript))
    assert Transcript.from_event(answers[-1]).text == "8000 samples"
    assert np.array_equal(stt.calls[0][0], tone(0.5, 16_000))


async def test_wrong_sample_width_is_an_error_and_the_server_goes_on(served, caplog) -> None:
    pipeline, *_ = make_pipeline()
    port = await served(pipeline)
    answers = await ask(
        port, Transcribe().event(), *audio_events(np.zeros(800, np.uint8), 16_000, width=1), until=is_a(Error)
    )
    error = Error.from_event(answers[-1])
    assert error.code == "audio-format" and "8-bit" in error.text
    [warning] = warnings_of(caplog)
    assert "8-bit audio is not supported" in warning.getMessage() and warning.exc_info is None
    await still_serving(port)


async def test_audio_over_the_cap_is_refused(served, caplog) -> None:
    pipeline, *_ = make_pipeline()
    pipeline.parts.stt = stt = RecordingStt()
    port = await served(pipeline, max_audio_s=1.0)
    answers = await ask(
        port, Transcribe().event(), *audio_events(tone(1.5, 16_000), 16_000), until=is_a(Error)
    )
    assert Error.from_event(answers[-1]).code == "audio-too-long"
    assert stt.calls == []
    assert "audio longer than 1 s" in warnings_of(caplog)[0].getMessage()
    await still_serving(port)


# --- text to speech ----------------------------------------------------------------------------------


async def test_synthesize_speaks_each_sentence_at_the_voice_rate(served) -> None:
    pipeline, _recorder, _stt, _chat, tts = make_pipeline()
    port = await served(pipeline)
    text = "Hello there. The kitchen light is on now."
    answers = await ask(port, Synthesize(text=text).event(), until=is_a(AudioStop))
    start = AudioStart.from_event(answers[0])
    assert (start.rate, start.width, start.channels) == (22_050, 2, 1)
    assert AudioStop.is_type(answers[-1].type)
    assert tts.texts == ["Hello there.", "The kitchen light is on now."]
    assert len(pcm(answers)) == 100 * sum(len(t) for t in tts.texts)  # FakeTts: 100 samples a character


async def test_streaming_synthesis_speaks_before_the_text_has_ended(served) -> None:
    pipeline, _recorder, _stt, _chat, tts = make_pipeline()
    port = await served(pipeline)
    pieces = ["The bed ", "light is off. ", "The kitchen ", "lights are on", ". Anything else?"]
    async with AsyncTcpClient(LOOPBACK, port, read_timeout=10.0) as client:
        await client.write_event(SynthesizeStart().event())
        for piece in pieces[:2]:
            await client.write_event(SynthesizeChunk(text=piece).event())
        # The first sentence is complete: its audio comes while the rest is still unwritten.
        first = [await client.read_event() for _ in range(2)]
        assert AudioStart.is_type(first[0].type) and AudioChunk.is_type(first[1].type)
        for piece in pieces[2:]:
            await client.write_event(SynthesizeChunk(text=piece).event())
        await client.write_event(Synthesize(text="".join(pieces)).event())  # the compatibility copy
        await client.write_event(SynthesizeStop().event())
        answers = first
        while not SynthesizeStopped.is_type(answers[-1].type):
            answers.append(await client.read_event())
    assert tts.texts == ["The bed light is off.", "The kitchen lights are on.", "Anything else?"]
    kinds = [e.type for e in answers if not AudioChunk.is_type(e.type)]
    assert kinds == ["audio-start", "audio-stop"] * 3 + ["synthesize-stopped"]
    assert len(pcm(answers)) == 100 * sum(len(t) for t in tts.texts)


async def test_a_client_that_leaves_mid_stream_leaves_the_server_running(served, caplog) -> None:
    pipeline, *_ = make_pipeline()
    port = await served(pipeline)
    for events in (
        [SynthesizeStart().event(), SynthesizeChunk(text="A sentence to say. And another one. ").event()],
        [Transcribe().event(), *audio_events(tone(0.5, 16_000), 16_000)[:3]],
    ):
        async with AsyncTcpClient(LOOPBACK, port) as client:
            for event in events:
                await client.write_event(event)
    await asyncio.sleep(0.1)
    await still_serving(port)
    assert all(r.exc_info is None for r in warnings_of(caplog))


# --- the brain ---------------------------------------------------------------------------------------


async def test_handle_answers_with_the_brain_and_keeps_the_conversation_id(served, caplog) -> None:
    pipeline, *_ = make_pipeline()
    port = await served(pipeline)
    caplog.set_level(logging.INFO, logger=WYOMING_LOGGER)
    request = Transcript(text="what is 12 times 12", context={"conversation_id": "01HXYZ"})
    answers = await ask(port, request.event(), until=lambda e: e.type in ("handled", "not-handled"))
    handled = Handled.from_event(answers[-1])
    assert "144" in handled.text
    assert handled.context == {"conversation_id": "01HXYZ"}
    routes = [r.getMessage() for r in caplog.records if "answered by" in r.getMessage()]
    assert routes and "intent:" in routes[0], routes
    assert "12 times 12" not in caplog.text  # what was said stays out of the log at INFO


async def test_a_failing_brain_gets_an_honest_not_handled(served) -> None:
    pipeline, *_ = make_pipeline(chat=FailingChat())
    port = await served(pipeline)
    request = Transcript(text="Tell me a story about a dragon.")
    answers = await ask(port, request.event(), until=lambda e: e.type in ("handled", "not-handled"))
    assert NotHandled.from_event(answers[-1]).text == SORRY


# --- hostile input -----------------------------------------------------------------------------------


async def raw_exchange(port: int, data: bytes) -> bytes:
    """Write raw bytes (and end the sending side); what comes back before the server closes."""
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    try:
        writer.write(data)
        await writer.drain()
        if data:
            writer.write_eof()  # nothing more comes: a frame cut short ends here
        return await asyncio.wait_for(reader.read(), 5.0)
    except ConnectionResetError:
        return b""
    finally:
        writer.close()


BROKEN_FRAMES = {
    "not json": b"hello there\n",
    "not an object": b"[1, 2, 3]\n",
    "no type": b'{"data": {}}\n',
    "data not an object": b'{"type": "describe", "data": [1]}\n',
    "negative length": b'{"type": "audio-chunk", "payload_length": -5}\n',
    "string length": b'{"type": "synthesize", "data_length": "12"}\n',
    "huge payload": b'{"type": "audio-chunk", "payload_length": 999999999999}\n',
    "data block not an object": b'{"type": "synthesize", "data_length": 2}\n[]',
    "ends inside a frame": b'{"type": "audio-chunk", "payload_length": 100}\nshort',
    "header line too long": b"{" + b" " * 70_000,
    "deep nesting": b'{"type": "x", "data": ' + b"[" * 100_000 + b"\n",
}


@pytest.mark.parametrize("frame", BROKEN_FRAMES.values(), ids=BROKEN_FRAMES.keys())
async def test_a_broken_frame_closes_that_connection_only(served, caplog, frame: bytes) -> None:
    pipeline, *_ = make_pipeline()
    port = await served(pipeline)
    assert await raw_exchange(port, frame) == b""
    await asyncio.sleep(0.05)
    [warning] = warnings_of(caplog)
    assert "closing the connection" in warning.getMessage() and warning.exc_info is None
    await still_serving(port)


async def test_bad_fields_get_an_error(served, caplog) -> None:
    pipeline, *_ = make_pipeline()
    port = await served(pipeline)
    answers = await ask(port, Event("synthesize", {"text": 42}), until=is_a(Error))
    assert Error.from_event(answers[-1]).code == "bad-request"
    answers = await ask(
        port, Event("audio-start", {"rate": "fast", "width": 2, "channels": 1}), until=is_a(Error)
    )
    assert Error.from_event(answers[-1]).code == "audio-format"
    answers = await ask(port, SynthesizeChunk(text="no start").event(), until=is_a(Error))
    assert Error.from_event(answers[-1]).code == "protocol"
    await still_serving(port)


async def test_an_unknown_event_is_ignored_with_one_warning(served, caplog) -> None:
    pipeline, *_ = make_pipeline()
    port = await served(pipeline)
    events = [Event("frobnicate", {"x": 1}), Event("frobnicate"), Describe().event()]
    answers = await ask(port, *events, until=is_a(Info))
    assert [e.type for e in answers] == ["info"]
    [warning] = warnings_of(caplog)
    assert "frobnicate" in warning.getMessage()


async def test_an_idle_connection_is_closed(served, caplog) -> None:
    pipeline, *_ = make_pipeline()
    port = await served(pipeline, idle_timeout_s=0.2)
    started = time.monotonic()
    assert await raw_exchange(port, b"") == b""
    assert time.monotonic() - started < 3.0
    assert "no event for 0.2 s" in warnings_of(caplog)[0].getMessage()


async def test_connections_over_the_limit_are_turned_away(served, caplog) -> None:
    pipeline, *_ = make_pipeline()
    port = await served(pipeline)  # at most 4 at once
    held = [await asyncio.open_connection(LOOPBACK, port) for _ in range(4)]
    await asyncio.sleep(0.05)
    try:
        assert await raw_exchange(port, json.dumps({"type": "describe"}).encode() + b"\n") == b""
        assert "turned away" in warnings_of(caplog)[0].getMessage()
    finally:
        for _reader, writer in held:
            writer.close()
    await asyncio.sleep(0.05)
    await still_serving(port)


# --- configuration and the daemon --------------------------------------------------------------------


def test_wyoming_is_off_by_default() -> None:
    assert Settings().wyoming == WyomingSettings(enabled=False, uri="tcp://0.0.0.0:10700", max_audio_s=30.0)


@pytest.mark.parametrize(
    "uri", ["http://127.0.0.1:10700", "tcp://127.0.0.1", "tcp://:10700", "tcp://127.0.0.1:70000", "10700"]
)
def test_only_a_tcp_address_is_accepted(uri: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings_text(f"wyoming:\n  uri: '{uri}'\n")
    assert info.value.problems == [f"wyoming.uri (line 2): {uri!r} is not a tcp://HOST:PORT address"]


def test_an_ipv6_address_is_accepted() -> None:
    assert load_settings_text("wyoming:\n  uri: 'tcp://[::1]:10700'\n").wyoming.uri == "tcp://[::1]:10700"


async def test_the_daemon_starts_it_only_when_enabled(caplog) -> None:
    pipeline, *_ = make_pipeline()
    assert await start_wyoming(PIPELINE_SETTINGS, pipeline) is None
    caplog.set_level(logging.INFO, logger=WYOMING_LOGGER)
    on = dataclasses.replace(
        PIPELINE_SETTINGS, wyoming=WyomingSettings(enabled=True, uri="tcp://127.0.0.1:0")
    )
    server = await start_wyoming(on, pipeline)
    try:
        port = server.address[1]
        assert f"serving asr, tts, handle on tcp://127.0.0.1:{port}" in caplog.text
        await still_serving(port)
    finally:
        await server.stop()
    # A port that is taken: an error in the log, and the assistant carries on without it.
    taken = dataclasses.replace(on, wyoming=WyomingSettings(enabled=True, uri=f"tcp://127.0.0.1:{port}"))
    blocker = await asyncio.start_server(lambda r, w: None, LOOPBACK, port)
    try:
        assert await start_wyoming(taken, pipeline) is None
        assert "cannot listen on" in caplog.text
    finally:
        blocker.close()


# --- the real models ---------------------------------------------------------------------------------


@pytest.mark.real
async def test_real_whisper_and_piper_through_the_wyoming_client(settings, real_parts, served) -> None:
    from homeplm import assistant
    from homeplm.core.events import EventRecorder
    from homeplm.voice.wavio import NullSink

    pipeline = assistant.build_pipeline(settings, real_parts, EventRecorder(), NullSink())
    port = await served(pipeline, settings)
    spoken = await ask(port, Synthesize(text="Turn on the kitchen light.").event(), until=is_a(AudioStop))
    start = AudioStart.from_event(spoken[0])
    audio = pcm(spoken)
    assert start.rate == real_parts.parts["tts"].sample_rate
    assert len(audio) / start.rate > 1.0
    # Back through the server's Whisper, at the voice's own rate (resampled there).
    answers = await ask(
        port, Transcribe(language="en").event(), *audio_events(audio, start.rate), until=is_a(Transcript)
    )
    assert "kitchen light" in Transcript.from_event(answers[-1]).text.lower()
    handled = await ask(
        port,
        Transcript(text="what is 12 times 12").event(),
        until=lambda e: e.type in ("handled", "not-handled"),
    )
    assert "144" in Handled.from_event(handled[-1]).text
