"""When a timer ends, an alarm goes off or a reminder is due: a ring at once, then the words, again
with gaps between (so the wake word and "stop" are heard) until someone says stop or it times out.

The ring tone goes straight to the speaker, without speech synthesis, so it sounds on time even
while the language model is busy; the words follow through the pipeline's speech.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from homeplm.planner.store import Item
from homeplm.planner.when import say_duration

_LOGGER = logging.getLogger(__name__)


def message(item: Item, late: float) -> str:
    """What is said: "Your rice timer is done.", "Reminder: water the plants.", "It's 7 o'clock."."""
    who = f"{item.speaker}, " if item.speaker else ""
    missed = f" (that was {say_duration(late)} ago, while I was off)" if late >= 60 else ""
    if item.kind == "timer":
        label = f"{item.name} timer" if item.name else f"{say_duration(item.duration or 0)} timer"
        text = f"{who}your {label} is done{missed}."
    elif item.kind == "reminder":
        about = item.text if item.text.startswith("about ") else f": {item.text}"
        text = f"{who}a reminder{' ' if about.startswith('about') else ''}{about}{missed}."
    else:
        text = f"{who}time to get up: it's your alarm{missed}."
    return text[0].upper() + text[1:]


class Ringer:
    """Rings one item at a time (a second waits its turn); `stop()` ends the one ringing, `pause()`
    hushes it while someone speaks (the listener: a wake word, or a voice in a gap) until `resume()`."""

    def __init__(
        self,
        *,
        timeout_s: float = 60.0,
        gap_s: float = 2.0,
        speak_every: int = 3,
        on_ring: Callable[[Item], None] | None = None,
    ) -> None:
        self.pipeline: Any = None  # attached once the pipeline is built
        # A room's own pipeline (a satellite's), by the room an item was set in; None: homeplm's own.
        self.room_pipelines: Callable[[str], Any] | None = None
        self._where: Any = None  # the pipeline the current ring sounds through
        self.timeout_s = timeout_s
        self.gap_s = gap_s
        self.speak_every = speak_every
        self.on_ring = on_ring
        self.current: Item | None = None
        self.last: Item | None = None  # what rang last: "snooze" after "stop" still means it
        self._last_at = 0.0
        self._stop = asyncio.Event()
        self._turn = asyncio.Lock()
        self._free = asyncio.Event()  # cleared while paused
        self._free.set()
        self._speaking = False

    def ringing(self) -> Item | None:
        """What rings now, or what rang in the last minute (for "snooze")."""
        if self.current is not None:
            return self.current
        return self.last if time.monotonic() - self._last_at < 60 else None

    def listening(self) -> bool:
        """Something rings and its words are not being said: a voice now is a person's."""
        return self.current is not None and not self._speaking

    def alert_for(self, room: str) -> RoomAlert:
        """What a room's listener watches: only what rings in that room ("" for homeplm's own)."""
        return RoomAlert(self, room)

    def pipeline_for(self, item: Item) -> Any:
        """The pipeline an item rings through: the room it was set in, else homeplm's own."""
        if item.room and self.room_pipelines is not None:
            found = self.room_pipelines(item.room)
            if found is not None:
                return found
        return self.pipeline

    def pause(self) -> None:
        """Hush at once (the sound playing is cut) and hold the next ring until `resume()`."""
        if self.current is None:
            return
        self._free.clear()
        sink = getattr(self._where or self.pipeline, "sink", None)
        if sink is not None:
            sink.stop()

    def resume(self) -> None:
        self._free.set()

    def stop(self) -> bool:
        """Stop the ring now; True if something was ringing."""
        was = self.current is not None
        self._stop.set()
        self._free.set()
        return was

    async def ring(self, item: Item, late: float) -> None:
        async with self._turn:
            self._stop.clear()
            self.current = self.last = item
            self._where = self.pipeline_for(item)
            words = message(item, late)
            _LOGGER.info("ringing %s %d (%.1f s late)", item.kind, item.id, late)
            if self.on_ring is not None:
                self.on_ring(item)
            deadline = time.monotonic() + self.timeout_s
            try:
                rounds = 0
                while await self._may_ring(deadline):
                    await self._play_ring()
                    if rounds % self.speak_every == 0 and await self._may_ring(deadline):
                        self._speaking = True
                        try:
                            await self._say(words)
                        finally:
                            self._speaking = False
                    rounds += 1
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), timeout=self.gap_s)
            finally:
                self.current = None
                self._free.set()
                self._last_at = time.monotonic()
            _LOGGER.info(
                "%s %d stopped %s", item.kind, item.id, "by voice" if self._stop.is_set() else "(timeout)"
            )

    async def _may_ring(self, deadline: float) -> bool:
        """Waits while paused; False once stopped or timed out."""
        while not self._free.is_set() and not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._free.wait(), timeout=max(0.01, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                return False
        return not self._stop.is_set() and time.monotonic() < deadline

    async def _play_ring(self) -> None:
        from homeplm.voice.chime import ring_tone

        sink = getattr(self._where, "sink", None)
        if sink is not None:
            await sink.play(ring_tone(sink.sample_rate))

    async def _say(self, words: str) -> None:
        if self._where is None:
            _LOGGER.warning("nothing to speak with: %s", words)
            return
        try:
            await self._where.speak(words)
        except Exception as err:  # no TTS: the ring alone still tells
            _LOGGER.warning("could not say %r: %s", words, err)


class RoomAlert:
    """A ringer as one room's listener sees it: only what rings in that room."""

    def __init__(self, ringer: Ringer, room: str) -> None:
        self.ringer, self.room = ringer, room

    def _here(self) -> bool:
        item = self.ringer.current
        return item is not None and self.ringer.pipeline_for(item) is self.ringer.pipeline_for(
            Item(0, item.kind, room=self.room)
        )

    def listening(self) -> bool:
        return self._here() and self.ringer.listening()

    def pause(self) -> None:
        if self._here():
            self.ringer.pause()

    def resume(self) -> None:
        self.ringer.resume()
