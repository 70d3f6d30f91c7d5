"""The local LLM route: answers anything, with the household's relevant memories in the prompt."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from homeplm.brain.router import RouteDecision
from homeplm.config.schema import AssistantSettings, LlmSettings
from homeplm.core.errors import BrainError
from homeplm.core.stages import ChatMessage, ChatModel, Turn
from homeplm.core.workers import TYPED, priority_of, worker

if TYPE_CHECKING:
    from homeplm.memory.service import HouseholdMemory
    from homeplm.memory.types import MemoryHit

_LOGGER = logging.getLogger(__name__)

# Typed questions (Home Assistant, the CLI) allowed to wait for the language model at once; more
# are refused. Spoken ones are never refused: the listener runs one spoken turn at a time.
MAX_WAITING_TYPED = 3
BUSY_REPLY = "I'm busy with other questions right now; please ask again in a moment."


# Three short question-and-answer turns after the system prompt (`llm.few_shot`): a tiny model then
# answers in the same short, plain way. Measured with SmolLM2-135M (python -m
# homeplm.bench.answers): 49 → 60 of 145 everyday questions right, replies p50 334 → 120 ms.
SHOTS = (
    ("What is the capital of Italy?", "The capital of Italy is Rome."),
    ("How many days are there in a week?", "There are seven days in a week."),
    ("Who discovered penicillin?", "Alexander Fleming discovered penicillin, in 1928."),
)


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
        # Byte-stable like the system prompt, so llama.cpp's prompt cache covers them too.
        self.shots = (
            [ChatMessage(role, text) for q, a in SHOTS for role, text in (("user", q), ("assistant", a))]
            if llm.few_shot
            else []
        )
        self.history_timeout_s = llm.history_timeout_s
        self.clock = clock
        self._history: deque[tuple[str, str]] = deque(maxlen=llm.history_turns)
        self._last_exchange_s = float("-inf")

    def new_conversation(self) -> None:
        self._history.clear()

    def said(self, question: str, spoken: str) -> None:
        """The reply as it was spoken (filtered): the history keeps that, so a read-back prompt or a
        ramble does not prime the next answer."""
        if self._history and self._history[-1][0] == question:
            if spoken:
                self._history[-1] = (question, spoken)
            else:
                self._history.pop()

    def accepts(self, turn: Turn) -> RouteDecision:
        return RouteDecision(self.name, f"general question for the local model {self.model.name}")

    async def recall(self, question: str) -> list[MemoryHit]:
        if self.memory is None:
            return []
        return await asyncio.to_thread(self.memory.recall, question)

    def messages_for(self, question: str, memories: list[str]) -> list[ChatMessage]:
        if self.clock() - self._last_exchange_s > self.history_timeout_s:
            self.new_conversation()
        messages = [ChatMessage("system", self.system_prompt), *self.shots]
        for asked, answer in self._history:
            messages += [ChatMessage("user", asked), ChatMessage("assistant", answer)]
        messages.append(ChatMessage("user", with_memories(question, memories)))
        return messages

    async def reply(self, turn: Turn, decision: RouteDecision) -> AsyncIterator[str]:
        started = time.perf_counter()
        llm = worker("llm")
        priority = priority_of(turn.source)
        if priority >= TYPED and llm.waiting >= MAX_WAITING_TYPED:
            # A burst of typed questions (Home Assistant, scripts) must not build a backlog that
            # people in the room then wait behind: refuse the excess, and say so in the log.
            _LOGGER.warning(
                "busy: %d question(s) already wait for the language model; refused one from %s",
                llm.waiting,
                turn.source,
            )
            raise BrainError(BUSY_REPLY, code="busy")
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
            async for delta in llm.stream(
                lambda: self.model.stream_chat(messages, max_tokens=self.max_tokens), priority
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
