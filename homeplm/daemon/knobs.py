"""The running assistant's knobs, and their one owner: mute, private mode, wake word and its
sensitivity, volume (plus announce, ask and forget-last for Home Assistant).

Home Assistant (the MQTT bridge), the control socket (`homeplm mute`) and SIGHUP (reload) all turn
them through one `Knobs` object, and whoever listens (the bridge) hears of every change, whichever
side made it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from homeplm.backends import factory
from homeplm.config.schema import Settings
from homeplm.core.errors import HomeplmError
from homeplm.core.stages import inner_wake
from homeplm.mqtt.payloads import clean_text
from homeplm.voice.listener import Listener
from homeplm.voice.pipeline import Pipeline, Stage
from homeplm.voice.wakephrase import phrases_for

_LOGGER = logging.getLogger(__name__)


class Knobs:
    """Owns the running knobs; every change goes through it and is told to `listeners`."""

    def __init__(self, settings: Settings, pipeline: Pipeline, listener: Listener, memory: Any) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.listener = listener
        self.memory = memory
        self.wake_word = settings.wake.models[0]  # the model listening now: what Home Assistant is told
        self._wanted = self.wake_word  # the latest request
        self._swap: asyncio.Task[None] | None = None
        # Called after any knob changed (the Home Assistant bridge republishes the states).
        self.listeners: list[Callable[[], None]] = []
        self.other_rooms: list[Pipeline] = []  # the satellites' pipelines: announcements go there too

    def _changed(self) -> None:
        for listener in self.listeners:
            try:
                listener()
            except Exception:  # a listener's failure must not undo or block the change
                _LOGGER.exception("a knob listener failed")

    def set_muted(self, on: bool) -> None:
        self.listener.muted = on
        self._changed()

    def set_private(self, on: bool) -> None:
        if self.memory is not None:
            self.memory.private = on
        self._changed()

    async def set_wake_word(self, name: str) -> None:
        """Switch to `name`; the latest request wins. Returns once it is settled: swapped in,
        superseded by a later request, or failed (the current model then stays)."""
        self._wanted = name
        if self._swap is None or self._swap.done():
            self._swap = asyncio.get_running_loop().create_task(self._settle_wake())
        # Shielded: a caller that gives up (the bridge stopping) must not cancel a half-done swap.
        await asyncio.shield(self._swap)

    async def _settle_wake(self) -> None:
        """One load at a time; a model that is no longer wanted when it arrives is thrown away."""
        while self._wanted != self.wake_word:
            name = self._wanted
            wake = await self._load_wake(name)
            if self._wanted != name:
                _LOGGER.info("wake word %s loaded but no longer wanted", name)
                continue
            if wake is None:
                self._wanted = self.wake_word  # keep the model that works
                continue
            inner_wake(wake).threshold = inner_wake(self.listener.wake).threshold
            self.listener.wake = wake
            self.pipeline.wake_phrases = phrases_for((name,))
            self.wake_word = name
            _LOGGER.info("wake word is now %s", name)
            self._changed()

    async def _load_wake(self, name: str) -> Any:
        settings = replace(self.settings, wake=replace(self.settings.wake, models=(name,)))
        try:
            return await asyncio.to_thread(factory.make_wake, settings)
        except HomeplmError as err:
            _LOGGER.warning("cannot switch the wake word to %s: %s", name, err)
        except Exception:
            _LOGGER.exception("loading the wake word %s failed", name)
        return None

    def set_sensitivity(self, threshold: float) -> None:
        inner_wake(self.listener.wake).threshold = threshold  # the model listening now, not a stale one
        self._changed()

    def set_volume(self, volume: float) -> None:
        self.pipeline.volume = volume
        self._changed()

    def reload_appliers(self) -> dict[str, Callable[[Any], None]]:
        """What SIGHUP may change at once, each through its knob."""
        appliers: dict[str, Callable[[Any], None]] = {
            "wake.threshold": self.set_sensitivity,
            "tts.volume": self.set_volume,
        }
        if self.memory is not None:
            appliers["memory.private"] = self.set_private
        return appliers

    async def announce(self, text: str) -> None:
        """Said in every room: homeplm's own and each satellite's (`other_rooms`), at once."""
        said = clean_text(text)  # the bridge cleans it too; a NUL must never reach TTS
        await asyncio.gather(self.pipeline.speak(said), *(room.speak(said) for room in self.other_rooms))

    async def announce_in(self, text: str, room: str | None, asking: str | None) -> list[str]:
        """Said in the room named (a satellite's area or name), or in every room but the asking one;
        where it was said ("the kitchen", "the main speaker")."""
        rooms: list[tuple[str, Pipeline, str | None]] = [("the main speaker", self.pipeline, None)]
        rooms += [(f"the {(p.room or '').lower()}", p, p.room) for p in self.other_rooms]
        if room:
            targets = [(name, p) for name, p, r in rooms if r is not None and r.lower() == room.lower()]
        else:
            targets = [(name, p) for name, p, r in rooms if r != asking]
        await asyncio.gather(*(p.speak(clean_text(text)) for _, p in targets))
        return [name for name, _ in targets]

    async def ask(self, text: str) -> str:
        result = await self.pipeline.run_text(clean_text(text), Stage.TTS, source="mqtt")
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
            "sensitivity": float(inner_wake(self.listener.wake).threshold),
            "volume": self.pipeline.volume,
        }


class LateAnnouncer:
    """The "announce …" intent's way to the rooms: built with the brain, before the knobs exist
    (nothing is announced without them: a file run, `homeplm ask`)."""

    def __init__(self) -> None:
        self.knobs: Knobs | None = None

    async def __call__(self, text: str, room: str | None, asking: str | None) -> list[str]:
        return await self.knobs.announce_in(text, room, asking) if self.knobs is not None else []


DaemonControl = Knobs  # the name the bridge's tests and Home Assistant side used
