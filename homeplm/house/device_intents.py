"""Device control by voice: "turn off the kitchen light", "the lights in the office on", "start the
washing machine", "a bit warmer", "is the garage door open", "which lights are on". Unlocking,
opening a garage door and disarming ask "are you sure?" first (settings.confirm).

Device names are the house's data: they are matched and spoken, never obeyed. An utterance only acts
through the fixed phrasings of `homeplm.house.phrasing`, on the device(s) its words name. A command
that names nothing the house has gets an honest answer here — never a language model's story.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from homeplm.brain.intents.normalise import normalise
from homeplm.brain.intents.types import IntentMatch, IntentReply
from homeplm.core.stages import Turn
from homeplm.house import answers, phrasing, rooms
from homeplm.house.actions import ActionRefused, DeviceActions
from homeplm.house.device_discovery import Device
from homeplm.house.matching import TYPE_WORDS, Found, in_area, kind_of, resolve
from homeplm.house.phrasing import Command
from homeplm.house.registry import DeviceRegistry

CONFIRM_TIMEOUT_S = 30.0
MAX_NAME_WORDS = 4  # "the big ceiling light downstairs": longer than that, it is talk, not a name
YES = frozenset({"yes", "yes do it", "do it", "confirm", "yes confirm", "yes i am sure", "i am sure",
                 "yeah", "yep", "sure", "yes sure", "go ahead", "yes go ahead", "yes please do"})  # fmt: skip
NO = frozenset({"no", "no thanks", "cancel", "do not", "no do not", "no way", "nope", "never mind", "stop"})
_SEP = "\x00"  # never in an MQTT topic, so never in a device id
_NOT_DEVICES = frozenset({
    "timer", "alarm clock", "reminder", "music", "volume", "it", "that", "this", "sound", "song", "radio",
    "podcast", "news", "game", "conversation", "over", "again", "talking", "listening", "you", "me",
})  # fmt: skip
_ON_OFF = frozenset({"light", "switch", "fan", "climate", "input_boolean", "script", "scene"})
_SETTABLE = {"light": "brightness", "cover": "position", "fan": "percentage", "climate": "temperature"}
# A relative change: the default step per setting, its bounds (and what "up" means for a cover).
_STEP = {"brightness": (20.0, 1.0, 100.0), "position": (25.0, 0.0, 100.0), "percentage": (25.0, 0.0, 100.0),
         "temperature": (1.0, 5.0, 35.0)}  # fmt: skip
_COVER_VERBS = {"open": "open", "raise": "open", "close": "close", "shut": "close", "lower": "close"}
_STATE_ASKED = {"locked": {"lock"}, "unlocked": {"lock"}, "open": {"cover", "binary_sensor", "lock"},
                "closed": {"cover", "binary_sensor", "lock"}, "on": _ON_OFF | {"binary_sensor"},
                "off": _ON_OFF | {"binary_sensor"}, "running": _ON_OFF, "armed": {"alarm_control_panel"},
                "disarmed": {"alarm_control_panel"}}  # fmt: skip
_VERBS = {"turn_on": "turn on", "turn_off": "turn off", "brightness": "set", "position": "set",
          "percentage": "set", "temperature": "set", "mode": "set", "open": "open", "close": "close",
          "stop": "stop", "lock": "lock", "unlock": "unlock", "arm_away": "arm", "arm_home": "arm",
          "arm_night": "arm", "arm_vacation": "arm", "disarm": "disarm"}  # fmt: skip
_ING = {"turn on": "turning on", "turn off": "turning off", "set": "setting", "open": "opening",
        "close": "closing", "stop": "stopping", "lock": "locking", "unlock": "unlocking",
        "arm": "arming", "disarm": "disarming"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Pending:
    device_ids: tuple[str, ...]
    action: str
    value: str | None
    deadline: float
    utterance: int  # the question was asked in reply to this utterance; only the next may answer


def needs_confirmation(device: Device, action: str, kinds: Sequence[str]) -> bool:
    """Unlocking, opening a garage door or gate, disarming: asked first (settings.confirm). The safe
    way — locking, closing, arming, stopping — never asks."""
    if action in ("lock", "close", "stop", "turn_off") or action.startswith("arm_"):
        return False
    if device.component == "cover" and action == "position":
        return any(kind in (device.device_class or "", *device.name.lower().split()) for kind in kinds)
    name = device.name.lower()
    return any(
        device.component == kind
        or (device.component == "cover" and (device.device_class == kind or kind in name.split()))
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
        self.utterances = 0
        self.room: str | None = None  # the asking room (Turn.room) while its turn is matched: rooms.py

    def heard(self) -> None:
        """An utterance came (the intent route says so for every one, whoever answers it)."""
        self.utterances += 1

    # -- matching ------------------------------------------------------------------------------
    def match_in_room(self, text: str, normalised: str, room: str | None) -> IntentMatch | None:
        """`match`, for a turn asked in `room` (Turn.room: a satellite's area, or None)."""
        self.room = room
        try:
            return self.match(text, normalised)
        finally:
            self.room = None

    def match(self, text: str, normalised: str) -> IntentMatch | None:
        n = normalised
        if self.pending is not None:
            if self.clock() > self.pending.deadline or self.utterances > self.pending.utterance + 1:
                self.pending = None  # timed out, or something else was said in between
            elif n in YES:
                return IntentMatch("confirm.yes", matched=n)
            else:  # "no", or anything else: the question is dropped
                self.pending = None
                if n in NO:
                    return IntentMatch("confirm.no", matched=n)
        for clause in phrasing.clauses(n):  # the whole, then its last clause: "ignore … and unlock X"
            command = phrasing.read(clause, text)
            if command is None or command.target in _NOT_DEVICES or command.target.startswith("timer"):
                continue
            if (found := self._resolve(command, n)) is not None:
                return found
        return None

    def understood(self, text: str) -> bool:
        """`text` is a command or question about a device the house has (no state is changed: a
        pending confirmation stays pending)."""
        n = normalise(text)
        for clause in phrasing.clauses(n):
            command = phrasing.read(clause, text)
            if command is None or command.target in _NOT_DEVICES or command.target.startswith("timer"):
                continue
            found = self._resolve(command, n)
            if found is not None and found.intent != "device.unknown":
                return True
        return False

    def _resolve(self, c: Command, n: str) -> IntentMatch | None:
        g = c.groups
        devices = self.registry.devices()
        if c.kind in ("state", "measure", "list"):
            return self._question(c, devices, n)
        value = ""
        if c.kind == "mode":
            action, value, comps = "mode", (g["v"] or "").replace(" ", "_"), {"climate"}
        elif c.kind == "set":
            value = g["n"] or ""
            comps = {"climate"} if g["u"] == "degree" else set(_SETTABLE)
            action = ""
        elif c.kind == "step":
            return self._step(c, devices, n)
        elif c.kind == "onoff":
            action, comps = f"turn_{g['v']}", set(_ON_OFF)
        elif c.kind == "startstop":
            action = "turn_on" if g["v"] in ("start", "run", "enable", "activate") else "turn_off"
            comps = set(_ON_OFF) | ({"cover"} if g["v"] == "stop" else set())
        elif c.kind == "cover":
            action, comps = _COVER_VERBS[g["v"] or ""], {"cover"}
        elif c.kind == "half":
            action, value, comps = "position", "50", {"cover"}
        elif c.kind == "alarm":
            action = "disarm" if g["v"] == "disarm" else f"arm_{g.get('mode') or 'away'}"
            comps = {"alarm_control_panel"}
        else:
            action, comps = g["v"] or "", {"lock"}
        if not c.target and not c.area and not c.every:
            return None
        target = c.target or ("light" if action.startswith("turn_") and not c.area else "")
        room, found = rooms.find_here(c, n, self.room, devices, target, comps, self.registry.floors)
        found = found or self._find_all(devices, target, c.area, comps, c.every)
        if found is None:
            if c.kind in ("mode", "set") and g.get("u") is None and not self._names_a_device(c):
                return None  # "set the volume to 5": somebody else's
            return self._unknown(c, action, comps, n)
        if found.ambiguous:
            return IntentMatch("device.ambiguous", {"names": _which(found.ambiguous)}, found.score, n)
        chosen = found.devices
        if c.kind == "startstop" and g["v"] == "stop":
            action = "stop" if chosen[0].component == "cover" else "turn_off"
        if c.area and not c.target:  # "everything in the kitchen": what can be switched
            chosen = tuple(d for d in chosen if d.component in _ON_OFF) or chosen
        action = action or _SETTABLE.get(chosen[0].component, "")
        if not action:
            return self._unknown(c, "set", comps, n)
        ids = _SEP.join(d.id for d in chosen)
        intent = f"{chosen[0].component}.{action}"
        slots = {"action": action, "value": value, "devices": ids, "room": room}
        return IntentMatch(intent, slots, 0.9, n)

    def _find(
        self, devices: list[Device], target: str, area: str | None, comps: set[str], every: bool
    ) -> Found | None:
        return resolve(devices, target, area, comps, every=every, floors=self.registry.floors)

    def _find_all(
        self, devices: list[Device], target: str, area: str | None, comps: set[str], every: bool
    ) -> Found | None:
        """ "the kitchen light and the sofa light": each named, all of them meant."""
        parts = [p for p in target.split(" and ") if p] if " and " in target else [target]
        found = [self._find(devices, p, area, comps, every) for p in parts]
        if len(parts) == 1 or any(f is None or f.ambiguous for f in found):
            return found[0] if len(parts) == 1 else None
        chosen = {d.id: d for f in found if f is not None for d in f.devices}
        return Found(tuple(chosen.values()), min(f.score for f in found if f is not None))

    def _names_a_device(self, c: Command) -> bool:
        return kind_of(c.target.split()) is not None or resolve(self.registry.devices(), c.target) is not None

    def _step(self, c: Command, devices: list[Device], n: str) -> IntentMatch | None:
        """ "a bit brighter", "turn the heating up by 2 degrees", "make it warmer in the hall"."""
        g = c.groups
        if g.get("adj"):
            way, setting = phrasing.adjective(g["adj"])
        else:
            way, setting = phrasing.direction(g.get("d")), ""
        if g.get("u") == "degree":
            setting = "temperature"
        comps = {c for c, s in _SETTABLE.items() if s == setting} if setting else set(_SETTABLE)
        target = c.target
        if not target and not c.area:
            if not setting:
                return None  # "higher": of what?
            target = next(w for w, k in TYPE_WORDS.items() if k & comps)
        room, found = rooms.find_here(c, n, self.room, devices, target, comps, self.registry.floors)
        found = found or self._find(devices, target, c.area, comps, c.every or not c.target)
        if found is None:
            if not target or kind_of(target.split()) is not None or resolve(devices, target):
                return self._unknown(c, "set", comps, n)
            return None  # "make the pasta hotter": not the house's
        if found.ambiguous:
            return IntentMatch("device.ambiguous", {"names": _which(found.ambiguous)}, 0.9, n)
        setting = setting or _SETTABLE[found.devices[0].component]
        chosen = tuple(d for d in found.devices if _SETTABLE.get(d.component) == setting)
        if not chosen:
            return None
        by = g.get("n") or ""
        slots = {"action": "step", "setting": setting, "way": way, "by": by, "amount": str(c.amount)}
        slots["devices"] = _SEP.join(d.id for d in chosen)
        slots["room"] = room
        return IntentMatch(f"{chosen[0].component}.step", slots, 0.9, n)

    def _unknown(self, c: Command, action: str, comps: set[str], n: str) -> IntentMatch | None:
        """A command that names nothing the house has: said so, with what there is instead. A long
        "target" is a sentence, not a name: not ours to answer."""
        first = c.target.split()[:1]
        if len(c.target.split()) > MAX_NAME_WORDS or first in (["your"], ["yourself"], ["them"]):
            return None  # a sentence, or "open your mind": not a name of a device
        slots = {
            "target": c.target,
            "area": c.area or "",
            "action": action,
            "comps": _SEP.join(sorted(comps)),
        }
        return IntentMatch("device.unknown", slots, 0.85, n)

    def _question(self, c: Command, devices: list[Device], n: str) -> IntentMatch | None:
        g, target, area = c.groups, c.target, c.area
        if c.kind == "list":
            asked = g["st"] or "on"
            comps = kind_of(target.split()) if target else None
            if target and comps is None:
                return None
            pool = [
                d for d in devices if (comps is None or d.component in comps) and "state" in d.capabilities
            ]
            if area:
                pool = [d for d in pool if in_area(area, d, self.registry.floors)]
            slots = {
                "asked": asked,
                "kind": target,
                "area": area or "",
                "devices": _SEP.join(d.id for d in pool),
            }
            return IntentMatch("device.list", slots, 0.9, n)
        if c.kind == "state":
            asked = g["st"] or ""
            kinds, floors = _STATE_ASKED[asked], self.registry.floors
            room, found = rooms.find_here(c, n, self.room, devices, target, kinds, floors)
            found = found or resolve(devices, target, area, kinds, floors=floors)
            asked = "on" if asked == "running" else asked
            if found is None or found.ambiguous:
                return None
            slots = {"asked": asked, "devices": found.devices[0].id, "room": room}
            return IntentMatch("sensor.query", slots, 0.9, n)
        measure = answers.ASKED.get(g["m"] or "", g["m"] or "")
        pool = [d for d in devices if answers.measures(d, measure)]
        if target and not area and kind_of(target.split()) is None and not resolve(pool, target):
            area, target = target, ""  # "how warm is it upstairs", "what's the temperature of the nursery"
        is_kind = bool(target) and all(w in TYPE_WORDS or w == "room" for w in target.split())
        asker = rooms.scope(c, n, self.room) if not area and (is_kind or not target) else None
        here = rooms.inside(pool, asker, self.registry.floors)  # "how warm is it", asked in the kitchen
        area = area or (asker if here else None)
        if area:
            pool = here or [d for d in pool if in_area(area, d, self.registry.floors)]
        if target and not is_kind:
            found = resolve(pool, target)
            pool = list(found.devices[:1]) if found is not None else []
        if not pool:
            return None
        slots = {"measure": measure, "area": area or "", "devices": _SEP.join(d.id for d in pool)}
        slots["room"] = (area or "") if here else ""
        return IntentMatch("sensor.query", slots, 0.9, n)

    # -- acting -------------------------------------------------------------------------------
    async def handle(self, match: IntentMatch, turn: Turn) -> IntentReply:
        slots = match.slots
        if slots.get("room"):
            turn.record["room"] = turn.room  # the asking room chose the device(s)
        if match.intent == "confirm.yes":
            pending, self.pending = self.pending, None
            if pending is None or self.clock() > pending.deadline or self.utterances > pending.utterance + 1:
                return IntentReply("That has timed out; please ask again.")
            return self._perform(pending.device_ids, pending.action, pending.value, confirmed=True)
        if match.intent == "confirm.no":
            return IntentReply("Okay, I won't.", cacheable=True)
        if match.intent == "device.unknown":
            return IntentReply(self._unknown_reply(slots))
        if match.intent == "device.ambiguous":
            names = slots["names"].split(_SEP)
            if len(set(names)) < len(names):
                return IntentReply(
                    f"I have {len(names)} devices called {names[0]} and can't tell which is which; give one "
                    "another name, or an alias (mqtt.aliases)."
                )
            return IntentReply(f"Which one do you mean: the {', the '.join(names[:-1])} or the {names[-1]}?")
        devices = [d for d in map(self.registry.get, slots["devices"].split(_SEP)) if d is not None]
        if match.intent == "device.list":
            return IntentReply(
                answers.list_reply(devices, slots["asked"], slots["kind"], slots["area"] or None)
            )
        if not devices:
            return IntentReply("That device has just gone away.")
        if match.intent == "sensor.query":
            if "asked" in slots:
                return IntentReply(answers.state_reply(devices[0], slots["asked"]))
            return IntentReply(answers.measure_reply(devices, slots["measure"], slots.get("area") or None))
        ids = tuple(d.id for d in devices)
        if slots["action"] == "step":
            return self._perform_step(devices, slots)
        return self._perform(ids, slots["action"], slots.get("value") or None, confirmed=False)

    def _unknown_reply(self, slots: Mapping[str, str]) -> str:
        target, area = slots.get("target") or "", slots.get("area") or ""
        comps = set((slots.get("comps") or "").split(_SEP))
        what = f"a {target}" if target else "anything like that"
        if not area:
            return f"I don't know {what} here, so I haven't done anything."
        there = [d for d in self.registry.devices() if in_area(area, d, self.registry.floors)]
        usable = [d for d in there if d.component in comps] or there
        if not there:
            return f"I don't know {what} in the {area}; I don't know that room."
        names = sorted({d.name for d in usable})[:6]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        return f"I don't know {what} in the {area}; there I have the {listed}."

    def _perform_step(self, devices: list[Device], slots: Mapping[str, str]) -> IntentReply:
        setting, way = slots["setting"], slots["way"]
        step, lo, hi = _STEP[setting]
        by, amount = slots.get("by") or "", float(slots.get("amount") or 1)
        if setting == "temperature":
            amount = 1.0  # "a bit warmer" is a degree, as "warmer" is
        change = (float(by) if by else step * amount) * (1 if way == "up" else -1)
        done: list[Device] = []
        for device in devices:
            now = answers.current_setting(device, setting)
            if now is None:
                if setting == "temperature" or len(devices) == 1:
                    return IntentReply(
                        f"I don't know what the {device.name} is set to now, so I can't change it by a step."
                        f' Say the value, like "set the {device.name} to {int(hi * 0.6)}'
                        f'{" degrees" if setting == "temperature" else " percent"}".'
                    )
                continue
            value = min(hi, max(lo, now + change))
            if setting == "brightness":  # as Home Assistant steps it: on its 0-255 scale
                level = round(now * 255 / 100) + round(change * 255 / 100)
                value = min(255, max(1, level)) * 100 / 255
            try:
                self.actions.perform(device, setting, f"{value:g}")
            except ActionRefused as err:
                return IntentReply(str(err))
            done.append(device)
        if not done:
            return IntentReply("I don't know how those are set now, so I haven't changed them.")
        what = _names(done)
        word = {"brightness": "brighter" if way == "up" else "dimmer", "temperature": "warmer" if way == "up"
                else "cooler"}.get(setting, "up" if way == "up" else "down")  # fmt: skip
        return IntentReply(f"Okay, the {what} {'is' if len(done) == 1 else 'are'} now {word}.")

    def perform(self, ids: tuple[str, ...], action: str, value: str | None) -> IntentReply:
        """Carry out `action` on the devices, asking first where it protects (free phrasing's picks
        come here too, so the same rules hold)."""
        return self._perform(ids, action, value, confirmed=False)

    def _perform(
        self, ids: tuple[str, ...], action: str, value: str | None, *, confirmed: bool
    ) -> IntentReply:
        devices = [d for d in map(self.registry.get, ids) if d is not None]
        if not devices:
            return IntentReply("That device has just gone away.")
        verb = _VERBS.get(action, action)
        what = _names(devices)
        if not confirmed and any(self._asks(d, action, value) for d in devices):
            self.pending = _Pending(
                ids, action, value, self.clock() + self.confirm_timeout_s, self.utterances
            )
            return IntentReply(f"Are you sure you want to {verb} the {what}?")
        to = ""
        if value is not None and action in _SETTABLE.values():
            to = f" to {value} {'degrees' if action == 'temperature' else 'percent'}"
        elif action == "mode" and value:
            to = f" to {value.replace('_', ' ')}"
        done: list[Device] = []
        refused: list[str] = []
        for device in devices:  # an offline one is said so; the others are still done
            try:
                self.actions.perform(device, action, value)
            except ActionRefused as err:
                refused.append(str(err))
                continue
            done.append(device)
        if not done:
            return IntentReply(" ".join(dict.fromkeys(refused)))
        tail = f" {' '.join(dict.fromkeys(refused))}" if refused else ""
        return IntentReply(f"Okay, {_ING.get(verb, verb)} the {_names(done)}{to}.{tail}")

    def _asks(self, device: Device, action: str, value: str | None) -> bool:
        if action == "position" and value is not None and float(value or 0) == 0:
            return False  # closing
        return needs_confirmation(device, action, self.confirm_kinds)


def _names(devices: Sequence[Device]) -> str:
    """ "Kitchen Light", "Sofa Light and the Reading Light", or "5 lights" when there are many."""
    names = [d.name for d in devices]
    if len(names) == 1:
        return names[0]
    if len(names) <= 3:
        return f"{', the '.join(names[:-1])} and the {names[-1]}"
    kinds = {d.component for d in devices}
    return f"{len(names)} {kinds.pop() + 's' if len(kinds) == 1 else 'devices'}"


def _which(devices: Sequence[Device]) -> str:
    """The names to ask between; where two share a name, their areas tell them apart."""
    names = [d.name for d in devices]
    return _SEP.join(
        f"{d.name} in the {d.area}" if names.count(d.name) > 1 and d.area else d.name for d in devices
    )
