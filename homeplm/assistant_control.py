"""The running assistant's knobs, as Home Assistant's entities turn them (the MQTT bridge calls
these): mute, private mode, wake word and sensitivity, volume, announce, ask, forget last."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from homeplm import factory
from homeplm.config.schema import Settings
from homeplm.errors import HomeplmError
from homeplm.listener import Listener
from homeplm.pipeline import Pipeline, Stage
from homeplm.wakephrase import phrases_for

_LOGGER = logging.getLogger(__name__)


def _inner(wake: Any) -> Any:
    """The wake word model itself, inside the VAD gate if there is one."""
    return getattr(wake, "wake", wake)


class DaemonControl:
    def __init__(self, settings: Settings, pipeline: Pipeline, listener: Listener, memory: Any) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.listener = listener
        self.memory = memory
        self.wake_word = settings.wake.models[0]
        self._swap: asyncio.Task[None] | None = None

    def set_muted(self, on: bool) -> None:
        self.listener.muted = on

    def set_private(self, on: bool) -> None:
        if self.memory is not None:
            self.memory.private = on

    def set_wake_word(self, name: str) -> None:
        """Load the new wake word model in the background, then swap it in."""
        if name == self.wake_word:
            return
        self.wake_word = name
        settings = replace(self.settings, wake=replace(self.settings.wake, models=(name,)))
        self._swap = asyncio.get_running_loop().create_task(self._load_wake(settings))

    async def _load_wake(self, settings: Settings) -> None:
        try:
            wake = await asyncio.to_thread(factory.make_wake, settings)
        except HomeplmError as err:
            _LOGGER.warning("cannot switch the wake word: %s", err)
            return
        _inner(wake).threshold = _inner(self.listener.wake).threshold
        self.listener.wake = wake
        self.pipeline.wake_phrases = phrases_for(settings.wake.models)
        _LOGGER.info("wake word is now %s", settings.wake.models[0])

    def set_sensitivity(self, threshold: float) -> None:
        _inner(self.listener.wake).threshold = threshold

    def set_volume(self, volume: float) -> None:
        self.pipeline.volume = volume

    async def announce(self, text: str) -> None:
        await self.pipeline.speak(text)

    async def ask(self, text: str) -> str:
        result = await self.pipeline.run_text(text, Stage.TTS, source="mqtt")
        return result.reply or ""

    async def forget_last(self) -> bool:
        if self.memory is None:
            return False
        return await asyncio.to_thread(self.memory.forget_last_exchange) is not None

    def snapshot(self) -> dict[str, Any]:
        return {
            "muted": self.listener.muted,
            "private": bool(self.memory is not None and self.memory.private),
            "wake_word": self.wake_word,
            "sensitivity": float(_inner(self.listener.wake).threshold),
            "volume": self.pipeline.volume,
        }
