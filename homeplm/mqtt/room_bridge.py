"""The satellite rooms in Home Assistant: each room's discovery, availability, assist state, last
turn and mute switch, over the house link's MQTT connection (no second one).

Everything runs on the asyncio loop: the link calls handlers there, and each room tells its events
and its connection changes from the loop (`SatelliteRoom.event_listeners` / `connection_listeners`).
A bad mute payload is logged once and ignored.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from homeplm.config.schema import MqttSettings
from homeplm.core.events import EventType, PipelineEvent, ReplyEnd, RunEnd, RunStart, Transcript
from homeplm.mqtt import room_entities as rooms_disco
from homeplm.mqtt.bridge import MAX_JITTER_S, STATE_OF_EVENT, parse_switch, rediscover_later
from homeplm.mqtt.payloads import WarnLimiter, preview
from homeplm.mqtt.room_entities import OFFLINE, ONLINE, Room
from homeplm.mqtt.types import MqttLink, MqttMessage

_LOGGER = logging.getLogger(__name__)

# Turns of one room followed at once (a turn and an announcement); older ones are forgotten.
MAX_OPEN_TURNS = 8


@dataclass(slots=True)
class _Turn:
    start: str = "audio"
    speech_end_ms: float | None = None
    latency_ms: float | None = None
    transcript: str | None = None
    reply: str | None = None
    route: str | None = None


@dataclass(slots=True)
class _RoomState:
    satellite: Any  # a SatelliteRoom: .name, .entry.area, .connected, .listener.muted
    room: Room
    state: str = "idle"
    turns: dict[int, _Turn] = field(default_factory=dict)


class RoomBridge:
    """Keeps every satellite room's device in Home Assistant current and carries out its mute switch."""

    def __init__(
        self,
        link: MqttLink,
        settings: MqttSettings,
        satellites: Sequence[Any],
        *,
        jitter: Callable[[], float] = lambda: random.uniform(0.0, MAX_JITTER_S),
    ) -> None:
        self._link = link
        self._settings = settings
        self._jitter = jitter
        slugs = rooms_disco.room_slugs([s.name for s in satellites])
        self.rooms = [
            _RoomState(s, Room(slug, s.name, s.entry.area)) for s, slug in zip(satellites, slugs, strict=True)
        ]
        self._rediscover: asyncio.TimerHandle | None = None
        self._warnings = WarnLimiter(_LOGGER)

    def start(self) -> None:
        """Follow each room; subscribe to the mute switches and HA's birth; publish on every connect."""
        for state in self.rooms:
            state.satellite.event_listeners.append(functools.partial(self.on_event, state))
            state.satellite.connection_listeners.append(functools.partial(self._on_connection, state))
            topic = rooms_disco.room_command_topic(self._settings, state.room, "mute")
            self._link.subscribe(topic, functools.partial(self._on_mute, state))
        self._link.subscribe(f"{self._settings.discovery_prefix}/status", self._on_ha_status)
        self._link.on_connect(self.publish_all)
        if self._link.connected:
            self.publish_all()

    def stop(self) -> None:
        if self._rediscover is not None:
            self._rediscover.cancel()

    def publish_all(self) -> None:
        """Discovery, availability and every state (retained): after each connect."""
        self.publish_discovery()
        for state in self.rooms:
            self._publish_online(state)
            self._publish(state, "state", state.state)
            self._publish_mute(state)

    def publish_discovery(self) -> None:
        for state in self.rooms:
            for topic, payload in rooms_disco.discovery_messages(self._settings, state.room):
                self._link.publish(topic, json.dumps(payload), retain=True)

    def _publish(self, state: _RoomState, key: str, payload: str) -> None:
        self._link.publish(rooms_disco.room_topic(self._settings, state.room, key), payload, retain=True)

    def _publish_online(self, state: _RoomState) -> None:
        self._publish(state, "availability", ONLINE if state.satellite.connected else OFFLINE)

    def _on_connection(self, state: _RoomState, connected: bool) -> None:
        _LOGGER.debug("room %s %s", state.room.name, "connected" if connected else "disconnected")
        self._publish_online(state)

    def _publish_mute(self, state: _RoomState) -> None:
        self._publish(state, "mute", "ON" if state.satellite.listener.muted else "OFF")

    def _set_state(self, state: _RoomState, value: str) -> None:
        if value != state.state:
            state.state = value
            self._publish(state, "state", value)

    # -- the room's events ---------------------------------------------------------------------------

    def on_event(self, state: _RoomState, event: PipelineEvent) -> None:
        try:
            self._handle_event(state, event)
        except Exception:
            _LOGGER.exception("room %s: Home Assistant failed on event %s", state.room.name, event.type)

    def _handle_event(self, state: _RoomState, event: PipelineEvent) -> None:
        kind, data = event.type, event.data
        if kind in STATE_OF_EVENT:
            self._set_state(state, STATE_OF_EVENT[kind])
        if isinstance(data, RunStart):
            if len(state.turns) >= MAX_OPEN_TURNS:
                state.turns.pop(next(iter(state.turns)))
            state.turns[event.run_id] = _Turn(start=data.start)
            return
        turn = state.turns.get(event.run_id)
        if isinstance(data, RunEnd):
            state.turns.pop(event.run_id, None)
            if turn is not None and turn.start != "speak":  # an announcement is not a turn
                self._publish_last_turn(state, turn, data.outcome)
            self._set_state(state, "muted" if state.satellite.listener.muted else "idle")
        elif turn is None:
            return
        elif kind is EventType.SPEECH_END:
            turn.speech_end_ms = event.timestamp_ms
        elif kind is EventType.AUDIO_OUT and turn.speech_end_ms is not None and turn.latency_ms is None:
            turn.latency_ms = event.timestamp_ms - turn.speech_end_ms
        elif isinstance(data, Transcript):
            turn.transcript = data.text
        elif isinstance(data, ReplyEnd):
            turn.route, turn.reply = data.route, data.text

    def _publish_last_turn(self, state: _RoomState, turn: _Turn, outcome: str) -> None:
        value, attributes = rooms_disco.last_turn(
            self._settings,
            route=turn.route,
            outcome=outcome,
            latency_ms=turn.latency_ms,
            transcript=turn.transcript,
            reply=turn.reply,
        )
        self._publish(state, "last_turn_attributes", json.dumps(attributes))
        self._publish(state, "last_turn", value)

    # -- Home Assistant's commands -------------------------------------------------------------------

    def _on_mute(self, state: _RoomState, message: MqttMessage) -> None:
        try:
            muted = parse_switch(message.payload.decode("utf-8"))
        except ValueError as err:  # BadCommand, UnicodeDecodeError
            reason = "not UTF-8" if isinstance(err, UnicodeDecodeError) else preview(err)
            self._warnings.warn(
                state.room.slug,
                "ignored a bad mute command for room %s (%s): %s",
                state.room.name,
                reason,
                preview(message.payload),
            )
            return
        state.satellite.listener.muted = muted
        _LOGGER.info("Home Assistant %s room %s", "muted" if muted else "unmuted", state.room.name)
        self._publish_mute(state)
        if state.state in ("idle", "muted"):
            self._set_state(state, "muted" if muted else "idle")

    def _on_ha_status(self, message: MqttMessage) -> None:
        self._rediscover = rediscover_later(message, self._rediscover, self._jitter, self.publish_discovery)
