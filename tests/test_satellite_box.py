"""`homeplm satellite` (issue 14): this box as a Wyoming satellite, owned by homeplm's hub or by Home
Assistant. An owner made of the wyoming package's own client on loopback; fakes for the microphone,
speaker and wake word: milliseconds. The hub owning a real `homeplm satellite` is the last test."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.event import Event
from wyoming.info import Describe, Info
from wyoming.ping import Ping
from wyoming.satellite import RunSatellite

from homeplm.wyoming.satellite_box import SatelliteBox
from tests.fakes import SILENCE, SPEECH, WAKE, FakeWake, chunks


class Mic:
    """Chunks from a queue, as a live microphone gives them."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[np.ndarray | None] = asyncio.Queue()

    def say(self, *spec: tuple[int, int]) -> None:
        for piece in chunks(*spec):
            self.queue.put_nowait(piece)

    async def chunks(self) -> AsyncIterator[np.ndarray]:
        while (piece := await self.queue.get()) is not None:
            yield piece

    def discard_pending(self) -> None:
        return None

    async def close(self) -> None:
        self.queue.put_nowait(None)


class Speaker:
    sample_rate = 22050

    def __init__(self) -> None:
        self.played: list[np.ndarray] = []
        self.drains = 0

    async def play(self, audio: np.ndarray) -> None:
        self.played.append(audio)

    async def drain(self) -> None:
        self.drains += 1

    def stop(self) -> None:
        return None

    async def close(self) -> None:
        return None


@contextlib.asynccontextmanager
async def box_on_loopback(wake=None):
    mic, speaker = Mic(), Speaker()
    box = SatelliteBox("den", "Den", mic, speaker, wake)
    server = await asyncio.start_server(box.connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    listening = asyncio.create_task(box.listen())
    try:
        yield box, mic, speaker, port
    finally:
        await mic.close()
        await asyncio.wait_for(listening, 2)
        server.close()


async def read_until(client: AsyncTcpClient, kind: str, timeout: float = 2.0) -> list[Event]:
    got: list[Event] = []
    async with asyncio.timeout(timeout):
        while True:
            event = await client.read_event()
            assert event is not None, got
            got.append(event)
            if event.type == kind:
                return got


async def test_an_owner_is_told_what_it_is_and_hears_the_microphone() -> None:
    async with box_on_loopback() as (box, mic, speaker, port), AsyncTcpClient("127.0.0.1", port) as owner:
        await owner.write_event(Describe().event())
        info = Info.from_event((await read_until(owner, "info"))[-1])
        assert info.satellite is not None and info.satellite.name == "den" and info.satellite.area == "Den"
        mic.say((SPEECH, 3))  # before run-satellite: not sent
        await owner.write_event(RunSatellite().event())
        run = (await read_until(owner, "run-pipeline"))[-1]
        assert run.data["start_stage"] == "wake" and run.data["end_stage"] == "tts"
        mic.say((WAKE, 2), (SPEECH, 2))
        audio = [e for e in await read_until(owner, "audio-chunk") if e.type == "audio-chunk"]
        first = AudioChunk.from_event(audio[0])
        assert (first.rate, first.width, first.channels) == (16000, 2, 1)
        assert np.frombuffer(first.audio, np.int16)[0] == WAKE, (
            "what was said before run-satellite is not sent"
        )


async def test_what_the_owner_sends_is_played_at_the_speakers_rate_and_acknowledged() -> None:
    async with box_on_loopback() as (box, mic, speaker, port), AsyncTcpClient("127.0.0.1", port) as owner:
        tone = (np.sin(np.arange(16000) / 5) * 8000).astype(np.int16)
        await owner.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        for start in range(0, len(tone), 4000):
            piece = tone[start : start + 4000].tobytes()
            await owner.write_event(AudioChunk(rate=16000, width=2, channels=1, audio=piece).event())
        await owner.write_event(AudioStop().event())
        await read_until(owner, "played")
    played = np.concatenate(speaker.played)
    assert abs(len(played) - 22050) <= 4 and speaker.drains == 1
    assert box.played_s == pytest.approx(1.0, abs=0.01)


async def test_with_its_own_wake_word_it_streams_from_the_wake_word_until_the_transcript() -> None:
    async with (
        box_on_loopback(FakeWake()) as (box, mic, speaker, port),
        AsyncTcpClient("127.0.0.1", port) as owner,
    ):
        await owner.write_event(RunSatellite().event())
        await asyncio.sleep(0.05)
        mic.say((SPEECH, 4))  # talk without the wake word: nothing goes
        mic.say((SILENCE, 2), (WAKE, 1), (SPEECH, 3))
        got = await read_until(owner, "detection")
        assert [e.type for e in got] == ["run-pipeline", "detection"]
        assert got[0].data["start_stage"] == "asr" and got[0].data["wake_word_name"] == "hey_jarvis"
        sent = [e for e in await read_until(owner, "audio-chunk")]
        first = np.frombuffer(AudioChunk.from_event(sent[-1]).audio, np.int16)[0]
        assert first in (SILENCE, SPEECH, WAKE), "the pre-roll (the audio before the wake word) goes first"
        await owner.write_event(Transcript(text="what time is it").event())
        await asyncio.sleep(0.1)
        assert not box.streaming, "the transcript ends the stream: back to the wake word"


async def test_a_broken_owner_loses_its_connection_and_the_next_one_is_served(caplog) -> None:
    async with box_on_loopback() as (box, mic, speaker, port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b'{"type": "audio-chunk", "payload_length": 99999999999}\n')
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 2) == b"", "the box closed it"
        writer.close()
        async with AsyncTcpClient("127.0.0.1", port) as owner:
            await owner.write_event(Ping(text="hi").event())
            assert (await read_until(owner, "pong"))[-1].data["text"] == "hi"
    assert any("broke the protocol" in r.message for r in caplog.records)


async def test_a_new_owner_replaces_the_old_one() -> None:
    async with box_on_loopback() as (box, mic, speaker, port), AsyncTcpClient("127.0.0.1", port) as old:
        await old.write_event(RunSatellite().event())
        await read_until(old, "run-pipeline")
        async with AsyncTcpClient("127.0.0.1", port) as new:
            await new.write_event(RunSatellite().event())
            await read_until(new, "run-pipeline")
            mic.say((SPEECH, 2))
            await read_until(new, "audio-chunk")
            assert box.owners == 2


@pytest.mark.real
def test_the_hub_owns_a_homeplm_satellite_and_answers_through_it(tmp_path: Path, start_daemon) -> None:
    """A real `homeplm satellite` (microphone: a pipe; speaker: a WAV) owned by a real hub."""
    import socket
    import subprocess

    from homeplm.backends.piper_tts import PiperTts
    from homeplm.backends.whisper_stt import WhisperStt
    from homeplm.config.schema import AsrSettings, TtsSettings
    from homeplm.core.audio import SAMPLE_RATE, resample
    from homeplm.voice.wavio import load_wav_16k
    from tests.harness import REPO

    tts = PiperTts(TtsSettings())
    question = resample(tts.synthesize("Hey Jarvis, what is nine times nine?"), tts.sample_rate, SAMPLE_RATE)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = tmp_path / "den.wav"
    command = [sys.executable, "-m", "homeplm", "satellite", "--uri", f"tcp://127.0.0.1:{port}"]
    command += ["--name", "den", "--area", "Den", "--input", "-", "--output", str(out)]
    box = subprocess.Popen(command, cwd=REPO, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert box.stdin is not None
    try:
        config = f"satellites:\n  - name: den\n    uri: tcp://127.0.0.1:{port}\n    area: Den\n"
        hub = start_daemon(config=config)
        hub.wait_for("satellite den connected", timeout=180)
        silence = np.zeros(1280, np.int16).tobytes()
        for _ in range(40):  # 3.2 s: the hub's wake word detector fills its window
            box.stdin.write(silence)
            box.stdin.flush()
            time.sleep(0.08)
        for start in range(0, len(question), 1280):
            box.stdin.write(question[start : start + 1280].tobytes())
            box.stdin.flush()
            time.sleep(0.08)
        for _ in range(60):
            box.stdin.write(silence)
            box.stdin.flush()
            time.sleep(0.08)
        hub.wait_for("den answered", timeout=60)
    finally:
        box.stdin.close()  # the end of its microphone ends the satellite, which closes the WAV
        box.wait(timeout=30)
    text = WhisperStt(AsrSettings()).transcribe(load_wav_16k(out)).text
    print(f"\nthe den's speaker said: {text!r}")
    assert "81" in text or "eighty" in text.lower()
