"""MQTT in a homeplm process: the broker link, the house's devices plugged into the fast intents,
recognition biased with their names, and — in the daemon — the Home Assistant bridge."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import TYPE_CHECKING, Any

from homeplm.config.schema import Settings
from homeplm.core.events import EventBus, PipelineEvent
from homeplm.voice.asr_bias import command_prompt

if TYPE_CHECKING:
    from homeplm.assistant import PlugIns

_LOGGER = logging.getLogger(__name__)

# Retained discovery messages arrive right after connecting; commands wait this long for them.
HOUSE_SETTLE_S = 1.5


class HouseLink:
    """The broker link and the house's devices; it plugs its intents and recognition bias into the
    pipeline when the pipeline is built (`plugins()`), and in the daemon bridges Home Assistant."""

    def __init__(self, settings: Settings) -> None:
        from homeplm.backends.mqtt_paho import PahoLink
        from homeplm.house import DeviceRegistry
        from homeplm.mqtt.ha_entities import availability_topic, state_topic

        mqtt = settings.mqtt
        self.settings = settings
        self.link = PahoLink(mqtt, asyncio.get_running_loop(), availability_topic=availability_topic(mqtt))
        self.registry = DeviceRegistry(self.link, mqtt)
        self.event_topic = state_topic(mqtt, "custom_event")
        self.bridge: Any = None
        self.rooms: Any = None  # the satellite rooms' devices in Home Assistant (the daemon)
        self.devices: Any = None  # the device intents, once plugged in
        self._space: tuple[Any, Any] | None = None  # (the devices it was built from, CommandSpace)

    def plugins(self) -> PlugIns:
        """Custom sentences and device control after the built-in intents; the house's names for ASR."""
        from homeplm.assistant import PlugIns
        from homeplm.house import DeviceActions, DeviceIntents, SentenceIntents
        from homeplm.house.free_route import make_route
        from homeplm.house.home_facts import HomeFacts

        mqtt = self.settings.mqtt
        devices = self.devices = DeviceIntents(self.registry, DeviceActions(self.link, self.registry))
        return PlugIns(
            intents=[
                SentenceIntents.from_settings(self.link, mqtt, on_event=self._publish_custom_event),
                devices,
                HomeFacts.from_settings(self.registry, self.settings),
            ],
            asr_prompt=self.asr_prompt,
            asr_candidates=self.asr_candidates,
            routes=[lambda settings, chat: make_route(settings, chat, devices)],
        )

    def asr_prompt(self) -> str | None:
        """The house's names as commands after the wake phrase (see voice/asr_bias.py)."""
        from homeplm.voice.wakephrase import phrases_for

        phrases = phrases_for(self.settings.wake.models)
        devices = self.registry.devices()
        pairs = [(d.name, d.component) for d in devices]
        areas = sorted({d.area for d in devices if d.area and d.component == "light"})
        return command_prompt(pairs, phrases[0] if phrases else None, areas)

    def asr_candidates(self, text: str) -> list[str]:
        """The house's own sentences nearest to a heard command that names nothing the house has
        ("turn off the Heaton"), for the recogniser to choose from (voice/recheck.py); none when the
        command is understood as heard."""
        from homeplm.house.command_space import CommandSpace

        if self.devices is None or self.devices.understood(text):
            return []
        devices = self.registry.devices()
        shape = tuple((d.name, d.component, d.area, d.aliases, d.modes) for d in devices)
        if self._space is None or self._space[0] != shape:
            self._space = (shape, CommandSpace.of(devices))
        return [sentence for sentence, _ in self._space[1].nearest(text)]

    async def start(self, control: Any = None) -> None:
        """Connect (a broker that is down is retried in the background; voice keeps working)."""
        self.registry.start()
        if control is not None:
            from homeplm.mqtt.bridge import HomeAssistantBridge

            self.bridge = HomeAssistantBridge(self.link, self.settings.mqtt, control)
            self.bridge.start()
        await self.link.start()

    async def settle(self) -> None:
        """Give the broker a moment to deliver the retained discovery of the house."""
        await asyncio.sleep(HOUSE_SETTLE_S)

    async def connect(self, emit: EventBus, knobs: Any = None) -> None:
        """Connect and follow the event stream; in the daemon (with its knobs) Home Assistant's
        bridge too. A one-off run acts at once, so it waits for the retained discovery first."""
        await self.start(knobs)
        emit.add(self.on_event)
        if knobs is not None:
            return
        await self.settle()
        if not self.link.connected:
            mqtt = self.settings.mqtt
            print(
                f"homeplm: cannot reach the MQTT broker at {mqtt.host}:{mqtt.port}; "
                "answering without the house's devices",
                file=sys.stderr,
                flush=True,
            )

    def show_planner(self, planner: Any) -> None:
        """Timers, alarms, reminders and lists as entities of homeplm's device (the daemon)."""
        from homeplm.mqtt.planner_entities import PlannerBridge

        PlannerBridge(self.link, self.settings.mqtt, planner).start()

    def show_rooms(self, satellites: Any) -> None:
        """Each satellite room as a device of its own in Home Assistant (the daemon), on this link."""
        from homeplm.mqtt.room_bridge import RoomBridge

        self.rooms = RoomBridge(self.link, self.settings.mqtt, satellites.rooms)
        self.rooms.start()

    def on_event(self, event: PipelineEvent) -> None:
        if self.bridge is not None:
            self.bridge.on_event(event)

    def _publish_custom_event(self, data: dict[str, Any]) -> None:
        self.link.publish(self.event_topic, json.dumps(data))

    async def stop(self) -> None:
        if self.rooms is not None:
            self.rooms.stop()
        if self.bridge is not None:
            await self.bridge.stop()
        await self.link.stop()


def describe_devices(house: HouseLink) -> list[dict[str, Any]]:
    return [
        {
            "name": d.name,
            "area": d.area,
            "component": d.component,
            "source": d.source,
            "capabilities": sorted(d.capabilities),
            "state": {k: v for k, v in d.state.items() if v is not None},
        }
        for d in sorted(house.registry.devices(), key=lambda d: (d.area or "", d.name))
    ]
