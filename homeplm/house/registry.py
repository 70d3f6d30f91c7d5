"""The house as MQTT tells it: devices from retained discovery configs, and their current state.

Nothing received is trusted: payloads over `max_payload_bytes`, malformed JSON, unknown components
and failing templates are logged once per topic and ignored. Device names are data (compared and
spoken, never put into a prompt as instructions); `publish_topics()` is the only set of topics that
device actions may publish to.
"""

from __future__ import annotations

import json
import logging

from homeplm.config.schema import MqttSettings
from homeplm.house.discovery import COMPONENTS, Device, DiscoveryError, parse_config
from homeplm.house.statestream import StateStream
from homeplm.house.templates import TemplateFailed, decode_json, render
from homeplm.mqtt.types import MqttLink, MqttMessage

_LOGGER = logging.getLogger(__name__)


class DeviceRegistry:
    """Call `start()` once (it subscribes); then `devices()` is the house, kept up to date."""

    def __init__(self, link: MqttLink, settings: MqttSettings) -> None:
        self.link = link
        self.settings = settings
        self.prefix = settings.discovery_prefix.strip("/")
        self._devices: dict[str, Device] = {}
        self._by_config: dict[str, str] = {}  # config topic → device id
        self._routes: dict[str, set[tuple[str, str]]] = {}  # state topic → {(device id, role)}
        self._subscribed: set[str] = set()
        self._warned: set[str] = set()
        self.statestream = (
            StateStream(settings.statestream_prefix, self._warn_once, settings.max_payload_bytes)
            if settings.statestream_prefix
            else None
        )
        self._started = False

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.link.subscribe(f"{self.prefix}/+/+/config", self._on_config)
        self.link.subscribe(f"{self.prefix}/+/+/+/config", self._on_config)
        if self.statestream is not None:
            self.statestream.subscribe(self.link)

    # -- what the rest of the house asks -------------------------------------------------------
    def devices(self) -> list[Device]:
        """Discovered devices, then Home Assistant entities whose names no discovered device has."""
        found = list(self._devices.values())
        if self.statestream is not None:
            names = {d.name.lower() for d in found}
            found += [e for e in self.statestream.entities() if e.name.lower() not in names]
        return found

    def get(self, device_id: str) -> Device | None:
        if device_id in self._devices:
            return self._devices[device_id]
        return self.statestream.get(device_id) if self.statestream is not None else None

    def publish_topics(self) -> frozenset[str]:
        """Every command topic learned from discovery: the only topics device actions publish to."""
        return frozenset(t for d in self._devices.values() for t in d.commands.values())

    # -- incoming ------------------------------------------------------------------------------
    def _warn_once(self, topic: str, reason: str) -> None:
        if topic not in self._warned:
            if len(self._warned) < 10000:
                self._warned.add(topic)
            _LOGGER.warning("ignoring MQTT message on %r: %s", topic[:200], reason)

    def _on_config(self, msg: MqttMessage) -> None:
        parts = msg.topic.split("/")[len(self.prefix.split("/")) :]
        if len(parts) not in (3, 4) or parts[-1] != "config":
            return
        component, object_path = parts[0], "/".join(parts[1:-1])
        if not msg.payload:
            self._remove(msg.topic)
            return
        if len(msg.payload) > self.settings.max_payload_bytes:
            self._warn_once(msg.topic, f"payload over {self.settings.max_payload_bytes} bytes")
            return
        if component not in COMPONENTS:
            self._warn_once(msg.topic, f"component {component[:40]!r} is not handled")
            return
        try:
            config = json.loads(msg.payload)
            if not isinstance(config, dict):
                raise DiscoveryError("config is not a JSON object")
            device = parse_config(component, object_path, config)
        except (ValueError, UnicodeDecodeError) as err:  # DiscoveryError is a ValueError
            self._warn_once(msg.topic, f"bad discovery config: {str(err)[:200]}")
            return
        self._remove(msg.topic)
        self._devices[device.id] = device
        self._by_config[msg.topic] = device.id
        for role, topic in device.state_topics.items():
            device.state.setdefault(role, None)
            self._routes.setdefault(topic, set()).add((device.id, role))
            if topic not in self._subscribed:
                self._subscribed.add(topic)
                self.link.subscribe(topic, self._on_state)
        _LOGGER.info("device %s (%s) discovered", device.id, device.component)

    def _remove(self, config_topic: str) -> None:
        device_id = self._by_config.pop(config_topic, None)
        device = self._devices.pop(device_id, None) if device_id else None
        if device is None:
            return
        for topic in device.state_topics.values():
            routes = self._routes.get(topic, set())
            routes -= {(device.id, role) for role in device.state_topics}
        _LOGGER.info("device %s removed", device.id)

    def _on_state(self, msg: MqttMessage) -> None:
        routes = self._routes.get(msg.topic)
        if not routes:
            return
        if len(msg.payload) > self.settings.max_payload_bytes:
            self._warn_once(msg.topic, f"payload over {self.settings.max_payload_bytes} bytes")
            return
        text = msg.payload.decode("utf-8", "replace")
        for device_id, role in routes:
            device = self._devices.get(device_id)
            if device is not None:
                self._update(device, role, text, msg.topic)

    def _update(self, device: Device, role: str, text: str, topic: str) -> None:
        if device.component == "light" and device.schema == "json" and role == "state":
            data = decode_json(text)
            if not isinstance(data, dict):
                self._warn_once(topic, "json light state is not a JSON object")
                device.state["state"] = None
                return
            device.state["state"] = str(data["state"]) if "state" in data else device.state.get("state")
            if isinstance(data.get("brightness"), (int, float)):
                device.state["brightness"] = str(data["brightness"])
            return
        template = device.templates.get(role)
        if template is None:
            device.state[role] = text[:255]
            return
        try:
            device.state[role] = render(template, text)
        except TemplateFailed as err:
            self._warn_once(f"{topic}#{device.id}#{role}", f"template failed: {str(err)[:200]}")
            device.state[role] = None
