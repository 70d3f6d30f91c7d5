"""The asking room (a satellite's area, `Turn.room`) as the device intents read it, as Home Assistant's
Assist does: "turn on the light" from the kitchen is the kitchen's light(s).

Only a command that names no area and no device — just a kind ("the light", "the blinds", "the
heating") or nothing at all ("lights off", "how warm is it") — is read in the room, and only when the
room has devices of that kind; otherwise the house-wide rules stand. What was said always wins: an
area or a device named is never overridden, and "all the lights" / "everything" stays house-wide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from homeplm.brain.intents.normalise import normalise
from homeplm.house.device_discovery import Device
from homeplm.house.matching import Found, clean_query, in_area, kind_of, resolve
from homeplm.house.phrasing import Command

# Said, these make a kind house-wide: "turn off all the lights" is the whole house, from any room.
HOUSE_WIDE = frozenset({"all", "every", "everything", "each", "everywhere", "whole", "entire"})


def scope(command: Command, normalised: str, room: str | None) -> str | None:
    """The room to read `command` in, or None when the room has no say in it."""
    if not room or command.area:
        return None
    if HOUSE_WIDE & set(normalised.split()):
        return None
    target = command.target
    if target and kind_of(target.split()) is None:
        return None  # a device named ("the porch light", "ceiling 2"): what was said wins
    return clean_query(normalise(room)) or None


def find_here(
    command: Command,
    normalised: str,
    room: str | None,
    devices: Iterable[Device],
    target: str,
    components: Iterable[str],
    floors: Mapping[str, Iterable[str]] | None,
) -> tuple[str, Found | None]:
    """(the room, its devices of the kind `target` names), or ("", None) when the room has no say in the
    command or has none of them: then the house-wide rules stand."""
    place = scope(command, normalised, room) if target else None
    found = resolve(devices, target, place, components, every=True, floors=floors) if place else None
    return (place or "", found) if found is not None and not found.ambiguous else ("", None)


def inside(
    devices: Iterable[Device], room: str | None, floors: Mapping[str, Iterable[str]] | None
) -> list[Device]:
    """The `devices` in `room` (none without a room)."""
    return [d for d in devices if in_area(room, d, floors)] if room else []
