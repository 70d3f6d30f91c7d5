"""Timers, alarms, reminders and lists in Home Assistant, on homeplm's own MQTT device.

- `sensor.homeplm_next_alarm` (timestamp), `sensor.homeplm_active_timers` (count; the soonest, its
  time left and every timer as attributes);
- `event.homeplm_planner` — `timer_finished`, `alarm`, `reminder_due`, with the name or text — for
  automations ("flash the kitchen light when the rice is done");
- one sensor per list (count; `items` as an attribute), and `text.homeplm_add_to_list` to add from
  Home Assistant: "butter" goes on the shopping list, "to-do: call the plumber" on the to-do list.

States are published (retained) after every change of the store, from whichever thread made it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import datetime
from typing import Any

from homeplm.config.schema import MqttSettings
from homeplm.mqtt import ha_entities as disco
from homeplm.mqtt.payloads import clean_text, preview
from homeplm.mqtt.types import MqttLink, MqttMessage

_LOGGER = logging.getLogger(__name__)

EVENT_TYPES = {"timer": "timer_finished", "alarm": "alarm", "reminder": "reminder_due"}
ALWAYS_LISTS = ("shopping", "to-do")


def list_key(name: str) -> str:
    return "list_" + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def entities(settings: MqttSettings, lists: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
    s = settings
    found: list[tuple[str, str, dict[str, Any]]] = [
        ("sensor", "next_alarm", disco.entity(
            s, "next_alarm", "Next alarm", state_topic=disco.state_topic(s, "next_alarm"),
            device_class="timestamp", icon="mdi:alarm",
        )),
        ("sensor", "active_timers", disco.entity(
            s, "active_timers", "Active timers", state_topic=disco.state_topic(s, "active_timers"),
            json_attributes_topic=disco.state_topic(s, "active_timers_attributes"), icon="mdi:timer-outline",
            state_class="measurement",
        )),
        ("event", "planner", disco.entity(
            s, "planner", "Timer, alarm or reminder", state_topic=disco.state_topic(s, "planner"),
            event_types=sorted(EVENT_TYPES.values()), icon="mdi:bell-ring",
        )),
        ("text", "add_to_list", disco.entity(
            s, "add_to_list", "Add to list", command_topic=disco.command_topic(s, "add_to_list"),
            max=disco.TEXT_MAX, icon="mdi:playlist-plus",
        )),
    ]  # fmt: skip
    for name in sorted({*ALWAYS_LISTS, *lists}):
        key = list_key(name)
        payload = disco.entity(
            s, key, f"{name.capitalize()} list", state_topic=disco.state_topic(s, key),
            json_attributes_topic=disco.state_topic(s, f"{key}_attributes"), icon="mdi:format-list-checks",
        )  # fmt: skip
        found.append(("sensor", key, payload))
    return found


class PlannerBridge:
    """Keeps the planner's entities in Home Assistant current; takes items to add to a list."""

    def __init__(self, link: MqttLink, settings: MqttSettings, planner: Any) -> None:
        self._link = link
        self._settings = settings
        self._planner = planner
        self._loop = asyncio.get_running_loop()
        self._lists: set[str] = set()

    def start(self) -> None:
        self._planner.store.on_change(self._changed)
        self._planner.ringer.on_ring = self.on_ring
        self._link.subscribe(disco.command_topic(self._settings, "add_to_list"), self._on_add)
        self._link.on_connect(self.publish_all)
        if self._link.connected:
            self.publish_all()

    def publish_all(self) -> None:
        lists = self._planner.store.lists()
        self._lists = set(lists)
        for component, key, payload in entities(self._settings, list(lists)):
            self._link.publish(
                disco.discovery_topic(self._settings, component, key), json.dumps(payload), retain=True
            )
        self.publish_states()

    def _changed(self) -> None:
        """From any thread (the store's listeners run where the change was made)."""
        self._loop.call_soon_threadsafe(self._refresh)

    def _refresh(self) -> None:
        if set(self._planner.store.lists()) - self._lists:
            self.publish_all()  # a new list: a new sensor
        else:
            self.publish_states()

    def publish_states(self) -> None:
        store, zone = self._planner.store, self._planner.zone
        now = self._planner.scheduler.clock()
        alarms = [i for i in store.items("alarm") if i.due is not None]
        next_alarm = datetime.fromtimestamp(alarms[0].due, zone).isoformat() if alarms else "None"
        self._publish("next_alarm", next_alarm)
        timers = store.items("timer")
        self._publish("active_timers", str(len(timers)))
        described = [
            {"name": t.name, "remaining_s": round(t.left(now)), "paused": t.paused,
             "ends_at": datetime.fromtimestamp(t.due, zone).isoformat() if t.due else None}
            for t in timers
        ]  # fmt: skip
        soonest = described[0] if described else {}
        attributes = {"soonest": soonest.get("name"), "remaining_s": soonest.get("remaining_s"),
                      "ends_at": soonest.get("ends_at"), "timers": described}  # fmt: skip
        self._publish("active_timers_attributes", json.dumps(attributes))
        lists = {n: [e.item for e in entries] for n, entries in store.lists().items()}
        for name in sorted({*ALWAYS_LISTS, *lists, *self._lists}):
            key, items = list_key(name), lists.get(name, [])
            self._publish(key, str(len(items)))
            self._publish(f"{key}_attributes", json.dumps({"list": name, "items": items}))

    def on_ring(self, item: Any) -> None:
        event = {
            "event_type": EVENT_TYPES[item.kind],
            "kind": item.kind,
            "name": item.name,
            "text": item.text,
        }
        self._link.publish(disco.state_topic(self._settings, "planner"), json.dumps(event), retain=False)

    def _on_add(self, message: MqttMessage) -> None:
        from homeplm.planner.lists import items_of, key, list_name

        try:
            text = clean_text(message.payload.decode("utf-8"))[: disco.TEXT_MAX].strip()
        except UnicodeDecodeError:
            _LOGGER.warning("ignored an add-to-list payload that is not UTF-8: %s", preview(message.payload))
            return
        name, sep, rest = text.partition(":")
        target = list_name(name.strip().lower()) if sep and rest.strip() and len(name) <= 40 else "shopping"
        items = items_of(rest if sep and rest.strip() and len(name) <= 40 else text)
        for item in items[:20]:
            self._planner.store.add_to_list(target, key(item), item, "home assistant")

    def _publish(self, key: str, payload: str) -> None:
        self._link.publish(disco.state_topic(self._settings, key), payload, retain=True)
