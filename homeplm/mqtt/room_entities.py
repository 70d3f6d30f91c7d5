"""Each satellite room as a device of its own in Home Assistant (MQTT discovery): pure functions.

A room (`satellites:`) is the device "homeplm <name>", reached through homeplm's own device and
suggested for the room's area, with three entities:

- `sensor` "Assist state": that room's turn (idle, listening, thinking, speaking, muted, error);
- `sensor` "Last turn": its route and outcome ("intent:everyday.sum ok"), the latency in its
  attributes; what was said and answered only where `mqtt.publish_transcript` / `publish_reply` allow;
- `switch` "Mute": that room's microphone.

Topics: `<topic_prefix>/<node_id>/rooms/<slug>/…`. Every entity lists two availability topics,
homeplm's and the room's (`…/rooms/<slug>/availability`: "online" while its satellite is connected),
with `availability_mode: all`: a room whose satellite dropped off is greyed out, and every room is
when homeplm stops.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from homeplm.config.schema import MqttSettings
from homeplm.mqtt import ha_entities as disco

ONLINE, OFFLINE = "online", "offline"


@dataclass(frozen=True, slots=True)
class Room:
    """What Home Assistant is told about a room: its topic name, its name and its area."""

    slug: str
    name: str
    area: str = ""


def room_slug(name: str) -> str:
    """A topic- and id-safe name for a room ("Living room" → "living_room")."""
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return slug or "room_" + hashlib.sha1(name.encode()).hexdigest()[:8]


def room_slugs(names: Sequence[str]) -> list[str]:
    """One slug per room, distinct even where two names make the same one ("Hall", "hall")."""
    seen: set[str] = set()
    slugs = []
    for name in names:
        slug = base = room_slug(name)
        n = 2
        while slug in seen:
            slug, n = f"{base}_{n}", n + 1
        seen.add(slug)
        slugs.append(slug)
    return slugs


def room_topic(settings: MqttSettings, room: Room, key: str) -> str:
    """Where homeplm publishes the room's `key` (its state, or its availability)."""
    return disco.state_topic(settings, f"rooms/{room.slug}/{key}")


def room_command_topic(settings: MqttSettings, room: Room, key: str) -> str:
    return disco.command_topic(settings, f"rooms/{room.slug}/{key}")


def room_availability_topic(settings: MqttSettings, room: Room) -> str:
    return room_topic(settings, room, "availability")


def room_device_info(settings: MqttSettings, room: Room) -> dict[str, Any]:
    own = disco.device_info(settings)
    device = {
        "identifiers": [f"{settings.node_id}_{room.slug}"],
        "name": f"homeplm {room.name}",
        "via_device": settings.node_id,
        "manufacturer": own["manufacturer"],
        "model": "homeplm satellite room",
        "sw_version": own["sw_version"],
    }
    return {**device, "suggested_area": room.area} if room.area else device


def object_id(room: Room, key: str) -> str:
    """The entity's id on homeplm's node (`room_<slug>_<key>`: no clash with homeplm's own keys)."""
    return f"room_{room.slug}_{key}"


def room_entity(settings: MqttSettings, room: Room, key: str, name: str, **fields: Any) -> dict[str, Any]:
    """One entity of the room's device: available only while homeplm and the room's satellite are."""
    payload = disco.entity(settings, object_id(room, key), name, **fields)
    del payload["availability_topic"]
    topics = (disco.availability_topic(settings), room_availability_topic(settings, room))
    return {
        **payload,
        "device": room_device_info(settings, room),
        "availability": [
            {"topic": t, "payload_available": ONLINE, "payload_not_available": OFFLINE} for t in topics
        ],
        "availability_mode": "all",
    }


def entities(settings: MqttSettings, room: Room) -> list[tuple[str, str, dict[str, Any]]]:
    """(component, key, payload) of the room's entities."""
    s, r = settings, room
    return [
        (
            "sensor",
            "state",
            room_entity(
                s,
                r,
                "state",
                "Assist state",
                state_topic=room_topic(s, r, "state"),
                device_class="enum",
                options=list(disco.ASSIST_STATES),
                icon="mdi:account-voice",
            ),
        ),
        (
            "sensor",
            "last_turn",
            room_entity(
                s,
                r,
                "last_turn",
                "Last turn",
                state_topic=room_topic(s, r, "last_turn"),
                json_attributes_topic=room_topic(s, r, "last_turn_attributes"),
                icon="mdi:history",
            ),
        ),
        (
            "switch",
            "mute",
            room_entity(
                s,
                r,
                "mute",
                "Mute",
                state_topic=room_topic(s, r, "mute"),
                command_topic=room_command_topic(s, r, "mute"),
                icon="mdi:microphone-off",
            ),
        ),
    ]


def discovery_messages(settings: MqttSettings, room: Room) -> list[tuple[str, dict[str, Any]]]:
    """(config topic, payload) for each of the room's entities; publish them retained."""
    return [
        (disco.discovery_topic(settings, component, object_id(room, key)), payload)
        for component, key, payload in entities(settings, room)
    ]


def last_turn(
    settings: MqttSettings,
    *,
    route: str | None,
    outcome: str,
    latency_ms: float | None = None,
    transcript: str | None = None,
    reply: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """The "Last turn" state ("intent:everyday.sum ok") and its attributes. What was said and
    answered are there only where the privacy settings let homeplm publish them."""
    state = " ".join(part for part in (route, outcome) if part)[: disco.TEXT_MAX]
    attributes: dict[str, Any] = {
        "route": route,
        "outcome": outcome,
        "latency_ms": None if latency_ms is None else round(latency_ms),
    }
    if settings.publish_transcript and transcript is not None:
        attributes["transcript"] = transcript[: disco.TEXT_MAX]
    if settings.publish_reply and reply is not None:
        attributes["reply"] = reply[: disco.TEXT_MAX]
    return state or outcome, attributes
