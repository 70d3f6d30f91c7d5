"""Device control by voice: "turn off the kitchen light", "set the blinds to 40 percent", "is the
front door locked". Locks, garage doors and alarms (settings.confirm) ask "are you sure?" first.

Device names are the house's data: they are matched and spoken, never obeyed. An utterance only acts
through the fixed phrasings below, on the device(s) its words name.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from homeplm.brain.intents.types import IntentMatch, IntentReply
from homeplm.core.stages import Turn
from homeplm.house import answers
from homeplm.house.actions import ActionRefused, DeviceActions
from homeplm.house.device_discovery import Device
from homeplm.house.matching import TYPE_WORDS, clean_query, find
from homeplm.house.registry import DeviceRegistry

CONFIRM_TIMEOUT_S = 30.0
YES = frozenset({"yes", "yes do it", "do it", "confirm", "yes confirm", "yes i am sure", "i am sure",
                 "yeah", "yep", "sure", "yes sure", "go ahead", "yes go ahead", "yes please do"})  # fmt: skip
_SEP = "\x00"  # never in an MQTT topic, so never in a device id
_NOT_DEVICES = frozenset({"timer", "alarm", "reminder", "music", "volume", "it", "that", "this", "sound"})
_ON_OFF = frozenset({"light", "switch", "fan", "climate", "scene", "script", "input_boolean"})
_SETTABLE = {"light": "brightness", "cover": "position", "fan": "percentage", "climate": "temperature"}
_COVER_VERBS = {
    "open": "open",
    "raise": "open",
    "close": "close",
    "shut": "close",
    "lower": "close",
    "stop": "stop",
}
_STATE_ASKED = {"locked": {"lock"}, "unlocked": {"lock"}, "open": {"cover", "binary_sensor", "lock"},
                "closed": {"cover", "binary_sensor", "lock"}, "on": None, "off": None}  # fmt: skip
_VERBS = {"turn_on": "turn on", "turn_off": "turn off", "brightness": "set", "position": "set",
          "percentage": "set", "temperature": "set", "mode": "set", "open": "open", "close": "close",
          "stop": "stop", "lock": "lock", "unlock": "unlock"}  # fmt: skip
_ING = {"turn on": "turning on", "turn off": "turning off", "set": "setting", "open": "opening",
        "close": "closing", "stop": "stopping", "lock": "locking", "unlock": "unlocking"}  # fmt: skip

_AREA = re.compile(r" in (?:the )?(?P<area>[a-z][a-z ]*?)(?= to | on$| off$|$)")
_R = re.compile
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (_R(r"^(?:is|are) (?P<t>.+?) (?P<st>locked|unlocked|open|closed|on|off)$"), "state"),
    (_R(r"^how (?P<m>warm|hot|cold|humid) is (?:it|(?P<t>.+?))$"), "measure"),
    (_R(r"^what is (?:the )?(?P<m>temperature|humidity)(?: of (?P<t>.+))?$"), "measure"),
    (_R(r"^what is (?P<t>.+?) (?P<m>temperature|humidity)$"), "measure"),
    (
        _R(
            r"^(?:set|turn|put|switch|change) (?P<t>.+?) (?:to|in) "
            r"(?P<v>heat|cool|auto|dry|fan only|heat cool)(?: mode)?$"
        ),
        "mode",
    ),
    (
        _R(
            r"^(?:set|dim|brighten|turn|put|change|make|raise|lower|open|close) (?P<t>.+?)(?: up| down)?"
            r" (?:to|at) (?P<n>\d+(?:\.\d+)?)(?: (?P<u>percent|degree)(?: celsius)?)?$"
        ),
        "set",
    ),
    (_R(r"^(?:turn|put) (?P<v>on|off) (?P<t>.+)$"), "onoff"),
    (_R(r"^(?:turn|put) (?P<t>.+) (?P<v>on|off)$"), "onoff"),
    (_R(r"^(?!is |are |what |how |why |when |who |where |can |do )(?P<t>.+) (?P<v>on|off)$"), "onoff"),
    (_R(r"^(?P<v>open|close|shut|stop|raise|lower) (?P<t>.+)$"), "cover"),
    (_R(r"^(?P<v>lock|unlock) (?P<t>.+)$"), "lock"),
]


@dataclass(frozen=True, slots=True)
class _Pending:
    device_ids: tuple[str, ...]
    action: str
    value: str | None
    deadline: float


def needs_confirmation(device: Device, action: str, kinds: Sequence[str]) -> bool:
    """Locks, garage doors, alarms… (settings.confirm); locking a lock is the safe way and needs none."""
    if action == "lock":
        return False
    name = device.name.lower()
    return any(
        device.component == kind
        or (device.component == "cover" and (device.device_class == kind or kind in name))
        for kind in kinds
    )


class DeviceIntents:
    """The "device" intent handler; plug in with `IntentRoute.register(DeviceIntents(registry, actions))`."""

    name = "device"

    def __init__(
        self,
        registry: DeviceRegistry,
        actions: DeviceActions,
        *,
        clock: Callable[[], float] = time.monotonic,
        confirm_timeout_s: float = CONFIRM_TIMEOUT_S,
    ) -> None:
        self.registry = registry
        self.actions = actions
        self.clock = clock
        self.confirm_timeout_s = confirm_timeout_s
        self.confirm_kinds = tuple(registry.settings.confirm)
        self.pending: _Pending | None = None

    # -- matching ------------------------------------------------------------------------------
    def match(self, text: str, normalised: str) -> IntentMatch | None:
        n = normalised
        if self.pending is not None:
            if self.clock() > self.pending.deadline:
                self.pending = None
            elif n in YES:
                return IntentMatch("confirm.yes", matched=n)
            else:  # "no", or anything else: the question is dropped
                self.pending = None
                if n in ("no", "no thanks", "cancel", "do not", "no do not", "no way", "nope"):
                    return IntentMatch("confirm.no", matched=n)
        area = None
        if (found_area := _AREA.search(n)) and not found_area["area"][0].isdigit():
            area, n = found_area["area"], n[: found_area.start()] + n[found_area.end() :]
        for pattern, kind in _PATTERNS:
            if (m := pattern.match(n)) is not None:
                hit = self._resolve(kind, m.groupdict(), area, normalised)
                if hit is not None:
                    return hit
        return None

    def _resolve(self, kind: str, g: dict[str, str | None], area: str | None, n: str) -> IntentMatch | None:
        target = clean_query(g.get("t") or "")
        if target in _NOT_DEVICES:
            return None
        slots = {"target": target, "area": area or ""}
        devices = self.registry.devices()
        if kind in ("state", "measure"):
            return self._question(kind, g, target, area, devices, n)
        if kind == "mode":
            action, value, comps = "mode", (g["v"] or "").replace(" ", "_"), {"climate"}
        elif kind == "set":
            value = g["n"] or ""
            comps = {"climate"} if g["u"] == "degree" else set(_SETTABLE)
            action = ""
        elif kind == "onoff":
            action, value, comps = f"turn_{g['v']}", None, set(_ON_OFF)
        elif kind == "cover":
            action, value, comps = _COVER_VERBS[g["v"] or ""], None, {"cover"}
        else:
            action, value, comps = g["v"] or "", None, {"lock"}
        found = find(devices, target, area, comps)
        if found is None:
            if kind in ("mode", "set") and g.get("u") is None:
                return None  # "set the volume to 5": somebody else's
            return IntentMatch("device.unknown", {**slots, "action": action}, 0.85, n)
        if found.ambiguous:
            names = _SEP.join(d.name for d in found.ambiguous)
            return IntentMatch("device.ambiguous", {**slots, "names": names}, found.score, n)
        action = action or _SETTABLE[found.devices[0].component]
        ids = _SEP.join(d.id for d in found.devices)
        intent = f"{found.devices[0].component}.{action}"
        return IntentMatch(intent, {**slots, "action": action, "value": value or "", "devices": ids}, 0.9, n)

    def _question(
        self,
        kind: str,
        g: dict[str, str | None],
        target: str,
        area: str | None,
        devices: list[Device],
        n: str,
    ) -> IntentMatch | None:
        if kind == "state":
            asked = g["st"] or ""
            comps = _STATE_ASKED[asked]
            found = find(devices, target, area, comps)
            slots = {"asked": asked}
        else:
            measure = answers.ASKED.get(g["m"] or "", g["m"] or "")
            pool = [d for d in devices if answers.measures(d, measure)]
            is_kind = bool(target) and all(w in TYPE_WORDS or w == "room" for w in target.split())
            found = find(pool, "" if is_kind else target, area) if (target or area) else None
            if found is None and not target and not area and len(pool) == 1:
                return IntentMatch("sensor.query", {"measure": measure, "devices": pool[0].id}, 0.9, n)
            slots = {"measure": measure, "area": area or ""}
        if found is None or (found.ambiguous and kind == "state"):
            return None
        return IntentMatch("sensor.query", {**slots, "devices": found.devices[0].id}, 0.9, n)

    # -- acting -------------------------------------------------------------------------------
    async def handle(self, match: IntentMatch, turn: Turn) -> IntentReply:
        slots = match.slots
        if match.intent == "confirm.yes":
            pending, self.pending = self.pending, None
            if pending is None or self.clock() > pending.deadline:
                return IntentReply("That has timed out; please ask again.")
            return self._perform(pending.device_ids, pending.action, pending.value, confirmed=True)
        if match.intent == "confirm.no":
            return IntentReply("Okay, I won't.", cacheable=True)
        if match.intent == "device.unknown":
            where = f" in the {slots['area']}" if slots.get("area") else ""
            return IntentReply(f"I don't know a device called {slots['target'] or 'that'}{where}.")
        if match.intent == "device.ambiguous":
            names = slots["names"].split(_SEP)
            return IntentReply(f"Which one do you mean: the {', the '.join(names[:-1])} or the {names[-1]}?")
        if match.intent == "sensor.query":
            device = self.registry.get(slots["devices"])
            if device is None:
                return IntentReply("That device has just gone away.")
            if "asked" in slots:
                return IntentReply(answers.state_reply(device, slots["asked"]))
            return IntentReply(answers.measure_reply(device, slots["measure"], slots.get("area") or None))
        ids = tuple(slots["devices"].split(_SEP))
        return self._perform(ids, slots["action"], slots.get("value") or None, confirmed=False)

    def _perform(
        self, ids: tuple[str, ...], action: str, value: str | None, *, confirmed: bool
    ) -> IntentReply:
        devices = [d for d in map(self.registry.get, ids) if d is not None]
        if not devices:
            return IntentReply("That device has just gone away.")
        verb = _VERBS.get(action, action)
        what = devices[0].name if len(devices) == 1 else f"{len(devices)} devices"
        if not confirmed and any(needs_confirmation(d, action, self.confirm_kinds) for d in devices):
            self.pending = _Pending(ids, action, value, self.clock() + self.confirm_timeout_s)
            return IntentReply(f"Are you sure you want to {verb} the {what}?")
        try:
            for device in devices:
                self.actions.perform(device, action, value)
        except ActionRefused as err:
            return IntentReply(str(err))
        return IntentReply(f"Okay, {_ING.get(verb, verb)} the {what}.")
