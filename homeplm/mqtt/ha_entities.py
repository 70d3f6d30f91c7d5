"""Home Assistant MQTT discovery for the homeplm device: pure functions, payloads as dicts.

One device, one config topic per entity: `<discovery_prefix>/<component>/<node_id>/<key>/config`.
Every entity has `availability_topic`, so Home Assistant greys it out when the broker delivers our will.
"""

from __future__ import annotations

from typing import Any

from homeplm import __version__
from homeplm.config.schema import MqttSettings

ASSIST_STATES = ("idle", "listening", "listening (follow-up)", "thinking", "speaking", "muted", "error")
WAKE_WORDS = ("hey_jarvis", "alexa", "hey_mycroft", "okay_nabu", "hey_rhasspy")
SENSITIVITY_RANGE = (0.05, 0.95, 0.05)  # min, max, step
# Home Assistant shows volume as a 0–100 % slider (100 % = the voice as synthesised, volume 1.0);
# the config's tts.volume may go above 1.0 (a boost), which the slider shows as 100 %.
VOLUME_RANGE = (0, 100, 1)


def volume_to_percent(volume: float) -> int:
    return round(min(max(volume, 0.0), 1.0) * 100)


def percent_to_volume(percent: float) -> float:
    return round(percent / 100, 3)


# Home Assistant's text entity refuses states longer than 255 characters.
TEXT_MAX = 255
INTENT_EVENT = "intent"

# Components whose config must name a command topic / a state topic.
_NEEDS_COMMAND = frozenset({"switch", "select", "number", "text", "button", "notify"})
_NEEDS_STATE = frozenset({"sensor", "event"})
KNOWN_COMPONENTS = _NEEDS_COMMAND | _NEEDS_STATE


def base_topic(settings: MqttSettings) -> str:
    return f"{settings.topic_prefix}/{settings.node_id}"


def availability_topic(settings: MqttSettings) -> str:
    return f"{base_topic(settings)}/availability"


def state_topic(settings: MqttSettings, key: str) -> str:
    """Where homeplm publishes the state of entity `key`."""
    return f"{base_topic(settings)}/{key}"


def command_topic(settings: MqttSettings, key: str) -> str:
    """Where Home Assistant sends commands for entity `key`."""
    return f"{base_topic(settings)}/{key}/set"


def device_info(settings: MqttSettings) -> dict[str, Any]:
    return {
        "identifiers": [settings.node_id],
        "name": "homeplm",
        "manufacturer": "homeplm",
        "model": "homeplm voice assistant",
        "sw_version": __version__,
    }


def entity(settings: MqttSettings, key: str, name: str, **fields: Any) -> dict[str, Any]:
    """One entity's discovery payload on homeplm's device (availability, origin, unique id)."""
    return {
        "name": name,
        "unique_id": f"{settings.node_id}_{key}",
        "availability_topic": availability_topic(settings),
        "device": device_info(settings),
        "origin": {"name": "homeplm", "sw_version": __version__},
        **fields,
    }


def _controlled(settings: MqttSettings, key: str, name: str, **fields: Any) -> dict[str, Any]:
    """An entity with both a state topic and a command topic."""
    return entity(
        settings,
        key,
        name,
        state_topic=state_topic(settings, key),
        command_topic=command_topic(settings, key),
        **fields,
    )


def entities(settings: MqttSettings) -> list[tuple[str, str, dict[str, Any]]]:
    """(component, key, payload) for every entity homeplm offers, given the privacy settings."""
    s = settings
    sensors: list[tuple[str, str, dict[str, Any]]] = [
        (
            "sensor",
            "state",
            entity(
                s,
                "state",
                "Assist state",
                state_topic=state_topic(s, "state"),
                device_class="enum",
                options=list(ASSIST_STATES),
                icon="mdi:account-voice",
            ),
        ),
    ]
    if s.publish_transcript:
        payload = entity(
            s, "last_transcript", "Last transcript", state_topic=state_topic(s, "last_transcript")
        )
        sensors.append(("sensor", "last_transcript", {**payload, "icon": "mdi:text-recognition"}))
    if s.publish_reply:
        payload = entity(s, "last_reply", "Last reply", state_topic=state_topic(s, "last_reply"))
        sensors.append(("sensor", "last_reply", {**payload, "icon": "mdi:message-reply-text"}))
    lo, hi, step = SENSITIVITY_RANGE
    vlo, vhi, vstep = VOLUME_RANGE
    return [
        *sensors,
        (
            "sensor",
            "last_latency",
            entity(
                s,
                "last_latency",
                "Last latency",
                state_topic=state_topic(s, "last_latency"),
                unit_of_measurement="ms",
                device_class="duration",
                state_class="measurement",
            ),
        ),
        ("switch", "mute", _controlled(s, "mute", "Mute", icon="mdi:microphone-off")),
        ("switch", "private", _controlled(s, "private", "Private mode", icon="mdi:incognito")),
        ("select", "wake_word", _controlled(s, "wake_word", "Wake word", options=list(WAKE_WORDS))),
        (
            "number",
            "sensitivity",
            _controlled(s, "sensitivity", "Wake sensitivity", min=lo, max=hi, step=step, mode="slider"),
        ),
        (
            "number",
            "volume",
            _controlled(
                s,
                "volume",
                "Volume",
                min=vlo,
                max=vhi,
                step=vstep,
                mode="slider",
                unit_of_measurement="%",
                icon="mdi:volume-high",
            ),
        ),
        (
            "notify",
            "announce",
            entity(s, "announce", "Announce", command_topic=command_topic(s, "announce")),
        ),
        ("text", "ask", _controlled(s, "ask", "Ask", max=TEXT_MAX, icon="mdi:chat-question")),
        (
            "event",
            "intent",
            entity(s, "intent", "Intent", state_topic=state_topic(s, "intent"), event_types=[INTENT_EVENT]),
        ),
        (
            "button",
            "forget_last",
            entity(
                s,
                "forget_last",
                "Forget last",
                command_topic=command_topic(s, "forget_last"),
                payload_press="PRESS",
                icon="mdi:delete-clock",
            ),
        ),
    ]


def discovery_topic(settings: MqttSettings, component: str, key: str) -> str:
    return f"{settings.discovery_prefix}/{component}/{settings.node_id}/{key}/config"


def discovery_messages(settings: MqttSettings) -> list[tuple[str, dict[str, Any]]]:
    """(config topic, payload) for every entity; publish them retained."""
    return [(discovery_topic(settings, c, k), p) for c, k, p in entities(settings)]


def removed_discovery_topics(settings: MqttSettings) -> list[str]:
    """Config topics of entities turned off by the privacy settings: publish "" retained to remove them."""
    topics = []
    if not settings.publish_transcript:
        topics.append(discovery_topic(settings, "sensor", "last_transcript"))
    if not settings.publish_reply:
        topics.append(discovery_topic(settings, "sensor", "last_reply"))
    return topics


def topic_problem(value: Any) -> str | None:
    """Why Home Assistant would refuse this as a topic, or None."""
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if "+" in value or "#" in value:
        return "must not contain wildcards"
    if value.startswith("/") or value.endswith("/") or "//" in value:
        return "has an empty level"
    return None


def validate_discovery(component: str, payload: dict[str, Any]) -> list[str]:
    """Problems Home Assistant would have with this config payload (empty: it accepts it)."""
    if component not in KNOWN_COMPONENTS:
        return [f"unknown component {component!r}"]
    problems: list[str] = []
    for key in ("name", "unique_id"):
        if not isinstance(payload.get(key), str) or not payload[key]:
            problems.append(f"{key} is required")
    problems += _availability_problems(payload)
    required = ["command_topic"] if component in _NEEDS_COMMAND else []
    required += ["state_topic"] if component in _NEEDS_STATE else []
    for key in required:
        if key not in payload:
            problems.append(f"{key} is required")
    for key, value in payload.items():
        problem = topic_problem(value) if key.endswith("_topic") else None
        if problem:
            problems.append(f"{key} {problem}")
    device = payload.get("device")
    if not isinstance(device, dict) or not device.get("identifiers"):
        problems.append("device.identifiers is required")
    elif not isinstance(device.get("via_device", ""), str):
        problems.append("device.via_device must be an identifier (a string)")
    problems += _component_problems(component, payload)
    return problems


def _availability_problems(payload: dict[str, Any]) -> list[str]:
    """`availability_topic`, or an `availability` list of topics (never both), and a known mode."""
    if "availability" not in payload:
        return [] if "availability_topic" in payload else ["availability_topic is required"]
    if "availability_topic" in payload:
        return ["availability and availability_topic must not be used together"]
    listed = payload["availability"]
    if not isinstance(listed, list) or not listed:
        return ["availability must be a non-empty list"]
    problems = []
    for entry in listed:
        problem = topic_problem(entry.get("topic")) if isinstance(entry, dict) else "must be a mapping"
        if problem:
            problems.append(f"availability topic {problem}")
    if payload.get("availability_mode", "latest") not in ("all", "any", "latest"):
        problems.append("availability_mode must be all, any or latest")
    return problems


def _component_problems(component: str, payload: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    options = payload.get("options")
    options_ok = isinstance(options, list) and bool(options) and all(isinstance(o, str) for o in options)
    if component == "select" and not options_ok:
        problems.append("options must be a non-empty list of strings")
    if component == "sensor" and payload.get("device_class") == "enum":
        if not options_ok:
            problems.append("an enum sensor needs options")
        if "state_class" in payload or "unit_of_measurement" in payload:
            problems.append("an enum sensor takes no state_class or unit_of_measurement")
    if component == "number":
        lo, hi, step = payload.get("min", 1.0), payload.get("max", 100.0), payload.get("step", 1.0)
        if not (isinstance(lo, int | float) and isinstance(hi, int | float) and lo < hi):
            problems.append("number needs min < max")
        if not isinstance(step, int | float) or step <= 0:
            problems.append("number step must be > 0")
    if component == "event":
        types = payload.get("event_types")
        if not isinstance(types, list) or not types:
            problems.append("event_types must be a non-empty list")
    if component == "text" and not 0 < payload.get("max", TEXT_MAX) <= TEXT_MAX:
        problems.append(f"text max must be 1..{TEXT_MAX}")
    return problems
