"""The brain between transcript and reply. For now a plain chat with the local LLM.

The seam for what comes next: `Router` asks an ordered list of `Route`s (fast intents, memory,
an expert model…) and the first that accepts a turn answers it; the LLM chat is the last route.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from homeplm.asyncutil import iterate_in_thread
from homeplm.config.schema import AssistantSettings, LlmSettings
from homeplm.errors import BrainError
from homeplm.stages import ChatMessage, ChatModel, Turn

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """Which route answers a turn and why: recorded with every reply."""

    route: str
    reason: str


class Route(Protocol):
    name: str

    def accepts(self, turn: Turn) -> RouteDecision | None: ...

    def new_conversation(self) -> None: ...

    def reply(self, turn: Turn) -> AsyncIterator[str]: ...


def build_system_prompt(assistant: AssistantSettings) -> str:
    """Filled once: the prompt stays byte-stable so llama.cpp can reuse its prompt cache."""
    return assistant.system_prompt.format(name=assistant.name, household=assistant.household).strip()


class LlmChatRoute:
    """Answers anything with the local chat model, keeping a short history."""

    name = "llm"

    def __init__(
        self,
        model: ChatModel,
        llm: LlmSettings,
        assistant: AssistantSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self.max_tokens = llm.max_tokens
        self.system_prompt = build_system_prompt(assistant)
        self.history_timeout_s = llm.history_timeout_s
        self.clock = clock
        self._history: deque[tuple[str, str]] = deque(maxlen=llm.history_turns)
        self._last_exchange_s = float("-inf")

    def new_conversation(self) -> None:
        self._history.clear()

    def accepts(self, turn: Turn) -> RouteDecision:
        return RouteDecision(self.name, f"general question for {self.model.name}")

    def messages_for(self, turn: Turn) -> list[ChatMessage]:
        if self.clock() - self._last_exchange_s > self.history_timeout_s:
            self.new_conversation()
        messages = [ChatMessage("system", self.system_prompt)]
        for question, answer in self._history:
            messages += [ChatMessage("user", question), ChatMessage("assistant", answer)]
        messages.append(ChatMessage("user", turn.text))
        return messages

    async def reply(self, turn: Turn) -> AsyncIterator[str]:
        messages = self.messages_for(turn)
        parts: list[str] = []
        try:
            async for delta in iterate_in_thread(
                lambda: self.model.stream_chat(messages, max_tokens=self.max_tokens)
            ):
                parts.append(delta)
                yield delta
        except BrainError:
            raise
        except Exception as err:
            raise BrainError(f"the language model failed: {err}") from err
        if answer := "".join(parts).strip():
            self._history.append((turn.text, answer))
            self._last_exchange_s = self.clock()


class Router:
    """Asks each route in order; the first to accept answers. Implements the Brain protocol."""

    def __init__(self, routes: Sequence[Route]) -> None:
        if not routes:
            raise ValueError("a router needs at least one route")
        self.routes = list(routes)
        self.last_decision: RouteDecision | None = None

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
        _LOGGER.debug("route %s: %s", decision.route, decision.reason)
        async for delta in route.reply(turn):
            yield delta
