"""The brain between transcript and reply: an ordered router of routes, each recorded.

Routes are asked in order — fast intents, the expert model (when configured and wanted), the local
LLM with the household's memories — and the first that accepts a turn answers it. Every turn leaves
a record: which route, why, and what it used or sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from homeplm.brain.hygiene import DEFAULT_MAX_SENTENCES, SpokenReply
from homeplm.core.errors import BrainError
from homeplm.core.stages import Turn

if TYPE_CHECKING:
    from homeplm.memory.service import HouseholdMemory

_LOGGER = logging.getLogger(__name__)

# Turns answered by these routes are not kept as exchanges: they carry nothing worth remembering.
_NOT_REMEMBERED = ("intent:stop", "intent:repeat", "intent:memory.")


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """Which route answers a turn and why. Routes add what they used to `details` as they go
    (memories, what was sent to an expert, a fallback) — the route record of the turn."""

    route: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


class Route(Protocol):
    """One way to answer a turn (fast intents, the expert, the local LLM)."""

    name: str

    def accepts(self, turn: Turn) -> RouteDecision | None: ...

    def new_conversation(self) -> None: ...

    def reply(self, turn: Turn, decision: RouteDecision) -> AsyncIterator[str]: ...


class Router:
    """Asks each route in order; the first to accept answers. Implements the Brain protocol.

    A model's words (every route but the fast intents and a `verbatim` one, whose replies code
    wrote) pass `SpokenReply` (hygiene.py): no system
    prompt read back, no "as an AI", no claimed action, no markdown or emoji, at most
    `max_sentences` sentences (`assistant.max_sentences`; a route may carry its own `max_sentences`).
    """

    def __init__(
        self,
        routes: Sequence[Route],
        memory: HouseholdMemory | None = None,
        *,
        max_sentences: int = DEFAULT_MAX_SENTENCES,
    ) -> None:
        if not routes:
            raise ValueError("a router needs at least one route")
        self.routes = list(routes)
        self.memory = memory
        self.max_sentences = max_sentences
        # The system prompts the routes give their models: a reply must not read them back.
        self._prompts = tuple(
            p for r in self.routes if isinstance(p := getattr(r, "system_prompt", None), str)
        )
        self.last_decision: RouteDecision | None = None
        self.last_reply = ""
        self._writes: set[asyncio.Task[None]] = set()

    def decide(self, turn: Turn) -> tuple[Route, RouteDecision]:
        for route in self.routes:
            if decision := route.accepts(turn):
                return route, decision
        raise BrainError(f"no route accepted the turn from {turn.source}")

    def new_conversation(self) -> None:
        """Forget the running conversation (not the household's memory)."""
        for route in self.routes:
            route.new_conversation()

    async def reply(self, turn: Turn) -> AsyncIterator[str]:
        route, decision = self.decide(turn)
        self.last_decision = decision
        # The same details dict: what the route adds while it answers shows in the turn's record.
        turn.record.update(route=decision.route, reason=decision.reason, details=decision.details)
        _LOGGER.debug("route %s: %s", decision.route, decision.reason)
        parts: list[str] = []
        # A model's words are made fit to be spoken; only code that publishes says something was done.
        spoken = None
        if not decision.route.startswith("intent:") and not getattr(route, "verbatim", False):
            limit = getattr(route, "max_sentences", self.max_sentences)
            spoken = SpokenReply(
                turn.text, self._prompts, limit if isinstance(limit, int) else self.max_sentences
            )
        # Once `spoken.done`, the rest is still read and dropped, not cut off: the local route keeps
        # its conversation history only when its stream ends.
        async for delta in route.reply(turn, decision):
            for text in spoken.push(delta) if spoken is not None else (delta,):
                parts.append(text)
                yield text
        if spoken is not None:
            for text in spoken.flush():
                parts.append(text)
                yield text
            self._record(spoken, decision)
        self.last_reply = "".join(parts).strip()
        if spoken is not None and (said := getattr(route, "said", None)) is not None:
            said(turn.text, self.last_reply)  # its history keeps what was spoken, not the raw words
        if self.last_reply:
            for other in self.routes:  # "repeat that" needs to know what was said, by any route
                if hasattr(other, "remember_reply"):
                    other.remember_reply(self.last_reply)
        if self.memory is not None and self.last_reply and not decision.route.startswith(_NOT_REMEMBERED):
            # In the background: the reply (and its audio) must not wait for the memory write.
            task = asyncio.create_task(self._remember(turn, decision, self.last_reply))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

    @staticmethod
    def _record(spoken: SpokenReply, decision: RouteDecision) -> None:
        """What the filter caught goes into the turn's route record; counts only at INFO."""
        if spoken.claims_caught:
            decision.details["claims_caught"] = spoken.claims_caught
            _LOGGER.info(
                "replaced %d sentence(s) that claimed an action nobody carried out", spoken.claims_caught
            )
        if spoken.caught:
            decision.details["hygiene"] = dict(spoken.caught)
            _LOGGER.info("reply hygiene: %s", ", ".join(f"{k}={n}" for k, n in sorted(spoken.caught.items())))
            _LOGGER.debug("left unsaid: %s", spoken.dropped)

    async def flush(self) -> None:
        """Wait for the memory writes still under way (tests, shutdown)."""
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    async def _remember(self, turn: Turn, decision: RouteDecision, answer: str) -> None:
        assert self.memory is not None
        try:
            await asyncio.to_thread(
                self.memory.record_exchange,
                turn.text,
                answer,
                route=decision.route,
                speaker=turn.speaker,
                room=turn.room,
                source=turn.source,
            )
        except Exception:  # a full disk must not cost the household its answer
            _LOGGER.exception("could not store the exchange")
