"""Home Assistant's mqtt_statestream: every HA entity's state and friendly name, as read-only knowledge.

Topics are `<prefix>/<domain>/<object_id>/<attribute>`; `state` is the raw state, other attributes
are JSON. Acting on these entities goes through the ha_intent event (`homeplm.house.actions`), never
through their topics.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from homeplm.house.device_discovery import MAX_TEXT, Device
from homeplm.mqtt.payloads import BadPayload, clean_text, loads_json, preview
from homeplm.mqtt.types import MqttLink, MqttMessage

MAX_ENTITIES = 5000
_ATTRIBUTES = frozenset({"state", "friendly_name", "device_class", "unit_of_measurement"})
_ID_PART = re.compile(r"^[a-z0-9_]{1,100}$")


class StateStream:
    """Home Assistant's statestream: every entity's state and attributes over MQTT."""

    def __init__(
        self, prefix: str, warn_once: Callable[[str, str], None], max_bytes: int, own: str = "homeplm"
    ) -> None:
        self.prefix = prefix.strip("/")
        self.own = f"{own}_"  # Home Assistant's mirrors of homeplm's own entities: not the house's
        self._warn_once = warn_once
        self._max_bytes = max_bytes
        self._entities: dict[str, Device] = {}

    def subscribe(self, link: MqttLink) -> None:
        link.subscribe(f"{self.prefix}/+/+/+", self._on_message)

    def entities(self) -> list[Device]:
        return list(self._entities.values())

    def get(self, entity_id: str) -> Device | None:
        return self._entities.get(entity_id)

    def _on_message(self, msg: MqttMessage) -> None:
        try:
            self._update(msg)
        except Exception as err:  # a payload no check foresaw: one line, and the stream goes on
            self._warn_once(msg.topic, f"unexpected {type(err).__name__}: {preview(err)}")

    def _update(self, msg: MqttMessage) -> None:
        parts = msg.topic[len(self.prefix) + 1 :].split("/")
        if len(parts) != 3 or parts[2] not in _ATTRIBUTES:
            return
        domain, object_id, attribute = parts
        if not (_ID_PART.match(domain) and _ID_PART.match(object_id)):
            self._warn_once(msg.topic, "not an entity id")
            return
        if len(msg.payload) > min(self._max_bytes, 4096):
            self._warn_once(msg.topic, "statestream payload too large")
            return
        if object_id.startswith(self.own):
            return
        entity_id = f"{domain}.{object_id}"
        entity = self._entities.get(entity_id)
        if entity is None:
            if len(self._entities) >= MAX_ENTITIES or not msg.payload:
                return
            entity = Device(
                id=entity_id, component=domain, name=object_id.replace("_", " "), source="ha",
                entity_id=entity_id, capabilities=frozenset({"state"}),
            )  # fmt: skip
            entity.state["state"] = None
            self._entities[entity_id] = entity
        text = clean_text(msg.payload.decode("utf-8", "replace"))
        if attribute == "state":
            entity.state["state"] = text[:255] or None
            return
        value = _label(text)
        if attribute == "friendly_name" and value:
            entity.name = value
        elif attribute == "device_class":
            entity.device_class = value
        elif attribute == "unit_of_measurement":
            entity.unit = value


def _label(text: str) -> str | None:
    """An attribute (JSON, or unquoted text from older statestream versions) as one line, or None."""
    try:
        value = loads_json(text) if text else None
    except BadPayload:
        value = None if text.lstrip()[:1] in ("[", "{") else text  # broken JSON is not a name
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return " ".join(clean_text(str(value)).split())[:MAX_TEXT] or None
