"""Satellites in other rooms (issue 14): homeplm connects to Wyoming satellites as Home Assistant
does, hears each room, answers the room that asked; a satellite that drops off or misbehaves is
local trouble. Fake satellites on loopback (the wyoming package's own event writer and reader) with
fake models: milliseconds. The real wyoming-satellite is in tests/test_satellite_real.py."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.pipeline import PipelineStage, RunPipeline

from homeplm.config.schema import SatelliteSettings, Settings
from homeplm.wyoming import satellites as sat
from homeplm.wyoming.audio_in import AudioFormat
from homeplm.wyoming.satellites import SatelliteRoom, Satellites, SatelliteStream
from tests.fakes import PIPELINE_SETTINGS, SILENCE, SPEECH, WAKE, FakeVad, FakeWake, chunks, make_pipeline

QUESTION = ((SILENCE, 3), (WAKE, 2), (SPEECH, 6), (SILENCE, 8))


class FakeSatellite:
    """A Wyoming satellite on a free loopback port: waits for run-satellite, then streams `audio`
    (16 kHz s16 mono unless told otherwise) and keeps every event the hub sends."""

    def __init__(
        self,
        audio: Sequence[np.ndarray],
        start: PipelineStage = PipelineStage.WAKE,
        rate: int = 16000,
        channels: int = 1,
        before: Sequence[bytes] = (),
    ) -> None:
        self.audio, self.start, self.rate, self.channels, self.before = audio, start, rate, channels, before
        self.received: list[Event] = []
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> FakeSatellite:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 1)

    def types(self) -> list[str]:
        return [e.type for e in self.received]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            await self._session(reader, writer)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        for raw in self.before:
            writer.write(raw)
        event = await async_read_event(reader)
        if event is None or event.type != "run-satellite":
            writer.close()
            return
        self.received.append(event)
        reading = asyncio.create_task(self._read(reader))
        await async_write_event(
            RunPipeline(start_stage=self.start, end_stage=PipelineStage.TTS).event(), writer
        )
        await async_write_event(AudioStart(rate=self.rate, width=2, channels=self.channels).event(), writer)
        for piece in self.audio:
            pcm = np.repeat(piece, self.channels) if self.channels > 1 else piece
            if self.rate != 16000:
                pcm = np.resize(piece, len(piece) * self.rate // 16000)
            chunk = AudioChunk(rate=self.rate, width=2, channels=self.channels, audio=pcm.tobytes())
            await async_write_event(chunk.event(), writer)
            await asyncio.sleep(0.002)
        await reading

    async def _read(self, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(Exception):
            while (event := await async_read_event(reader)) is not None:
                self.received.append(event)


def room_settings(*entries: SatelliteSettings) -> Settings:
    return replace(PIPELINE_SETTINGS, satellites=entries)


async def start_rooms(*satellites: FakeSatellite, reply: str = "It is ten past nine.") -> Satellites:
    from tests.fakes import FakeChat

    entries = [
        SatelliteSettings(f"room{i}", f"tcp://127.0.0.1:{s.port}", f"Area {i}")
        for i, s in enumerate(satellites)
    ]
    main, *_ = make_pipeline(room_settings(*entries), chat=FakeChat(reply))
    return await Satellites.start(main.settings, main, lambda _s: FakeWake(), lambda _w: FakeVad())


async def until(test, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not test():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_question_in_a_room_is_answered_through_that_satellite() -> None:
    async with FakeSatellite(chunks(*QUESTION)) as satellite:
        rooms = await start_rooms(satellite)
        try:
            await until(lambda: bool(rooms.rooms[0].listener.turns))
        finally:
            await rooms.close()
    types = satellite.types()
    for kind in ("run-satellite", "detection", "voice-started", "voice-stopped", "transcript", "audio-start"):
        assert kind in types, (kind, types)
    assert types.index("detection") < types.index("transcript") < types.index("audio-start")
    assert types.count("audio-chunk") > 0
    room = rooms.rooms[0]
    assert room.listener.turns[0].outcome == "ok" and room.pipeline.room == "Area 0"
    assert rooms.status()[0]["turns"] == 1


async def test_a_satellite_with_its_own_wake_word_starts_the_turn_itself() -> None:
    said = chunks((SPEECH, 6), (SILENCE, 8))  # no wake word in its stream: it woke on its own
    async with FakeSatellite(said, start=PipelineStage.ASR) as satellite:
        rooms = await start_rooms(satellite)
        try:
            await until(lambda: "audio-stop" in satellite.types())
        finally:
            await rooms.close()
    assert "transcript" in satellite.types()


async def test_two_rooms_speaking_at_once_are_both_answered_each_in_its_own_room() -> None:
    async with FakeSatellite(chunks(*QUESTION)) as one, FakeSatellite(chunks(*QUESTION)) as two:
        rooms = await start_rooms(one, two)
        try:
            await until(lambda: all(r.listener.turns for r in rooms.rooms))
        finally:
            await rooms.close()
    assert [len(r.listener.turns) for r in rooms.rooms] == [1, 1]
    assert [r.listener.turns[0].record.get("route") for r in rooms.rooms] == ["llm", "llm"]


async def test_stereo_44k_audio_is_heard_as_16k_mono() -> None:
    stream = SatelliteStream()
    stream.feed(np.full(4410 * 2, 1000, np.int16).tobytes(), AudioFormat(44100, 2, 2))
    got = [c async for c in _take(stream, 1)]
    assert len(got[0]) == 1280 and abs(int(np.median(got[0])) - 1000) <= 1


async def _take(stream: SatelliteStream, n: int):
    count = 0
    async for chunk in stream.chunks():
        yield chunk
        count += 1
        if count == n:
            return


async def test_an_unreachable_satellite_is_retried_with_back_off(monkeypatch, caplog) -> None:
    monkeypatch.setattr(sat, "BACKOFF_S", (0.05, 0.1))
    satellite = FakeSatellite(chunks(*QUESTION))
    async with FakeSatellite([]) as placeholder:  # a free port, then closed: nothing listens there
        port = placeholder.port
    satellite.port = port
    caplog.set_level(logging.WARNING)
    rooms = await start_rooms(satellite)
    try:
        await asyncio.sleep(0.3)
        assert rooms.status()[0]["connected"] is False
        assert sum("unreachable" in r.message for r in caplog.records) == 1, "one warning, then quiet retries"
        async with satellite:
            await until(lambda: "audio-stop" in satellite.types())
    finally:
        await rooms.close()


@pytest.mark.parametrize(
    "garbage",
    [
        b"this is not json\n",
        b'{"type": 5}\n',
        b'{"type": "audio-chunk", "payload_length": -3}\n',
        b"[1, 2]\n",
    ],
)
async def test_a_bad_frame_resets_that_satellite_only(monkeypatch, caplog, garbage: bytes) -> None:
    monkeypatch.setattr(sat, "BACKOFF_S", (0.05,))
    caplog.set_level(logging.WARNING)

    class Rude(FakeSatellite):
        async def _session(self, reader, writer):
            if self.connections == 0:
                self.connections += 1
                await async_read_event(reader)
                writer.write(garbage)
                await writer.drain()
                await asyncio.sleep(0.5)
                writer.close()
                return
            await super()._session(reader, writer)

    async with Rude(chunks(*QUESTION)) as rude, FakeSatellite(chunks(*QUESTION)) as good:
        rooms = await start_rooms(rude, good)
        try:
            await until(lambda: "audio-stop" in good.types() and "audio-stop" in rude.types())
        finally:
            await rooms.close()
    assert any("broke the protocol" in r.message for r in caplog.records)
    mine = [r for r in caplog.records if r.name.startswith("homeplm")]
    assert not any(r.exc_info for r in mine), "one line, no traceback"


async def test_an_unusable_audio_format_is_skipped_with_a_line(caplog) -> None:
    caplog.set_level(logging.WARNING)
    room_audio = chunks(*QUESTION)

    class Odd(FakeSatellite):
        async def _session(self, reader, writer):
            await async_read_event(reader)
            self.received.append(Event("run-satellite"))
            reading = asyncio.create_task(self._read(reader))
            bad = AudioChunk(rate=16000, width=3, channels=1, audio=b"\0" * 300).event()
            await async_write_event(bad, writer)
            await async_write_event(Event("what-is-this", {"x": 1}), writer)
            await async_write_event(RunPipeline(PipelineStage.WAKE, PipelineStage.TTS).event(), writer)
            for piece in room_audio:
                await async_write_event(AudioChunk(16000, 2, 1, piece.tobytes()).event(), writer)
                await asyncio.sleep(0.002)
            await async_write_event(AudioStop().event(), writer)
            await reading

    async with Odd([]) as odd:
        rooms = await start_rooms(odd)
        try:
            await until(lambda: "audio-stop" in odd.types())
        finally:
            await rooms.close()
    assert any("24-bit audio is not supported" in r.message for r in caplog.records)
    assert rooms.rooms[0].connects == 1, "the connection stayed up"


def test_the_name_stands_for_the_room_without_an_area() -> None:
    main, *_ = make_pipeline()
    room = SatelliteRoom(
        SatelliteSettings("k", "tcp://127.0.0.1:1", ""), main.settings, main, FakeWake(), FakeVad()
    )
    assert room.pipeline.room == "k", "the name stands for the room when no area is given"


async def test_a_timer_set_in_a_room_is_rung_and_stopped_there(tmp_path) -> None:
    from homeplm.planner.service import Planner

    async with FakeSatellite([]) as satellite:
        rooms = await start_rooms(satellite)
        try:
            planner = Planner(Settings(), tmp_path)
            rooms.attach_planner(planner)
            room = rooms.rooms[0]
            assert rooms.pipeline_for("area 0") is room.pipeline and rooms.pipeline_for("attic") is None
            assert planner.ringer.stop in room.pipeline.on_stop and room.listener.alert is not None
            await planner.close()
        finally:
            await rooms.close()


async def test_a_rooms_timers_are_shown_on_its_satellite(tmp_path) -> None:
    import dataclasses
    import time

    from homeplm.planner.service import Planner
    from homeplm.planner.store import Item

    async with FakeSatellite([]) as satellite:
        rooms = await start_rooms(satellite)
        try:
            await until(lambda: "run-satellite" in satellite.types())
            planner = Planner(Settings(), tmp_path)
            rooms.attach_planner(planner)
            pasta = planner.store.add(
                Item(0, "timer", name="pasta", due=time.time() + 600, duration=600, room="Area 0")
            )
            planner.store.add(
                Item(0, "timer", name="tea", due=time.time() + 60, duration=60)
            )  # the box's own
            await until(lambda: "timer-started" in satellite.types())
            started = next(e for e in satellite.received if e.type == "timer-started")
            assert started.data["name"] == "pasta" and started.data["start_minutes"] == 10
            planner.store.update(dataclasses.replace(pasta, due=None, remaining=500.0))  # paused
            await until(lambda: "timer-updated" in satellite.types())
            updated = next(e for e in satellite.received if e.type == "timer-updated")
            assert updated.data["is_active"] is False and updated.data["total_seconds"] == 500
            planner.ringer.on_ring(pasta)  # type: ignore[misc]
            planner.store.remove(pasta.id)
            await until(lambda: "timer-finished" in satellite.types())
            await asyncio.sleep(0.05)
            assert "timer-cancelled" not in satellite.types(), "a finished timer is not also cancelled"
            assert satellite.types().count("timer-started") == 1, "the box's own timer is not the room's"
            await planner.close()
        finally:
            await rooms.close()
