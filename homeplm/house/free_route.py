"""The brain's route for free phrasings about the house ("it's too dark in the hall", "kill the
lights downstairs"): after the fast intents, before the language model's chat.

It accepts only what the code's gates let through (a request, and a known device, area or kind
named — cheap, no model), then lets the local model pick from the closed set
(`homeplm.house.free_phrasing`), and carries the pick out through the device intents: the same
confirmation, allow-list and offline rules. What it picked, and why, is in the route record.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Any

from homeplm.brain.router import RouteDecision
from homeplm.core.stages import Turn
from homeplm.core.workers import priority_of, worker
from homeplm.house import free_phrasing
from homeplm.house.device_intents import DeviceIntents

NOT_SURE = (
    "I'm not sure what you'd like me to do with that, so I haven't changed anything. "
    "Say it like: turn on the hall light."
)


class FreePhrasingRoute:
    """Implements the brain's Route protocol; `name` "house"."""

    name = "house"

    def __init__(self, picker: free_phrasing.FreePhrasing, intents: DeviceIntents) -> None:
        self.picker = picker
        self.intents = intents

    def accepts(self, turn: Turn) -> RouteDecision | None:
        if not free_phrasing.wants_action(turn.text):
            return None
        devices = self.intents.registry.devices()
        opts = free_phrasing.options(turn.text, devices, turn.room, self.intents.registry.floors)
        if not opts:
            return None
        details: dict[str, Any] = {"options": [o.label for o in opts]}
        return RouteDecision("house:free", f"a request naming {len(opts)} known device(s)", details)

    def new_conversation(self) -> None:
        """Nothing kept between turns."""

    async def reply(self, turn: Turn, decision: RouteDecision) -> AsyncIterator[str]:
        devices = self.intents.registry.devices()
        decide = functools.partial(self.picker.decide, turn.text, devices, turn.room)
        chosen = await worker("llm").call(decide, priority_of(turn.source))
        decision.details.update(
            reason=chosen.reason, model_ms=round(chosen.model_ms, 1), model_text=chosen.model_text
        )
        if chosen.pick is None:
            yield NOT_SURE
            return
        pick = chosen.pick
        decision.details["pick"] = {
            "devices": list(pick.device_ids),
            "action": pick.action,
            "value": pick.value,
        }
        answer = self.intents.perform(pick.device_ids, pick.action, pick.value)
        yield answer.text


def make_route(settings: Any, chat: Any, intents: DeviceIntents) -> FreePhrasingRoute | None:
    """The route, when the model can be held to a grammar and `mqtt.free_phrasing` is on."""
    from homeplm.core.stages import ConstrainedChat

    if not settings.mqtt.free_phrasing or not isinstance(chat, ConstrainedChat):
        return None
    picker = free_phrasing.FreePhrasing(chat, floors=intents.registry.floors)
    return FreePhrasingRoute(picker, intents)
