"""Rooms and the planner (issue 14): a timer rings in the room it was set in, and only that room's
listener stops it without the wake word; Home Assistant's announce is said in every room; a store
from before rooms opens and keeps its items. Fakes: milliseconds."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from homeplm.brain.intents.announce import AnnounceIntent
from homeplm.brain.intents.router import make_builtin_intents
from homeplm.config.schema import Settings
from homeplm.core.stages import Turn
from homeplm.daemon.knobs import Knobs, LateAnnouncer
from homeplm.planner.ringer import Ringer
from homeplm.planner.service import Planner
from homeplm.planner.store import PlannerStore
from homeplm.voice.chime import ring_tone
from homeplm.voice.listener import Listener
from tests.fakes import FakeWake, make_pipeline


class Kept:
    """A sink that keeps what it is given."""

    sample_rate = 22050

    def __init__(self) -> None:
        self.played: list[np.ndarray] = []
        self.stops = 0

    async def play(self, audio: np.ndarray) -> None:
        self.played.append(audio)

    async def drain(self) -> None:
        return None

    def stop(self) -> None:
        self.stops += 1

    async def close(self) -> None:
        return None

    def rang(self) -> bool:
        tone = ring_tone(self.sample_rate)
        return any(len(a) == len(tone) and np.array_equal(a, tone) for a in self.played)


def house() -> tuple[Ringer, Kept, Kept]:
    box, kitchen = Kept(), Kept()
    main, *_ = make_pipeline(sink=box)
    room, *_ = make_pipeline(sink=kitchen)
    room.room = "Kitchen"
    ringer = Ringer(timeout_s=0.3, gap_s=0.05, speak_every=1000)
    ringer.pipeline = main
    ringer.room_pipelines = lambda name: room if name.lower() == "kitchen" else None
    return ringer, box, kitchen


async def test_a_timer_set_in_the_kitchen_rings_in_the_kitchen() -> None:
    from homeplm.planner.store import Item

    ringer, box, kitchen = house()
    ringing = asyncio.create_task(ringer.ring(Item(1, "timer", name="rice", duration=60, room="Kitchen"), 0))
    await asyncio.sleep(0.05)
    assert ringer.alert_for("Kitchen").listening() and not ringer.alert_for("").listening()
    ringer.alert_for("").pause()  # another room's voice does not hush it
    assert kitchen.stops == 0
    ringer.alert_for("Kitchen").pause()
    assert kitchen.stops == 1
    ringer.stop()
    await asyncio.wait_for(ringing, 2)
    assert kitchen.rang() and not box.rang()


async def test_a_timer_set_at_the_box_or_in_an_unknown_room_rings_at_the_box() -> None:
    from homeplm.planner.store import Item

    for room in ("", "Attic"):
        ringer, box, kitchen = house()
        await ringer.ring(Item(1, "timer", name="tea", duration=60, room=room), 0)
        assert box.rang() and not kitchen.rang(), room


async def test_the_room_that_asked_is_kept_with_the_timer(tmp_path: Path) -> None:
    planner = Planner(Settings(), tmp_path)
    route = make_builtin_intents()
    for intent in planner.intents:
        route.register(intent)
    reply = "".join([p async for p in route.reply(Turn("set a pasta timer for 10 minutes", room="Kitchen"))])
    assert "10 minutes" in reply
    assert [i.room for i in planner.store.items()] == ["Kitchen"]
    await planner.close()


def test_a_store_from_before_rooms_opens_and_keeps_its_items(tmp_path: Path) -> None:
    path = tmp_path / "planner.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        """CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, name TEXT NOT NULL
        DEFAULT '', text TEXT NOT NULL DEFAULT '', due REAL, remaining REAL, duration REAL, repeat TEXT NOT
        NULL DEFAULT '', local_time TEXT NOT NULL DEFAULT '', speaker TEXT NOT NULL DEFAULT '', created REAL
        NOT NULL);
        INSERT INTO items (kind, name, due, duration, created) VALUES ('timer', 'eggs', 100.0, 60.0, 1.0);"""
    )
    old.commit()
    old.close()
    store = PlannerStore(path)
    [item] = store.items()
    assert (item.name, item.room) == ("eggs", "")
    store.close()


async def test_home_assistants_announce_is_said_in_every_room() -> None:
    box, kitchen = Kept(), Kept()
    main, *_ = make_pipeline(sink=box)
    room, *_ = make_pipeline(sink=kitchen)
    knobs = Knobs(main.settings, main, Listener(main, FakeWake(), lambda e: None), None)
    knobs.other_rooms.append(room)
    await knobs.announce("Dinner is ready.")
    assert box.played and kitchen.played


def announcing() -> tuple[AnnounceIntent, Kept, Kept, Kept]:
    box, kitchen, office = Kept(), Kept(), Kept()
    main, *_ = make_pipeline(sink=box)
    knobs = Knobs(main.settings, main, Listener(main, FakeWake(), lambda e: None), None)
    for sink, area in ((kitchen, "Kitchen"), (office, "Office")):
        room, *_ = make_pipeline(sink=sink)
        room.room = area
        knobs.other_rooms.append(room)
    announcer = LateAnnouncer()
    announcer.knobs = knobs
    return AnnounceIntent(announcer), box, kitchen, office


async def say(intent: AnnounceIntent, text: str, room: str | None = None) -> str | None:
    match = intent.match(text, text.lower())
    return None if match is None else (await intent.handle(match, Turn(text, room=room))).text


@pytest.mark.parametrize(
    "text",
    ["Announce dinner is ready", "announce that dinner is ready.", "Tell everyone dinner is ready!",
     "Could you announce: dinner is ready", "broadcast dinner is ready",
     "announce to everyone that dinner is ready"],
)  # fmt: skip
async def test_an_announcement_is_said_in_every_other_room(text: str) -> None:
    intent, box, kitchen, office = announcing()
    assert await say(intent, text) == "Announced in the kitchen and the office."
    assert kitchen.played and office.played and not box.played, "not in the asking room"
    assert intent.match(text, text.lower()).slots["text"].lower().startswith("dinner is ready")  # type: ignore[union-attr]


async def test_an_announcement_to_one_room_and_to_a_room_nobody_has() -> None:
    intent, box, kitchen, office = announcing()
    reply = await say(intent, "announce in the office that the taxi is here", room="Kitchen")
    assert reply == "Announced in the office." and office.played and not kitchen.played and not box.played
    intent, box, kitchen, office = announcing()
    assert await say(intent, "announce to the attic: bedtime") == (
        "I don't know a room called attic; nothing was announced."
    )
    assert not (box.played or kitchen.played or office.played)
    intent, *_ = announcing()
    assert await say(intent, "what did you announce?") is None and await say(intent, "announce") is None


async def test_without_the_daemon_nothing_is_announced_and_it_says_so() -> None:
    intent = AnnounceIntent(LateAnnouncer())
    assert await say(intent, "announce dinner is ready") == (
        "I don't know another room to announce it in; nothing was announced."
    )


def test_a_routes_reason_is_not_logged_at_info(caplog) -> None:
    """A fast intent's reason quotes what was said: like the text, it is for DEBUG only."""
    import logging

    from homeplm.core.events import PipelineEvent, ReplyEnd
    from homeplm.core.logs import log_event

    caplog.set_level(logging.INFO, logger="homeplm.core.events")
    log_event(PipelineEvent(ReplyEnd("144.", route="intent:everyday", reason="matched 'my secret sum'"), 1))
    assert "secret" not in caplog.text and "intent:everyday" in caplog.text
