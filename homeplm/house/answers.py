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


def measure_reply(devices: list[Device], measure: str, area: str | None) -> str:
    """One reading, or for an area with several ("upstairs") their average and range."""
    known = [(d, v) for d in devices if (v := reading(d)) is not None]
    if not known:
        return f"I don't know the {measure} of the {devices[0].name} right now."
    where = _where(area) if area else f"on the {known[0][0].name}"
    numbers = [n for _, v in known if (n := _float(v.split()[0])) is not None]
    if len(known) > 1 and len(numbers) == len(known):
        unit = known[0][1].partition(" ")[2]
        low, high, mean = min(numbers), max(numbers), sum(numbers) / len(numbers)
        spread = f", between {low:g} and {high:g}" if high - low >= 1 else ""
        value = f"about {mean:.1f} {unit}".replace(".0 ", " ").strip()
        return (
            f"It's {value} {where}{spread}."
            if measure == "temperature"
            else f"The {measure} {where} is {value}."
        )
    value = known[0][1]
    return f"It's {value} {where}." if measure == "temperature" else f"The {measure} {where} is {value}."


def _where(area: str) -> str:
    return (
        area
        if area in ("upstairs", "downstairs", "outside", "outdoors", "inside", "indoors")
        else f"in the {area}"
    )


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def current_setting(device: Device, setting: str) -> float | None:
    """Where a light's brightness, a cover's position, a fan's speed or a thermostat's target is now,
    in the units homeplm speaks (percent, degrees); None when the device has not said."""
    state = (device.state.get("state") or "").lower()
    if setting == "brightness":
        if state in ("off", device.payloads.get("state_off", "OFF").lower()):
            return 0.0
        raw = _float(device.state.get("brightness") or "")
        return None if raw is None else round(raw * 255 / device.brightness_scale) * 100 / 255
    if setting == "position":
        raw = _float(device.state.get("position") or "")
        closed, opened = device.position_range
        return None if raw is None or opened == closed else (raw - closed) * 100 / (opened - closed)
    if setting == "percentage":
        raw = _float(device.state.get("percentage") or "")
        low, high = device.speed_range
        return None if raw is None or high < low else max(0.0, (raw - low + 1) * 100 / (high - low + 1))
    return _float(device.state.get("temperature") or "")


def list_reply(devices: list[Device], asked: str, kind: str, area: str | None) -> str:
    """ "Which lights are on?": the ones that are, by name; unknown states said as such."""
    what = f"{kind}s" if kind else "devices"
    where = f" {_where(area)}" if area else ""
    states = [(d, state_is(d, asked)) for d in devices]
    yes = sorted({d.name for d, s in states if s})
    unknown = sum(s is None for _, s in states)
    tail = f" I don't know the state of {unknown} more." if unknown else ""
    if not yes:
        return f"No {what}{where} are {asked}.{tail}" if devices else f"I don't know any {what}{where}."
    listed = yes[0] if len(yes) == 1 else f"{', the '.join(yes[:-1])} and the {yes[-1]}"
    verb = "is" if len(yes) == 1 else "are"
    return f"The {listed} {verb} {asked}{where}.{tail}"


def state_is(device: Device, asked: str) -> bool | None:
    """Whether `device` is `asked` (locked, open, on…), None when its state is unknown."""
    state = device.state.get("state")
    position = device.state.get("position")
    if state is None and position is None:
        return None
    p = device.payloads
    lowered = (state or "").lower()
    if asked in ("armed", "disarmed"):
        return lowered.startswith("armed") if asked == "armed" else lowered == "disarmed"
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
    "armed": "disarmed",
    "disarmed": "armed",
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
