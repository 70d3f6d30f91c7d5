"""The timers set in a satellite's room, shown on that satellite as Home Assistant shows them (a Voice
PE's ring of lights counts down): `timer-started` when one is set, `timer-updated` when it is paused,
resumed or changed, `timer-cancelled` when it is removed, `timer-finished` when it rings."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from wyoming.timer import TimerCancelled, TimerFinished, TimerStarted, TimerUpdated

from homeplm.planner.store import Item


class RoomTimers:
    """Follows the planner's store and ringer; tells each room's satellite about its own timers."""

    def __init__(self, rooms: list[Any], planner: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.rooms = rooms  # SatelliteRoom: .pipeline.room, .send(event)
        self.store = planner.store
        self.loop = loop
        self._sent: dict[int, tuple[str, float | None, float | None]] = {}  # id → (room, due, remaining)
        self._finished: set[int] = set()
        planner.store.on_change(self._changed)  # from any thread
        previous = planner.ringer.on_ring

        def on_ring(item: Item) -> None:
            if previous is not None:
                previous(item)
            self.finished(item)

        planner.ringer.on_ring = on_ring
        self.sync()

    def _changed(self) -> None:
        self.loop.call_soon_threadsafe(self.sync)

    def _room(self, name: str) -> Any:
        wanted = name.strip().lower()
        return next((r for r in self.rooms if (r.pipeline.room or "").lower() == wanted), None)

    def _send(self, room_name: str, event: Any) -> None:
        room = self._room(room_name)
        if room is not None:
            room.send(event.event())

    def sync(self) -> None:
        """Compare the store's timers with what each satellite was told, and tell it the difference."""
        now = time.time()
        timers = {i.id: i for i in self.store.items("timer") if i.room and self._room(i.room) is not None}
        for gone in [i for i in self._sent if i not in timers]:
            room = self._sent.pop(gone)[0]
            if gone not in self._finished:
                self._send(room, TimerCancelled(id=str(gone)))
            self._finished.discard(gone)
        for item_id, item in timers.items():
            state = (item.room, item.due, item.remaining)
            left = round(item.left(now))
            if item_id not in self._sent:
                whole = round(item.duration or left)
                hours, rest = divmod(whole, 3600)
                started = TimerStarted(
                    id=str(item_id),
                    total_seconds=left,
                    name=item.name or None,
                    start_hours=hours,
                    start_minutes=rest // 60,
                    start_seconds=rest % 60,
                )
                self._send(item.room, started)
            elif self._sent[item_id] != state:
                updated = TimerUpdated(id=str(item_id), is_active=not item.paused, total_seconds=left)
                self._send(item.room, updated)
            self._sent[item_id] = state

    def finished(self, item: Item) -> None:
        """It rings: the satellite of its room is told (before the store forgets it)."""
        if item.kind == "timer" and item.room:
            self._finished.add(item.id)
            self._send(item.room, TimerFinished(id=str(item.id)))
