"""Spoken answers about the house's current state ("how warm is it in the nursery")."""

from __future__ import annotations

import contextlib

from homeplm.house.device_discovery import Device

MEASURES = {  # what was asked → (device classes, units) that answer it
    "temperature": ({"temperature"}, {"°C", "°F", "C", "F", "degrees"}),
    "humidity": ({"humidity"}, {"%"}),
}
ASKED = {"warm": "temperature", "hot": "temperature", "cold": "temperature", "humid": "humidity"}
_UNITS = {"°C": "degrees", "°F": "degrees", "C": "degrees", "F": "degrees", "%": "percent"}


def measures(device: Device, measure: str) -> bool:
    classes, units = MEASURES[measure]
    if device.component == "climate":
        return measure == "temperature" and "current_temperature" in device.state_topics
    return device.component == "sensor" and (device.device_class in classes or device.unit in units)


def reading(device: Device) -> str | None:
    value = device.state.get("current_temperature" if device.component == "climate" else "state")
    if value is None or value.lower() in ("", "unknown", "unavailable", "none"):
        return None
    with contextlib.suppress(ValueError):
        value = f"{float(value):g}"
    unit = _UNITS.get(device.unit or "", device.unit or "")
    if device.component == "climate" and not unit:
        unit = "degrees"
    return f"{value} {unit}".strip()


def measure_reply(device: Device, measure: str, area: str | None) -> str:
    value = reading(device)
    if value is None:
        return f"I don't know the {measure} of the {device.name} right now."
    where = f"in the {area}" if area else f"on the {device.name}"
    return f"It's {value} {where}." if measure == "temperature" else f"The {measure} {where} is {value}."


def state_is(device: Device, asked: str) -> bool | None:
    """Whether `device` is `asked` (locked, open, on…), None when its state is unknown."""
    state = device.state.get("state")
    position = device.state.get("position")
    if state is None and position is None:
        return None
    p = device.payloads
    lowered = (state or "").lower()
    if asked in ("locked", "unlocked"):
        locked = lowered in (p.get("state_locked", "LOCKED").lower(), "locked")
        return (
            locked
            if asked == "locked"
            else lowered in (p.get("state_unlocked", "UNLOCKED").lower(), "unlocked")
        )
    if device.component == "cover":
        if state is None and position is not None:
            opened = position not in ("0", str(device.position_range[0]))
        else:
            opened = lowered in (p.get("state_open", "open").lower(), "open", "opening")
    else:
        opened = lowered in (p.get("state_on", "ON").lower(), "on", "open", "true", "1", "home")
    return opened if asked in ("open", "on") else not opened


_OPPOSITE = {
    "locked": "unlocked",
    "unlocked": "locked",
    "open": "closed",
    "closed": "open",
    "on": "off",
    "off": "on",
}


def state_reply(device: Device, asked: str) -> str:
    answer = state_is(device, asked)
    if answer is None:
        return f"I don't know whether the {device.name} is {asked} right now."
    if answer:
        return f"Yes, the {device.name} is {asked}."
    return f"No, the {device.name} is {_OPPOSITE[asked]}."
