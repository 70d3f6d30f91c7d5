"""Speech for Wyoming clients: sentences through the pipeline's voice (its phrase cache over piper,
in the "tts" worker), sent as audio events at the voice's own rate; and streaming synthesis, where
text arrives in pieces and each sentence is spoken as soon as it is complete."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Iterator

import numpy as np
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event

from homeplm.core.stages import TextToSpeech
from homeplm.core.workers import VOICE, worker
from homeplm.voice.splitter import SentenceSplitter

_LOGGER = logging.getLogger(__name__)

CHUNK_S = 0.1  # audio per chunk event
MAX_TEXT_CHARS = 20_000  # per request, streamed or not

Write = Callable[[Event], Awaitable[None]]


class TextTooLong(Exception):
    """A request's text is over MAX_TEXT_CHARS."""


def sentences(text: str) -> list[str]:
    """A whole text as the sentences it is spoken in (as the pipeline says a fixed text)."""
    splitter = SentenceSplitter(min_chars=0, first_clause_chars=None)
    return [*splitter.push(text + " "), *splitter.flush()]


def audio_events(audio: np.ndarray, rate: int) -> Iterator[Event]:
    """int16 mono audio as chunk events of CHUNK_S each."""
    step = max(1, int(rate * CHUNK_S))
    for start in range(0, len(audio), step):
        block = audio[start : start + step].astype("<i2", copy=False).tobytes()
        yield AudioChunk(rate=rate, width=2, channels=1, audio=block).event()


class Voice:
    """The pipeline's voice for one connection: `render` a sentence, `say` it as audio events."""

    def __init__(self, tts: TextToSpeech, write: Write) -> None:
        self.tts = tts
        self.rate = tts.sample_rate
        self.write = write
        self.first_audio_s: float | None = None  # time from the request to its first audio chunk

    async def render(self, sentence: str) -> np.ndarray:
        # A person is waiting for this (Home Assistant speaks it next): voice priority.
        return await worker("tts").call(functools.partial(self.tts.synthesize, sentence), VOICE)

    async def start(self) -> None:
        await self.write(AudioStart(rate=self.rate, width=2, channels=1).event())

    async def stop(self) -> None:
        await self.write(AudioStop().event())

    async def chunks(self, sentence: str, started: float) -> int:
        """Render one sentence and write its chunk events; returns the samples written."""
        audio = await self.render(sentence)
        for event in audio_events(audio, self.rate):
            if self.first_audio_s is None:
                self.first_audio_s = asyncio.get_running_loop().time() - started
            await self.write(event)
        return len(audio)

    async def say(self, text: str) -> int:
        """A whole text: one audio-start, the sentences' chunks as each is rendered, audio-stop."""
        if len(text) > MAX_TEXT_CHARS:
            raise TextTooLong(f"text of {len(text)} characters (at most {MAX_TEXT_CHARS})")
        started = asyncio.get_running_loop().time()
        await self.start()
        samples = 0
        for sentence in sentences(text):
            samples += await self.chunks(sentence, started)
        await self.stop()
        return samples


class SynthesisStream:
    """One streaming synthesis: `push` text as it comes, `finish` when it ends; each sentence is said
    (audio-start, chunks, audio-stop) in order while more text is still arriving."""

    def __init__(self, voice: Voice) -> None:
        self.voice = voice
        self.splitter = SentenceSplitter()  # as for a streamed reply: a long first clause goes early
        self.chars = 0
        self.samples = 0
        self.said = 0
        self._started = asyncio.get_running_loop().time()
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._speak_all(), name="wyoming synthesis stream")

    def push(self, text: str) -> None:
        self.chars += len(text)
        if self.chars > MAX_TEXT_CHARS:
            raise TextTooLong(f"streamed text over {MAX_TEXT_CHARS} characters")
        for sentence in self.splitter.push(text):
            self._queue.put_nowait(sentence)

    async def finish(self) -> None:
        """Say what is left; returns once every sentence has been sent."""
        for sentence in self.splitter.flush():
            self._queue.put_nowait(sentence)
        self._queue.put_nowait(None)
        await self._task

    async def cancel(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    @property
    def failed(self) -> bool:
        return self._task.done() and not self._task.cancelled() and self._task.exception() is not None

    async def _speak_all(self) -> None:
        while (sentence := await self._queue.get()) is not None:
            await self.voice.start()
            self.samples += await self.voice.chunks(sentence, self._started)
            await self.voice.stop()
            self.said += 1
