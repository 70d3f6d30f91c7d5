"""The exact MQTT publications that carry out a device action, and nothing else.

`DeviceActions.perform` publishes only to command topics learned from discovery
(`DeviceRegistry.publish_topics()`), or, for Home Assistant entities known from the statestream, one
intent event on `<topic_prefix>/<node_id>/ha_intent` for an allowed domain (a Home Assistant
automation, configs/homeassistant/homeplm_intents.yaml, turns it into the service call).
"""

from __future__ import annotations

import json
import logging
import math

from homeplm.house.device_discovery import Device
from homeplm.house.registry import DeviceRegistry
from homeplm.house.templates import TemplateFailed, TemplateOverBudget, render_command
from homeplm.mqtt.types import MqttLink

_LOGGER = logging.getLogger(__name__)

Publication = tuple[str, str]

# action → (Home Assistant service, data key for the value)
_HA_SERVICES: dict[str, tuple[str, str | None]] = {
    "turn_on": ("turn_on", None), "turn_off": ("turn_off", None), "brightness": ("turn_on", "brightness_pct"),
    "open": ("open_cover", None), "close": ("close_cover", None), "stop": ("stop_cover", None),
    "position": ("set_cover_position", "position"), "lock": ("lock", None), "unlock": ("unlock", None),
    "temperature": ("set_temperature", "temperature"), "mode": ("set_hvac_mode", "hvac_mode"),
    "percentage": ("set_percentage", "percentage"), "arm_away": ("alarm_arm_away", None),
    "arm_home": ("alarm_arm_home", None), "arm_night": ("alarm_arm_night", None),
    "arm_vacation": ("alarm_arm_vacation", None), "disarm": ("alarm_disarm", None),
}  # fmt: skip


class ActionRefused(Exception):
    """The action cannot or may not be done; the message is a short spoken sentence."""


def _number(value: float) -> str:
    return f"{value:g}"


def ha_brightness(pct: float, scale: int) -> int:
    """A percentage as Home Assistant sends it: to 0–255 first (brightness_pct), then to the
    device's scale; at least 1 (0 % is off)."""
    return max(1, round(round(pct * 255 / 100) * scale / 255))


def _pct(value: str | float | None) -> float:
    try:
        pct = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as err:
        raise ActionRefused("I need a number for that.") from err
    if not 0 <= pct <= 100:
        raise ActionRefused("That has to be between 0 and 100 percent.")
    return pct


class DeviceActions:
    """Turns a device intent into the MQTT publication the device's discovery asks for."""

    def __init__(self, link: MqttLink, registry: DeviceRegistry) -> None:
        self.link = link
        self.registry = registry
        mqtt = registry.settings
        self.intent_topic = f"{mqtt.topic_prefix}/{mqtt.node_id}/ha_intent"
        self.allowed_domains = frozenset(mqtt.allowed_domains)

    def perform(self, device: Device, action: str, value: str | float | None = None) -> list[Publication]:
        """Publish what `action` on `device` takes; returns the publications. ActionRefused if not."""
        if device.offline:
            raise ActionRefused(f"The {device.name} is offline, so I haven't changed it.")
        if device.source == "ha":
            pubs = [self._ha_intent(device, action, value)]
        else:
            pubs = self.publications(device, action, value)
            allowed = self.registry.publish_topics()
            own = f"{self.registry.settings.topic_prefix}/{self.registry.settings.node_id}/"
            if not pubs or any(topic not in allowed or topic.startswith(own) for topic, _ in pubs):
                _LOGGER.warning("refused %s on %s: topic not learned from discovery", action, device.id)
                raise ActionRefused(f"I can't do that with the {device.name}.")
        for topic, payload in pubs:
            _LOGGER.info("publishing %s for %s on %s", action, device.id, topic)
            self.link.publish(topic, payload)
        return pubs

    def _ha_intent(self, device: Device, action: str, value: str | float | None) -> Publication:
        domain = device.component
        if domain not in self.allowed_domains or action not in _HA_SERVICES:
            raise ActionRefused(f"I'm not allowed to control the {device.name}.")
        service, key = _HA_SERVICES[action]
        data: dict[str, object] = {}
        if key is not None:
            data[key] = str(value) if key == "hvac_mode" else round(float(value or 0), 1)
        event = {"domain": domain, "service": service, "entity_id": device.entity_id, "data": data}
        return self.intent_topic, json.dumps(event, sort_keys=True)

    def publications(self, device: Device, action: str, value: str | float | None) -> list[Publication]:
        """What `action` means for this device's kind, as (topic, payload); empty if it can't."""
        handler = getattr(self, f"_{device.component}", None)
        pubs: list[Publication] | None = handler(device, action, value) if handler else None
        return pubs or []

    # -- per kind ----------------------------------------------------------------------------------
    def _command(
        self, device: Device, key: str, value: str | float, template: str | None = None, **variables: object
    ) -> list[Publication]:
        """`value` on the command topic `key`, through the device's command template if it has one
        (rendered with the typed value and `variables`, as Home Assistant renders it)."""
        topic = device.commands.get(key)
        if topic is None:
            return []
        payload = value if isinstance(value, str) else _number(value)
        if template and template in device.templates:
            broken = ActionRefused(f"The {device.name} has a broken command template.")
            if device.template_disabled(template):
                raise broken
            try:
                variables.setdefault("entity_id", device.entity_id or f"{device.component}.{device.id}")
                variables.setdefault("name", device.name)
                payload = render_command(device.templates[template], value, **variables)
            except TemplateFailed as err:
                over = isinstance(err, TemplateOverBudget)
                device.template_result(template, over_budget=over)
                _LOGGER.warning("%s of %s failed: %s", template, device.id, err)
                raise broken from None
            device.template_result(template, over_budget=False)
        return [(topic, payload)]

    def _onoff(self, device: Device, action: str) -> list[Publication]:
        if action not in ("turn_on", "turn_off"):
            return []
        payload = device.payloads["payload_on" if action == "turn_on" else "payload_off"]
        return self._command(device, "command_topic", payload, "command_template")

    def _light(self, device: Device, action: str, value: str | float | None) -> list[Publication]:
        if device.schema == "json":
            body: dict[str, object] = {"state": "OFF" if action == "turn_off" else "ON"}
            if action == "brightness":
                pct = _pct(value)
                if pct == 0:
                    body = {"state": "OFF"}
                else:
                    body["brightness"] = ha_brightness(pct, device.brightness_scale)
            elif action not in ("turn_on", "turn_off"):
                return []
            return self._command(device, "command_topic", json.dumps(body))
        if action == "brightness":
            pct = _pct(value)
            if pct == 0:
                return self._onoff(device, "turn_off")
            level = ha_brightness(pct, device.brightness_scale)
            dim = self._command(
                device, "brightness_command_topic", level, "brightness_command_template", brightness=level
            )
            # As Home Assistant does: ON on the command topic too, after the brightness by default.
            on = [] if device.on_command_type == "brightness" else self._onoff(device, "turn_on")
            return [*on, *dim] if device.on_command_type == "first" else [*dim, *on]
        return self._onoff(device, action)

    def _switch(self, device: Device, action: str, value: str | float | None) -> list[Publication]:
        return self._onoff(device, action)

    def _fan(self, device: Device, action: str, value: str | float | None) -> list[Publication]:
        if action != "percentage":
            return self._onoff(device, action)
        pct = _pct(value)
        if pct == 0:
            return self._onoff(device, "turn_off")
        low, high = device.speed_range
        level = math.ceil(low - 1 + (high - low + 1) * pct / 100)  # Home Assistant's own scaling
        return self._command(
            device, "percentage_command_topic", level, "percentage_command_template", percentage=level
        )

    def _cover(self, device: Device, action: str, value: str | float | None) -> list[Publication]:
        if action in ("open", "close", "stop"):
            payload = device.payloads[f"payload_{action}"]
            return self._command(device, "command_topic", payload, "command_template")
        if action == "position":
            closed, opened = device.position_range
            position = round(closed + (opened - closed) * _pct(value) / 100)
            return self._command(
                device, "set_position_topic", position, "set_position_template",
                position=position, position_open=opened, position_closed=closed,
            )  # fmt: skip
        return []

    def _lock(self, device: Device, action: str, value: str | float | None) -> list[Publication]:
        if action not in ("lock", "unlock"):
            return []
        return self._command(
            device, "command_topic", device.payloads[f"payload_{action}"], "command_template"
        )

    def _climate(self, device: Device, action: str, value: str | float | None) -> list[Publication]:
        if action == "temperature":
            try:
                degrees = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError) as err:
                raise ActionRefused("I need a temperature for that.") from err
            if not 5 <= degrees <= 35:
                raise ActionRefused("That temperature is out of range.")
            return self._command(
                device,
                "temperature_command_topic",
                degrees,
                "temperature_command_template",
                temperature=degrees,
            )
        if action in ("mode", "turn_off", "turn_on"):
            mode = {"turn_off": "off", "turn_on": "heat" if "heat" in device.modes else "auto"}.get(
                action, str(value)
            )
            if mode not in device.modes:
                raise ActionRefused(f"The {device.name} has no {mode.replace('_', ' ')} mode.")
            return self._command(device, "mode_command_topic", mode, "mode_command_template")
        return []

    def _alarm_control_panel(
        self, device: Device, action: str, value: str | float | None
    ) -> list[Publication]:
        if action not in ("arm_away", "arm_home", "arm_night", "arm_vacation", "disarm"):
            return []
        if ("disarm" if action == "disarm" else "arm") in device.code_required:
            raise ActionRefused(
                f"The {device.name} needs its code for that; use its keypad or Home Assistant."
            )
        payload = device.payloads[f"payload_{action}"]
        return self._command(device, "command_topic", payload, "command_template", action=payload, code=None)
