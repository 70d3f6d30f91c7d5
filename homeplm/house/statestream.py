"""Home Assistant's mqtt_statestream: every HA entity's state and friendly name, as read-only knowledge.

Topics are `<prefix>/<domain>/<object_id>/<attribute>`; `state` is the raw state, other attributes
are JSON. Acting on these entities goes through the ha_intent event (`homeplm.house.actions`), never
through their topics. For the everyday home facts (`homeplm.house.home_facts`) a few more attributes
are kept, typed and bounded, of weather, sun and calendar entities only (`attributes()`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import TypeAlias

from homeplm.house.device_discovery import MAX_TEXT, Device
from homeplm.mqtt.payloads import BadPayload, clean_text, loads_json, preview
from homeplm.mqtt.types import MqttLink, MqttMessage

MAX_ENTITIES = 5000
_ATTRIBUTES = frozenset({"state", "friendly_name", "device_class", "unit_of_measurement"})
_ID_PART = re.compile(r"^[a-z0-9_]{1,100}$")

Scalar: TypeAlias = str | float | bool
ForecastEntry: TypeAlias = Mapping[str, Scalar]
Attribute: TypeAlias = Scalar | tuple[ForecastEntry, ...]
# The attributes kept per domain, beyond name, class and unit (Home Assistant's names). A weather
# entity's `forecast` is there only before HA 2024.3 (or in a template entity); since then a template
# sensor that stores `weather.get_forecasts`' answer in a `forecast` attribute gives it.
KEPT: dict[str, frozenset[str]] = {
    "weather": frozenset({
        "temperature", "apparent_temperature", "dew_point", "humidity", "pressure", "wind_speed",
        "wind_bearing", "temperature_unit", "wind_speed_unit", "pressure_unit", "precipitation_unit",
        "forecast",
    }),
    "sun": frozenset({"next_rising", "next_setting", "next_dawn", "next_dusk", "next_noon"}),
    "calendar": frozenset({"message", "description", "location", "all_day", "start_time", "end_time"}),
    "sensor": frozenset({"forecast"}),
}  # fmt: skip
FORECAST_KEYS = frozenset({
    "datetime", "condition", "temperature", "templow", "precipitation", "precipitation_probability",
    "is_daytime",
})  # fmt: skip
MAX_FORECAST = 48  # entries kept: two days hourly, or more than a week daily
MAX_FORECAST_BYTES = 65536
MAX_ATTRIBUTE_TEXT = 300


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
        self._attributes: dict[str, dict[str, Attribute]] = {}  # entity id → KEPT attributes

    def subscribe(self, link: MqttLink) -> None:
        link.subscribe(f"{self.prefix}/+/+/+", self._on_message)

    def entities(self) -> list[Device]:
        return list(self._entities.values())

    def get(self, entity_id: str) -> Device | None:
        return self._entities.get(entity_id)

    def attributes(self, entity_id: str) -> Mapping[str, Attribute]:
        """The KEPT attributes of a weather, sun or calendar entity (or a forecast sensor) as they
        were last published; {} for any other."""
        return dict(self._attributes.get(entity_id, {}))

    def _on_message(self, msg: MqttMessage) -> None:
        try:
            self._update(msg)
        except Exception as err:  # a payload no check foresaw: one line, and the stream goes on
            self._warn_once(msg.topic, f"unexpected {type(err).__name__}: {preview(err)}")

    def _update(self, msg: MqttMessage) -> None:
        parts = msg.topic[len(self.prefix) + 1 :].split("/")
        if len(parts) != 3 or (parts[2] not in _ATTRIBUTES and parts[2] not in KEPT.get(parts[0], ())):
            return
        domain, object_id, attribute = parts
        if not (_ID_PART.match(domain) and _ID_PART.match(object_id)):
            self._warn_once(msg.topic, "not an entity id")
            return
        limit = MAX_FORECAST_BYTES if attribute == "forecast" else 4096
        if len(msg.payload) > min(self._max_bytes, limit):
            self._warn_once(msg.topic, "statestream payload too large")
            self._attributes.get(f"{domain}.{object_id}", {}).pop(attribute, None)  # not left stale
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
        if attribute not in _ATTRIBUTES:
            self._keep(entity_id, attribute, msg)
            return
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

    def _keep(self, entity_id: str, attribute: str, msg: MqttMessage) -> None:
        kept = self._attributes.setdefault(entity_id, {})
        kept.pop(attribute, None)  # an attribute that turns out bad is not left at its old value
        if not msg.payload:
            return  # a retained attribute cleared
        try:
            value = loads_json(msg.payload)
        except BadPayload as err:
            self._warn_once(msg.topic, f"bad attribute: {preview(err)}")
            return
        found = _forecast(value) if attribute == "forecast" else _scalar(value)
        if found is None:
            self._warn_once(msg.topic, f"unexpected {type(value).__name__} for {attribute}")
            return
        kept[attribute] = found


def _scalar(value: object) -> Scalar | None:
    """A JSON value as kept: a bool, a finite number, or printable text cut to MAX_ATTRIBUTE_TEXT."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:  # an int of a few thousand digits
            return None
        return number if math.isfinite(number) else None
    if isinstance(value, str):
        return " ".join(clean_text(value).split())[:MAX_ATTRIBUTE_TEXT]
    return None


def _forecast(value: object) -> tuple[ForecastEntry, ...] | None:
    """A forecast list: its first MAX_FORECAST objects, each with only FORECAST_KEYS' scalars."""
    if not isinstance(value, list):
        return None
    entries: list[ForecastEntry] = []
    for item in value[:MAX_FORECAST]:
        if isinstance(item, dict):
            entry = {k: v for k in FORECAST_KEYS & item.keys() if (v := _scalar(item[k])) is not None}
            if isinstance(entry.get("datetime"), str):
                entries.append(entry)
    return tuple(entries)


def _label(text: str) -> str | None:
    """An attribute (JSON, or unquoted text from older statestream versions) as one line, or None."""
    try:
        value = loads_json(text) if text else None
    except BadPayload:
        value = None if text.lstrip()[:1] in ("[", "{") else text  # broken JSON is not a name
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return " ".join(clean_text(str(value)).split())[:MAX_TEXT] or None
