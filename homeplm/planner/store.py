"""Timers, alarms, reminders and lists on disk: SQLite (the standard library's), WAL, fsync on commit.

What was confirmed to a person ("Timer set for 12 minutes") was committed first, with
`synchronous=FULL`: a power cut or kill -9 right after loses nothing confirmed. Times are UTC epoch
seconds; an alarm's repeat rule keeps its local wall time ("07:00" on weekdays), so it follows the
house's time zone across daylight-saving changes.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('timer', 'alarm', 'reminder')),
    name TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL DEFAULT '',
    due REAL,
    remaining REAL,
    duration REAL,
    repeat TEXT NOT NULL DEFAULT '',
    local_time TEXT NOT NULL DEFAULT '',
    speaker TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    room TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS list_items (
    list TEXT NOT NULL,
    key TEXT NOT NULL,
    item TEXT NOT NULL,
    added REAL NOT NULL,
    speaker TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (list, key)
);
"""


@dataclass(frozen=True, slots=True)
class Item:
    """A timer, alarm or reminder. A paused timer has no `due` but its `remaining` seconds."""

    id: int
    kind: str
    name: str = ""
    text: str = ""
    due: float | None = None
    remaining: float | None = None
    duration: float | None = None
    repeat: str = ""  # weekdays it repeats on, "0,1,2,3,4" (Monday = 0); "" for once
    local_time: str = ""  # "07:00": the wall time a repeating alarm keeps
    speaker: str = ""
    created: float = 0.0
    room: str = ""  # the room it was set in (a satellite's area): it rings there

    @property
    def paused(self) -> bool:
        return self.due is None and self.remaining is not None

    def left(self, now: float) -> float:
        """Seconds until it is due (a paused timer: what was left when it was paused)."""
        if self.due is None:
            return self.remaining or 0.0
        return max(0.0, self.due - now)

    def as_dict(self) -> dict[str, object]:
        return {f: getattr(self, f) for f in self.__slots__}


@dataclass(frozen=True, slots=True)
class ListItem:
    """One entry of a list ("butter" on the shopping list)."""

    list: str
    item: str
    added: float
    speaker: str = ""


class PlannerStore:
    """The planner's SQLite file; every method is one transaction, safe from any thread."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(items)")}
        if "room" not in columns:  # a store from before rooms: its items ring where homeplm itself is
            self._db.execute("ALTER TABLE items ADD COLUMN room TEXT NOT NULL DEFAULT ''")
        self._listeners: list[Callable[[], None]] = []

    def on_change(self, listener: Callable[[], None]) -> None:
        """Called after every change (the scheduler re-plans, Home Assistant's entities update)."""
        self._listeners.append(listener)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        for listener in list(self._listeners):
            listener()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- timers, alarms, reminders -------------------------------------------------------------
    def add(self, item: Item) -> Item:
        fields = item.as_dict()
        del fields["id"]
        fields["created"] = fields["created"] or self.clock()
        with self._write() as db:
            cursor = db.execute(
                f"INSERT INTO items ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})",
                tuple(fields.values()),
            )
        return replace(item, id=int(cursor.lastrowid or 0), created=float(fields["created"]))  # type: ignore[arg-type]

    def update(self, item: Item) -> None:
        fields = item.as_dict()
        del fields["id"]
        with self._write() as db:
            db.execute(
                f"UPDATE items SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?",
                (*fields.values(), item.id),
            )

    def remove(self, *ids: int) -> int:
        if not ids:
            return 0
        with self._write() as db:
            cursor = db.execute(f"DELETE FROM items WHERE id IN ({', '.join('?' * len(ids))})", ids)
        return cursor.rowcount

    def items(self, kind: str | None = None) -> list[Item]:
        """Soonest first (paused timers after the running ones)."""
        query = "SELECT * FROM items" + (" WHERE kind = ?" if kind else "")
        with self._lock:
            self._db.row_factory = sqlite3.Row
            rows = self._db.execute(query, (kind,) if kind else ()).fetchall()
            self._db.row_factory = None
        found = [Item(**dict(row)) for row in rows]
        return sorted(found, key=lambda i: (i.due is None, i.due or 0.0, i.remaining or 0.0, i.id))

    # -- lists -------------------------------------------------------------------------------------
    def add_to_list(self, name: str, key: str, item: str, speaker: str = "") -> bool:
        """False when it was there already (one entry per item, whatever the plural)."""
        with self._write() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO list_items (list, key, item, added, speaker) VALUES (?, ?, ?, ?, ?)",
                (name, key, item, self.clock(), speaker),
            )
        return cursor.rowcount == 1

    def remove_from_list(self, name: str, key: str) -> bool:
        with self._write() as db:
            cursor = db.execute("DELETE FROM list_items WHERE list = ? AND key = ?", (name, key))
        return cursor.rowcount == 1

    def clear_list(self, name: str) -> int:
        with self._write() as db:
            cursor = db.execute("DELETE FROM list_items WHERE list = ?", (name,))
        return cursor.rowcount

    def list_items(self, name: str) -> list[ListItem]:
        with self._lock:
            rows = self._db.execute(
                "SELECT list, item, added, speaker FROM list_items WHERE list = ? ORDER BY added, rowid",
                (name,),
            ).fetchall()
        return [ListItem(*row) for row in rows]

    def lists(self) -> dict[str, list[ListItem]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT list, item, added, speaker FROM list_items ORDER BY list, added, rowid"
            ).fetchall()
        out: dict[str, list[ListItem]] = {}
        for row in rows:
            out.setdefault(row[0], []).append(ListItem(*row))
        return out

    def has(self, name: str, key: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM list_items WHERE list = ? AND key = ?", (name, key)
            ).fetchone()
        return row is not None

    # -- privacy -----------------------------------------------------------------------------------
    def export(self) -> dict[str, object]:
        return {
            "items": [i.as_dict() for i in self.items()],
            "lists": {name: [e.item for e in entries] for name, entries in self.lists().items()},
        }

    def wipe(self) -> None:
        with self._write() as db:
            db.execute("DELETE FROM items")
            db.execute("DELETE FROM list_items")
