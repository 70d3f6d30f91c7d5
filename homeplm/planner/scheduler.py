"""Runs timers, alarms and reminders on time, from the store, across restarts.

One asyncio task sleeps until the soonest item is due (or the store changes), then hands the item to
`on_due` (the ringer) and takes it off the store — a repeating alarm moves to its next day instead.
At start, what came due while the box was down is rung if it is less than `missed_grace_s` late and
logged (and dropped) otherwise. The clock and the sleep are injected: the tests run days in
milliseconds, a daylight-saving night included.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta, tzinfo

from homeplm.planner.store import Item, PlannerStore
from homeplm.planner.when import at_local

_LOGGER = logging.getLogger(__name__)

MISSED_GRACE_S = 600.0
# Never sleep longer than this: a wall clock that jumps (NTP after boot) is noticed within it.
MAX_SLEEP_S = 30.0

OnDue = Callable[[Item, float], Awaitable[None]]  # the item, and how late it is (seconds)


def next_repeat(item: Item, after: float, zone: tzinfo) -> float | None:
    """The next time a repeating alarm rings after `after`, by its local wall time; None if it
    does not repeat."""
    if not item.repeat or not item.local_time:
        return None
    days = {int(d) for d in item.repeat.split(",") if d.strip().isdigit()}
    hour, minute = (int(p) for p in item.local_time.split(":"))
    start = datetime.fromtimestamp(after, zone)
    for offset in range(0, 8):
        day = (start + timedelta(days=offset)).date()
        if day.weekday() not in days:
            continue
        when = at_local(day, hour, minute, zone)
        if when.timestamp() > after:
            return when.timestamp()
    return None


class Scheduler:
    """Call `start()` in the daemon; `changed()` after the store changes (the store does it)."""

    def __init__(
        self,
        store: PlannerStore,
        on_due: OnDue,
        zone: tzinfo,
        *,
        clock: Callable[[], float] = time.time,
        missed_grace_s: float = MISSED_GRACE_S,
    ) -> None:
        self.store = store
        self.on_due = on_due
        self.zone = zone
        self.clock = clock
        self.missed_grace_s = missed_grace_s
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._ringing: set[asyncio.Task[None]] = set()
        store.on_change(self.changed)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.catch_up()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for task in list(self._ringing):
            task.cancel()
        await asyncio.gather(*self._ringing, return_exceptions=True)

    def busy(self) -> bool:
        """Something is being rung now."""
        return bool(self._ringing)

    def changed(self) -> None:
        """Thread-safe: the store may change from a worker thread or the control socket."""
        if self._loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: the daemon is stopping
            self._loop.call_soon_threadsafe(self._wake.set)

    def catch_up(self) -> None:
        """At start: what came due while homeplm was not running."""
        now = self.clock()
        for item in self.store.items():
            if item.due is None or item.due > now:
                continue
            late = now - item.due
            if late <= self.missed_grace_s:
                continue  # rung by the loop at once, with "while I was off"
            _LOGGER.warning(
                "%s %d was due %.0f s ago while homeplm was not running; not rung (missed_grace_s: %.0f)",
                item.kind,
                item.id,
                late,
                self.missed_grace_s,
            )
            self._done(item, now)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            now = self.clock()
            pending = [i for i in self.store.items() if i.due is not None]
            for item in (i for i in pending if i.due is not None and i.due <= now):
                self._done(item, now)
                self._ring(item, now - (item.due or now))
            upcoming = [i.due for i in pending if i.due is not None and i.due > now]
            delay = min([MAX_SLEEP_S, *(due - now for due in upcoming)])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, delay))

    def _ring(self, item: Item, late: float) -> None:
        task = asyncio.create_task(self._call(item, late))
        self._ringing.add(task)
        task.add_done_callback(self._ringing.discard)

    async def _call(self, item: Item, late: float) -> None:
        try:
            await self.on_due(item, late)
        except asyncio.CancelledError:
            raise
        except Exception:
            _LOGGER.exception("ringing %s %d failed", item.kind, item.id)

    def _done(self, item: Item, now: float) -> None:
        """Off the store, or on to its next day when it repeats."""
        following = next_repeat(item, max(now, item.due or now), self.zone)
        if following is None:
            self.store.remove(item.id)
        else:
            self.store.update(replace(item, due=following))
