"""The planner's operations for the admin CLI and the daemon's control socket: list, add, remove,
clear, export and wipe, each answering plain JSON-able data."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from homeplm.core.errors import HomeplmError
from homeplm.planner import when
from homeplm.planner.lists import items_of, key, list_name
from homeplm.planner.store import Item, PlannerStore

KINDS = ("timer", "alarm", "reminder")


class PlannerOps:
    """`call(op, args)`: what `homeplm timers|alarms|reminders|lists` does."""

    def __init__(self, store: PlannerStore, zone: tzinfo, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.zone = zone
        self.clock = clock

    def call(self, op: str, args: dict[str, Any]) -> Any:
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            raise HomeplmError(f"unknown planner operation {op!r}", code="usage")
        return handler(**args)

    # -- timers, alarms, reminders ---------------------------------------------------------------
    def op_show(self, kind: str) -> list[dict[str, Any]]:
        now = self.clock()
        return [self._describe(i, now) for i in self.store.items(_kind(kind))]

    def op_add(self, kind: str, when_text: str, name: str = "", text: str = "") -> dict[str, Any]:
        kind, said, now = _kind(kind), when_text.lower().strip(), self.clock()
        length = when.duration(said)
        if kind == "timer":
            if length is None or not 1 <= length[0] <= 86400:
                raise HomeplmError(
                    f"not a duration from 1 s to 24 h: {when_text!r} (say '12 minutes')", code="usage"
                )
            item = Item(0, "timer", name=name, due=now + length[0], duration=length[0])
        else:
            due, repeat, local = self._when(kind, said, length)
            item = Item(0, kind, name=name, text=text, due=due, repeat=repeat, local_time=local)
        return self._describe(self.store.add(item), now)

    def _when(self, kind: str, said: str, length: tuple[float, when.Span] | None) -> tuple[float, str, str]:
        if length is not None and said.startswith("in "):
            return self.clock() + length[0], "", ""
        now = datetime.fromtimestamp(self.clock(), self.zone)
        day = when.day_spec(said)
        moment = when.next_time(now, when.clock_time(f"at {said}"), day, kind=kind, default_hour=7)
        if moment is None:
            raise HomeplmError(f"not a time: {said!r} (say '7 am tomorrow' or 'in 20 minutes')", code="usage")
        repeat = ",".join(map(str, day.repeat)) if day is not None and day.repeat else ""
        return moment.timestamp(), repeat, f"{moment.hour:02d}:{moment.minute:02d}" if repeat else ""

    def op_remove(self, kind: str, ids: list[int]) -> int:
        mine = {i.id for i in self.store.items(_kind(kind))}
        return self.store.remove(*(int(i) for i in ids if int(i) in mine))

    def op_clear(self, kind: str) -> int:
        return self.store.remove(*(i.id for i in self.store.items(_kind(kind))))

    def _describe(self, item: Item, now: float) -> dict[str, Any]:
        data = item.as_dict()
        data["left_s"] = round(item.left(now), 1)
        if item.due is not None:
            data["due_local"] = datetime.fromtimestamp(item.due, self.zone).isoformat(timespec="seconds")
        return data

    # -- lists -----------------------------------------------------------------------------------
    def op_lists(self, name: str | None = None) -> dict[str, list[str]]:
        lists = {n: [e.item for e in entries] for n, entries in self.store.lists().items()}
        if name is None:
            return lists
        return {list_name(name): lists.get(list_name(name), [])}

    def op_list_add(self, name: str, items: list[str]) -> list[str]:
        said = [i for entry in items for i in items_of(entry)]
        return [i for i in said if self.store.add_to_list(list_name(name), key(i), i)]

    def op_list_remove(self, name: str, items: list[str]) -> list[str]:
        said = [i for entry in items for i in items_of(entry)]
        return [i for i in said if self.store.remove_from_list(list_name(name), key(i))]

    def op_list_clear(self, name: str) -> int:
        return self.store.clear_list(list_name(name))

    # -- privacy ---------------------------------------------------------------------------------
    def op_export(self) -> dict[str, Any]:
        return self.store.export()

    def op_wipe(self) -> int:
        count = len(self.store.items()) + sum(len(v) for v in self.store.lists().values())
        self.store.wipe()
        return count


def _kind(kind: str) -> str:
    kind = kind.rstrip("s")
    if kind not in KINDS:
        raise HomeplmError(f"not one of {', '.join(KINDS)}: {kind!r}", code="usage")
    return kind
