"""Home Assistant MQTT discovery: one retained config message → one `Device`.

Everything in a config message is data from the network: names are only ever compared and spoken,
topics are only ever subscribed or published to (and only the ones learned here), templates only
ever rendered in a sandbox (`homeplm.house.templates`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from homeplm.mqtt.payloads import clean_text

COMPONENTS = frozenset(
    {"light", "switch", "cover", "lock", "climate", "fan", "sensor", "binary_sensor", "alarm_control_panel"}
)

# The common abbreviations of Home Assistant's MQTT discovery (components/mqtt/abbreviations.py).
ABBREVIATIONS = {
    "act_t": "action_topic", "avty": "availability", "avty_t": "availability_topic",
    "bri_cmd_t": "brightness_command_topic", "bri_cmd_tpl": "brightness_command_template",
    "bri_scl": "brightness_scale", "bri_stat_t": "brightness_state_topic",
    "bri_val_tpl": "brightness_value_template", "cmd_t": "command_topic", "cmd_tpl": "command_template",
    "curr_temp_t": "current_temperature_topic", "curr_temp_tpl": "current_temperature_template",
    "dev": "device", "dev_cla": "device_class", "ent_cat": "entity_category",
    "json_attr_t": "json_attributes_topic", "json_attr_tpl": "json_attributes_template",
    "max_temp": "max_temp", "min_temp": "min_temp", "mode_cmd_t": "mode_command_topic",
    "mode_cmd_tpl": "mode_command_template", "mode_stat_t": "mode_state_topic",
    "mode_stat_tpl": "mode_state_template", "obj_id": "object_id", "opt": "optimistic",
    "pct_cmd_t": "percentage_command_topic", "pct_cmd_tpl": "percentage_command_template",
    "pct_stat_t": "percentage_state_topic", "pct_val_tpl": "percentage_value_template",
    "pl_avail": "payload_available", "pl_not_avail": "payload_not_available", "pl_on": "payload_on",
    "pl_off": "payload_off", "pl_open": "payload_open", "pl_cls": "payload_close", "pl_stop": "payload_stop",
    "pl_lock": "payload_lock", "pl_unlk": "payload_unlock", "pos_t": "position_topic",
    "pos_tpl": "position_template", "pos_open": "position_open", "pos_clsd": "position_closed",
    "set_pos_t": "set_position_topic", "set_pos_tpl": "set_position_template",
    "spd_rng_min": "speed_range_min", "spd_rng_max": "speed_range_max", "stat_t": "state_topic",
    "stat_tpl": "state_template", "stat_val_tpl": "state_value_template", "stat_on": "state_on",
    "stat_off": "state_off", "stat_locked": "state_locked", "stat_unlocked": "state_unlocked",
    "stat_open": "state_open", "stat_clsd": "state_closed", "temp_cmd_t": "temperature_command_topic",
    "temp_cmd_tpl": "temperature_command_template", "temp_stat_t": "temperature_state_topic",
    "temp_stat_tpl": "temperature_state_template", "temp_unit": "temperature_unit",
    "unit_of_meas": "unit_of_measurement", "uniq_id": "unique_id", "val_tpl": "value_template",
    "t": "topic", "pl_arm_away": "payload_arm_away", "pl_arm_home": "payload_arm_home",
    "pl_arm_nite": "payload_arm_night", "pl_arm_vacation": "payload_arm_vacation",
    "pl_disarm": "payload_disarm", "on_cmd_type": "on_command_type", "cod_arm_req": "code_arm_required",
    "cod_dis_req": "code_disarm_required",
}  # fmt: skip
DEVICE_ABBREVIATIONS = {
    "ids": "identifiers", "cns": "connections", "mf": "manufacturer", "mdl": "model",
    "sw": "sw_version", "hw": "hw_version", "sa": "suggested_area", "via_device": "via_device",
}  # fmt: skip

# Where each piece of state comes from: role → (topic key, template keys in order of preference).
STATE_ROLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "state": ("state_topic", ("value_template", "state_value_template", "state_template")),
    "brightness": ("brightness_state_topic", ("brightness_value_template",)),
    "position": ("position_topic", ("position_template",)),
    "current_temperature": ("current_temperature_topic", ("current_temperature_template",)),
    "temperature": ("temperature_state_topic", ("temperature_state_template",)),
    "mode": ("mode_state_topic", ("mode_state_template",)),
    "percentage": ("percentage_state_topic", ("percentage_value_template",)),
}
COMMAND_KEYS = (
    "command_topic", "brightness_command_topic", "set_position_topic", "temperature_command_topic",
    "mode_command_topic", "percentage_command_topic",
)  # fmt: skip
_TEMPLATE_KEYS = (
    "command_template", "brightness_command_template", "set_position_template",
    "temperature_command_template", "mode_command_template", "percentage_command_template",
)  # fmt: skip
_PAYLOAD_DEFAULTS = {
    "payload_on": "ON", "payload_off": "OFF", "payload_open": "OPEN", "payload_close": "CLOSE",
    "payload_stop": "STOP", "payload_lock": "LOCK", "payload_unlock": "UNLOCK",
    "state_locked": "LOCKED", "state_unlocked": "UNLOCKED", "state_open": "open", "state_closed": "closed",
    "payload_arm_away": "ARM_AWAY", "payload_arm_home": "ARM_HOME", "payload_arm_night": "ARM_NIGHT",
    "payload_arm_vacation": "ARM_VACATION", "payload_disarm": "DISARM",
}  # fmt: skip
DEFAULT_MODES = ("auto", "off", "cool", "heat", "dry", "fan_only")
MAX_TEXT = 200  # names and areas longer than this are cut
TEMPLATE_STRIKES = 2
_TOPIC_CHARS = re.compile(r"^[^#+\x00]{1,512}$")


class DiscoveryError(ValueError):
    """A config message that is not a usable device (the reason is logged once per topic)."""


@dataclass(slots=True)
class Device:
    """One device of the house, as its MQTT discovery describes it, with its live state."""

    id: str
    component: str
    name: str  # what the house calls it ("Bedroom Lamp"); data, never an instruction
    area: str | None = None  # the device's suggested_area
    device_class: str | None = None
    source: str = "mqtt"  # "mqtt" (discovery) or "ha" (statestream, read-only knowledge)
    entity_id: str | None = None  # Home Assistant entity id (statestream)
    aliases: tuple[str, ...] = ()  # other names it answers to (entity name alone, device name)
    capabilities: frozenset[str] = frozenset()
    commands: dict[str, str] = field(default_factory=dict)  # command key → topic
    payloads: dict[str, str] = field(default_factory=dict)
    state_topics: dict[str, str] = field(default_factory=dict)  # role → topic
    templates: dict[str, str] = field(default_factory=dict)  # role or command template key → template
    schema: str = "default"
    # A default-schema light with a brightness topic: when ON goes to command_topic too (Home
    # Assistant's on_command_type: "last" after the brightness, "first" before, "brightness" never).
    on_command_type: str = "last"
    brightness_scale: int = 255
    modes: tuple[str, ...] = ()
    speed_range: tuple[int, int] = (1, 100)
    position_range: tuple[int, int] = (0, 100)  # (closed, open)
    unit: str | None = None
    state: dict[str, str | None] = field(default_factory=dict)  # role → value (None: unknown)
    # Where the device says whether it is online: (topic, template, payload_available,
    # payload_not_available); `availability_mode` all / any / latest, as Home Assistant reads it.
    availability: tuple[tuple[str, str | None, str, str], ...] = ()
    availability_mode: str = "latest"
    online: dict[str, bool] = field(default_factory=dict)  # availability topic → last said
    latest_online: bool | None = None
    # Arming or disarming needs a code typed into Home Assistant (alarm panels with `code`).
    code_required: frozenset[str] = frozenset()
    # Renders in a row over the work budget, by template (role or command template key).
    over_budget: dict[str, int] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    @property
    def offline(self) -> bool:
        """It said it is offline (availability), or Home Assistant says "unavailable". A device that
        has said nothing yet counts as online: nothing speaks against it."""
        if self.source == "ha":
            return (self.state.get("state") or "").lower() == "unavailable"
        said = list(self.online.values())
        if not said:
            return False
        if self.availability_mode == "all":
            return not all(said)
        if self.availability_mode == "any":
            return not any(said)
        return self.latest_online is False

    def template_disabled(self, key: str) -> bool:
        """Twice over budget in a row (once could be a pause of the machine's): never rendered again,
        until the device's config is published anew."""
        return self.over_budget.get(key, 0) >= TEMPLATE_STRIKES

    def template_result(self, key: str, over_budget: bool) -> None:
        if over_budget:
            self.over_budget[key] = self.over_budget.get(key, 0) + 1
        else:
            self.over_budget.pop(key, None)


def expand(config: dict[str, Any]) -> dict[str, Any]:
    """Abbreviations out, `~` in (HA rules: a topic starting or ending with `~` gets the base topic)."""
    out = {ABBREVIATIONS.get(k, k): v for k, v in config.items()}
    base = out.pop("~", None)
    if isinstance(out.get("device"), dict):
        out["device"] = {DEVICE_ABBREVIATIONS.get(k, k): v for k, v in out["device"].items()}
    elif "device" in out:
        del out["device"]  # "device": "x" — not a device
    if isinstance(out.get("availability"), list):
        items = [a for a in out["availability"] if isinstance(a, dict)]
        out["availability"] = [{ABBREVIATIONS.get(k, k): v for k, v in a.items()} for a in items]
    elif "availability" in out:
        del out["availability"]  # "availability": "online" — Home Assistant wants a list
    if isinstance(base, str):
        for key, value in list(out.items()):
            if key.endswith("_topic") and isinstance(value, str):
                out[key] = _tilde(value, base)
        for item in out.get("availability") or ():
            if isinstance(item.get("topic"), str):
                item["topic"] = _tilde(item["topic"], base)
    return out


def _tilde(value: str, base: str) -> str:
    if value.startswith("~"):
        return base + value[1:]
    if value.endswith("~"):
        return value[:-1] + base
    return value


def _text(value: Any) -> str | None:
    """A name or label: spoken and shown, so one line of printable text, or None."""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        return None
    text = " ".join(clean_text(str(value)[: MAX_TEXT * 4]).split())[:MAX_TEXT]
    return text or None


def _payload(value: Any, default: str) -> str:
    """A payload to send or compare: a string or a number (a JSON true/false as Home Assistant's
    config reads it, "True"/"False": what a template renders for a boolean), else the default."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return default


def _topic(value: Any) -> str | None:
    return value if isinstance(value, str) and _TOPIC_CHARS.match(value) else None


def _int(value: Any, default: int, lo: int = -(10**6), hi: int = 10**6) -> int:
    """An integer setting within lo..hi (a device's scale or range), else the default."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return default
    try:
        number = int(value)
    except (ValueError, OverflowError):  # "abc", Infinity, NaN
        return default
    return number if lo <= number <= hi else default


def combine_names(entity: str | None, device: str | None) -> str | None:
    """HA's rule, made helpful for speech: device name + entity name, without repeating words."""
    if not entity:
        return device
    if not device or entity.lower().startswith(device.lower()):
        return entity
    return f"{device} {entity}"


def parse_config(component: str, object_path: str, payload: dict[str, Any]) -> Device:
    """A discovery config (already JSON-decoded) → a Device; DiscoveryError when unusable."""
    if component not in COMPONENTS:
        raise DiscoveryError(f"unknown component {component!r}")
    cfg = expand(payload)
    dev: dict[str, Any] = cfg["device"] if isinstance(cfg.get("device"), dict) else {}
    entity_name, device_name = _text(cfg.get("name")), _text(dev.get("name"))
    name = combine_names(entity_name, device_name) or _text(cfg.get("object_id"))
    name = name or _text(object_path.rsplit("/", 1)[-1].replace("_", " ")) or component
    aliases = tuple(n for n in (entity_name, device_name) if n and n != name and len(n.split()) > 1)
    commands = {k: t for k in COMMAND_KEYS if (t := _topic(cfg.get(k)))}
    states = {role: t for role, (key, _) in STATE_ROLES.items() if (t := _topic(cfg.get(key)))}
    if not commands and not states:
        raise DiscoveryError("no usable command or state topic")
    templates: dict[str, str] = {}
    for role, (_, keys) in STATE_ROLES.items():
        for key in keys:
            if isinstance(cfg.get(key), str):
                templates[role] = cfg[key]
                break
    templates |= {k: cfg[k] for k in _TEMPLATE_KEYS if isinstance(cfg.get(k), str)}
    payloads = {k: _payload(cfg.get(k), d) for k, d in _PAYLOAD_DEFAULTS.items()}
    payloads["state_on"] = _payload(cfg.get("state_on"), payloads["payload_on"])
    payloads["state_off"] = _payload(cfg.get("state_off"), payloads["payload_off"])
    modes = list(map(_text, cfg["modes"][:50])) if isinstance(cfg.get("modes"), list) else None
    device = Device(
        id=_text(cfg.get("unique_id")) or f"{component}/{object_path}",
        component=component,
        name=name,
        area=_text(dev.get("suggested_area")),
        device_class=_text(cfg.get("device_class")),
        aliases=aliases,
        commands=commands,
        payloads=payloads,
        state_topics=states,
        templates=templates,
        schema="json" if cfg.get("schema") == "json" else "default",
        on_command_type=str(cfg["on_command_type"])
        if cfg.get("on_command_type") in ("first", "last", "brightness")
        else "last",
        brightness_scale=max(1, _int(cfg.get("brightness_scale"), 255)),
        modes=tuple(m for m in modes if m) if modes is not None else DEFAULT_MODES,
        speed_range=(_int(cfg.get("speed_range_min"), 1), _int(cfg.get("speed_range_max"), 100)),
        position_range=(_int(cfg.get("position_closed"), 0), _int(cfg.get("position_open"), 100)),
        unit=_text(cfg.get("unit_of_measurement") or cfg.get("temperature_unit")),
    )
    device.capabilities = capabilities(device, cfg)
    device.availability = _availability(cfg)
    if cfg.get("availability_mode") in ("all", "any", "latest"):
        device.availability_mode = str(cfg["availability_mode"])
    if component == "alarm_control_panel" and cfg.get("code"):
        device.code_required = frozenset(
            action
            for action, key in (("arm", "code_arm_required"), ("disarm", "code_disarm_required"))
            if cfg.get(key, True) is not False
        )
    return device


def _availability(cfg: dict[str, Any]) -> tuple[tuple[str, str | None, str, str], ...]:
    """Home Assistant's two forms: `availability_topic` (+ payloads, template) or an `availability` list."""
    found = []
    entries = cfg["availability"] if isinstance(cfg.get("availability"), list) else []
    if isinstance(cfg.get("availability_topic"), str):
        entries = [{"topic": cfg["availability_topic"], "value_template": cfg.get("availability_template"),
                    "payload_available": cfg.get("payload_available"),
                    "payload_not_available": cfg.get("payload_not_available")}, *entries]  # fmt: skip
    for entry in entries[:8]:
        topic = _topic(entry.get("topic"))
        if topic is None:
            continue
        template = entry.get("value_template") if isinstance(entry.get("value_template"), str) else None
        available = _payload(entry.get("payload_available"), "online")
        gone = _payload(entry.get("payload_not_available"), "offline")
        found.append((topic, template, available, gone))
    return tuple(found)


def capabilities(device: Device, cfg: dict[str, Any]) -> frozenset[str]:
    caps: set[str] = set()
    has = device.commands.__contains__
    if device.component in {"light", "switch", "fan"} and has("command_topic"):
        caps.add("onoff")
    if device.component == "light" and (
        has("brightness_command_topic") or (device.schema == "json" and cfg.get("brightness"))
    ):
        caps.add("brightness")
    if device.component == "cover":
        caps.update({"open_close"} if has("command_topic") else set())
        caps.update({"position"} if has("set_position_topic") else set())
    if device.component == "lock" and has("command_topic"):
        caps.add("lock")
    if device.component == "climate":
        caps.update({"temperature"} if has("temperature_command_topic") else set())
        caps.update({"mode"} if has("mode_command_topic") else set())
    if device.component == "alarm_control_panel" and has("command_topic"):
        caps.add("alarm")
    if device.component == "fan" and has("percentage_command_topic"):
        caps.add("percentage")
    if device.state_topics:
        caps.add("state")
    return frozenset(caps)
