"""The local LLM route: answers anything, with the household's relevant memories in the prompt."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from homeplm.asyncutil import iterate_in_thread
from homeplm.brain import RouteDecision
from homeplm.config.schema import AssistantSettings, LlmSettings
from homeplm.errors import BrainError
from homeplm.stages import ChatMessage, ChatModel, Turn

if TYPE_CHECKING:
    from homeplm.memory.service import HouseholdMemory
    from homeplm.memory.types import MemoryHit


def build_system_prompt(assistant: AssistantSettings) -> str:
    """Filled once: the prompt stays byte-stable so llama.cpp can reuse its prompt cache."""
    return assistant.system_prompt.format(name=assistant.name, household=assistant.household).strip()


def memory_lines(hits: list[MemoryHit]) -> list[str]:
    """Memories as short lines for a prompt: facts as told (with who told them), exchanges as Q/A."""
    lines = []
    for hit in hits:
        item = hit.item
        if item.kind == "fact":
            who = f"{item.speaker} said: " if item.speaker else ""
            lines.append(f"{who}{item.text}")
        else:
            lines.append(f"Earlier someone asked “{item.question}” and was told “{item.answer}”")
    return lines


def with_memories(question: str, lines: list[str]) -> str:
    """The user message: memories first (after the byte-stable system prompt), then the question."""
    if not lines:
        return question
    notes = "\n".join(f"- {line}" for line in lines)
    return f"What you know about this household:\n{notes}\n\nQuestion: {question}"


class LlmChatRoute:
    """Answers anything with the local chat model, a short history and relevant memories."""

    name = "llm"

    def __init__(
        self,
        model: ChatModel,
        llm: LlmSettings,
        assistant: AssistantSettings,
        memory: HouseholdMemory | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self.memory = memory
        self.max_tokens = llm.max_tokens
        self.system_prompt = build_system_prompt(assistant)
        self.history_timeout_s = llm.history_timeout_s
        self.clock = clock
        self._history: deque[tuple[str, str]] = deque(maxlen=llm.history_turns)
        self._last_exchange_s = float("-inf")

    def new_conversation(self) -> None:
        self._history.clear()

    def accepts(self, turn: Turn) -> RouteDecision:
        return RouteDecision(self.name, f"general question for the local model {self.model.name}")

    async def recall(self, question: str) -> list[MemoryHit]:
        if self.memory is None:
            return []
        return await asyncio.to_thread(self.memory.recall, question)

    def messages_for(self, question: str, memories: list[str]) -> list[ChatMessage]:
        if self.clock() - self._last_exchange_s > self.history_timeout_s:
            self.new_conversation()
        messages = [ChatMessage("system", self.system_prompt)]
        for asked, answer in self._history:
            messages += [ChatMessage("user", asked), ChatMessage("assistant", answer)]
        messages.append(ChatMessage("user", with_memories(question, memories)))
        return messages

    async def reply(self, turn: Turn, decision: RouteDecision) -> AsyncIterator[str]:
        started = time.perf_counter()
        hits = await self.recall(turn.text)
        lines = memory_lines(hits)
        decision.details["memories"] = [
            {"id": h.item.id, "text": line, "similarity": round(h.similarity, 3)}
            for h, line in zip(hits, lines, strict=True)
        ]
        decision.details["retrieval_ms"] = round((time.perf_counter() - started) * 1000, 1)
        messages = self.messages_for(turn.text, lines)
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
