"""Speaks sentences as they arrive: TTS in a worker thread, audio to the sink, in order."""

from __future__ import annotations

import asyncio
import logging
from functools import partial

import numpy as np

from homeplm.core.audio import resample
from homeplm.core.events import AudioOut, EventCallback, EventData, PipelineEvent, TtsEnd, TtsStart
from homeplm.core.stages import AudioSink, TextToSpeech
from homeplm.core.workers import worker

_LOGGER = logging.getLogger(__name__)


class SentenceSpeaker:
    """put() sentences while the reply streams; finish() waits until all is played."""

    def __init__(
        self, tts: TextToSpeech, sink: AudioSink, emit: EventCallback, run_id: int, volume: float
    ) -> None:
        self.tts = tts
        self.sink = sink
        self.emit = emit
        self.run_id = run_id
        self.volume = volume
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._speak_all())
        self.sentences = 0
        self.audio_ms = 0

    def put(self, sentence: str) -> None:
        self._queue.put_nowait(sentence)

    async def finish(self) -> None:
        self._queue.put_nowait(None)
        await self._task

    async def cancel(self) -> None:
        self.sink.stop()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _speak_all(self) -> None:
        while (sentence := await self._queue.get()) is not None:
            if self.sentences == 0:
                self._emit(TtsStart())
            audio = await worker("tts").call(partial(self._render, sentence))
            if self.sentences == 0:
                self._emit(AudioOut(self.sink.sample_rate))
            self.sentences += 1
            self.audio_ms += len(audio) * 1000 // self.sink.sample_rate
            await self.sink.play(audio)
        await self.sink.drain()
        if self.sentences:
            self._emit(TtsEnd(self.sentences, self.audio_ms))

    def _render(self, sentence: str) -> np.ndarray:
        audio = self.tts.synthesize(sentence)
        if self.volume != 1.0:
            audio = np.clip(audio.astype(np.float32) * self.volume, -32768, 32767).astype(np.int16)
        return resample(audio, self.tts.sample_rate, self.sink.sample_rate)

    def _emit(self, data: EventData) -> None:
        self.emit(PipelineEvent(data, self.run_id))
