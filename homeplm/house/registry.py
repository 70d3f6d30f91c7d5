"""The house as MQTT tells it: devices from retained discovery configs, and their current state.

Nothing received is trusted: payloads over `max_payload_bytes`, malformed JSON, unknown components
and failing templates are logged once per topic and ignored. Device names are data (compared and
spoken, never put into a prompt as instructions); `publish_topics()` is the only set of topics that
device actions may publish to.
"""

from __future__ import annotations

import logging

from homeplm.config.schema import MqttSettings
from homeplm.house.device_discovery import COMPONENTS, Device, DiscoveryError, parse_config
from homeplm.house.statestream import StateStream
from homeplm.house.templates import TemplateFailed, TemplateOverBudget, decode_json, render
from homeplm.mqtt.payloads import WarnLimiter, clean_text, loads_json, preview
from homeplm.mqtt.types import MqttLink, MqttMessage

_LOGGER = logging.getLogger(__name__)

# More devices than any house has: beyond this, new configs (a flood of made-up ones) are ignored.
MAX_DEVICES = 5000
# State topics subscribed to (never unsubscribed: a device removed may come back); the same for them.
MAX_STATE_TOPICS = 4 * MAX_DEVICES


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
        self._warnings = WarnLimiter(_LOGGER)
        self.statestream = (
            StateStream(
                settings.statestream_prefix, self._warn_once, settings.max_payload_bytes, settings.node_id
            )
            if settings.statestream_prefix
            else None
        )
        self._started = False
        self.aliases = _pairs(settings.aliases)
        self.floors = {
            floor.lower(): tuple(a.strip().lower() for a in areas.split(",") if a.strip())
            for floor, areas in _pairs(settings.floors).items()
        }
        self._ignored_components: set[str] = set()

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
        """One line per topic (per hour), never a traceback: the sender is not ours to debug."""
        self._warnings.warn(topic, "ignoring MQTT message on %s: %s", preview(topic), reason)

    def _on_config(self, msg: MqttMessage) -> None:
        try:
            self._config(msg)
        except Exception as err:  # a payload no check foresaw: still one line, and the house goes on
            self._warn_once(msg.topic, f"unexpected {type(err).__name__}: {preview(err)}")

    def _config(self, msg: MqttMessage) -> None:
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
        if object_path.split("/")[0] == self.settings.node_id and msg.topic.startswith(f"{self.prefix}/"):
            return  # homeplm's own entities (its mute switch, volume…): not the house's devices
        if component not in COMPONENTS:
            self._ignore_component(msg.topic, component)
            return
        try:
            config = loads_json(msg.payload)
            if not isinstance(config, dict):
                raise DiscoveryError("config is not a JSON object")
            if _is_own(config, self.settings.node_id):
                return  # homeplm's own entity under another topic: still not the house's
            device = parse_config(component, object_path, config)
        except ValueError as err:  # BadPayload and DiscoveryError are ValueErrors
            self._warn_once(msg.topic, f"bad discovery config: {preview(err)}")
            return
        self._add_aliases(device)
        if msg.topic not in self._by_config and len(self._devices) >= MAX_DEVICES:
            self._warn_once("#too-many-devices", f"more than {MAX_DEVICES} devices; new ones are ignored")
            return
        previous = self._devices.get(self._by_config.get(msg.topic, ""))
        if previous is not None and previous.id == device.id:  # the same device announced again:
            device.state.update(previous.state)  # its retained state is not sent a second time
            device.online, device.latest_online = previous.online, previous.latest_online
        self._remove(msg.topic)
        self._devices[device.id] = device
        self._by_config[msg.topic] = device.id
        roles = [*device.state_topics.items(), *((f"@{t}", t) for t, *_ in device.availability)]
        for role, topic in roles:
            if not role.startswith("@"):
                device.state.setdefault(role, None)
            self._routes.setdefault(topic, set()).add((device.id, role))
            if topic in self._subscribed:
                continue
            if len(self._subscribed) >= MAX_STATE_TOPICS:
                self._warn_once("#too-many-topics", f"more than {MAX_STATE_TOPICS} state topics; no more")
                continue
            self._subscribed.add(topic)
            self.link.subscribe(topic, self._on_state)
        _LOGGER.info("device %s (%s) discovered", device.id, device.component)

    def _ignore_component(self, topic: str, component: str) -> None:
        """Home Assistant has many kinds homeplm does not control by voice (select, number, update…):
        a line once per kind, not one per entity at every start."""
        if component in _QUIETLY_IGNORED:
            if component not in self._ignored_components:
                self._ignored_components.add(component)
                _LOGGER.info("discovery of %r entities ignored (not controlled by voice)", component)
            return
        self._warn_once(topic, f"component {component[:40]!r} is not handled")

    def _add_aliases(self, device: Device) -> None:
        own = {device.id.lower(), *(n.lower() for n in device.names)}
        extra = tuple(alias for alias, name in self.aliases.items() if name.lower() in own)
        if extra:
            device.aliases = (*device.aliases, *extra)

    def _remove(self, config_topic: str) -> None:
        device_id = self._by_config.pop(config_topic, None)
        device = self._devices.pop(device_id, None) if device_id else None
        if device is None:
            return
        for topic in (*device.state_topics.values(), *(t for t, *_ in device.availability)):
            routes = self._routes.get(topic, set())
            routes -= {
                (device.id, role)
                for role in (*device.state_topics, *(f"@{t}" for t, *_ in device.availability))
            }
        _LOGGER.info("device %s removed", device.id)

    def _on_state(self, msg: MqttMessage) -> None:
        try:
            self._state(msg)
        except Exception as err:  # as in _on_config
            self._warn_once(msg.topic, f"unexpected {type(err).__name__}: {preview(err)}")

    def _state(self, msg: MqttMessage) -> None:
        routes = self._routes.get(msg.topic)
        if not routes:
            return
        if len(msg.payload) > self.settings.max_payload_bytes:
            self._warn_once(msg.topic, f"payload over {self.settings.max_payload_bytes} bytes")
            return
        text = msg.payload.decode("utf-8", "replace")
        for device_id, role in list(routes):
            device = self._devices.get(device_id)
            if device is not None:
                self._update(device, role, text, msg.topic)

    def _update(self, device: Device, role: str, text: str, topic: str) -> None:
        if role.startswith("@"):
            self._update_availability(device, text, topic)
            return
        if device.component == "light" and device.schema == "json" and role == "state":
            self._update_json_light(device, text, topic)
            return
        template = device.templates.get(role)
        if template is None:
            device.state[role] = _state_text(text)
            return
        if device.template_disabled(role):
            device.state[role] = None  # rendering it again would cost the same
            return
        try:
            device.state[role] = _state_text(render(template, text))
        except TemplateOverBudget as err:
            device.template_result(role, over_budget=True)
            device.state[role] = None
            self._warn_once(f"{topic}#{device.id}#{role}", f"template over its budget ({err}); ignored")
        except TemplateFailed as err:
            device.template_result(role, over_budget=False)
            self._warn_once(f"{topic}#{device.id}#{role}", f"template failed: {preview(err)}")
            device.state[role] = None
        else:
            device.template_result(role, over_budget=False)

    def _update_availability(self, device: Device, text: str, topic: str) -> None:
        for avail_topic, template, available, gone in device.availability:
            if avail_topic != topic:
                continue
            value = text
            if template is not None:
                try:
                    value = render(template, text)
                except TemplateFailed:
                    continue
            if value.strip() in (available, gone):
                device.online[topic] = device.latest_online = value.strip() == available

    def _update_json_light(self, device: Device, text: str, topic: str) -> None:
        data = decode_json(text)
        if not isinstance(data, dict):
            self._warn_once(topic, "json light state is not a JSON object")
            device.state["state"] = None
            return
        state = data.get("state")
        if isinstance(state, (str, int, float)) and not isinstance(state, bool):
            device.state["state"] = _state_text(str(state))
        if isinstance(data.get("brightness"), (int, float)) and not isinstance(data["brightness"], bool):
            device.state["brightness"] = str(data["brightness"])


# Home Assistant kinds that are not voice-controlled here: ignored with one INFO line per kind.
_QUIETLY_IGNORED = frozenset({
    "select", "number", "button", "text", "update", "notify", "event", "device_automation", "tag",
    "scene", "siren", "image", "camera", "device_tracker", "valve", "water_heater", "humidifier",
    "lawn_mower",
})  # fmt: skip


def _is_own(config: dict[str, object], node_id: str) -> bool:
    """A config whose device is homeplm's own (identifiers [node_id])."""
    device = config.get("device", config.get("dev"))
    if not isinstance(device, dict):
        return False
    ids = device.get("identifiers", device.get("ids"))
    return ids == node_id or (isinstance(ids, list) and node_id in ids)


def _pairs(lines: tuple[str, ...]) -> dict[str, str]:
    """ "alias = name" lines of the configuration → {alias: name} (lines without "=" are skipped)."""
    pairs = {}
    for line in lines:
        left, sep, right = line.partition("=")
        if sep and left.strip() and right.strip():
            pairs[" ".join(left.split())] = " ".join(right.split())
        else:
            _LOGGER.warning("ignoring %r: write it as 'name = device' (mqtt.aliases, mqtt.floors)", line)
    return pairs


def _state_text(text: str) -> str:
    """A state as it is kept, compared and spoken: printable, at most 255 characters."""
    return clean_text(text[:1024])[:255]
