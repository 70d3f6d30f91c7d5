"""An expert model elsewhere in the house (OpenAI-compatible), used only when the owner set one up.

What is sent is recorded in the route record. Names and numbers from the household's memory are
masked unless `expert.allow_personal` is set. When the expert cannot be reached, the local model
answers and says so.
"""

from __future__ import annotations

import http.client
import json
import os
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from homeplm.brain.llm_route import LlmChatRoute, memory_lines, with_memories
from homeplm.brain.router import RouteDecision
from homeplm.config.schema import ExpertSettings
from homeplm.core.asyncutil import iterate_in_thread
from homeplm.core.errors import BrainError
from homeplm.core.stages import ChatMessage, Turn

_ASKED = re.compile(
    r"^\W*(?:please\s+)?(?:ask|use|check with)\s+(?:the\s+)?(?:big|bigger|expert|smart|large)\s+"
    r"(?:model|brain|one|computer)\W*(?:to\s+|about\s+|whether\s+|if\s+)?(?P<question>.+)$",
    re.IGNORECASE,
)
# With `use: auto`, what goes to the expert: what a 135M model cannot be trusted with — knowledge
# (who, what, when, where, how many, how do you say …), explanations, plans and writing, and long
# questions. Small talk stays on the box. (Household questions never get here: the household route
# answers them first, from told facts only.)
_HARD = re.compile(
    r"\b(explain|why does|why do|why is|why are|how does|how do i|compare|difference between|write|plan|"
    r"summari[sz]e|recipe|translate|step by step|pros and cons|how do you say|what does .+ mean)\b",
    re.IGNORECASE,
)
_KNOWLEDGE = re.compile(
    r"^\W*(?:(?:and|so|okay|ok|hey|please)\W+)*(?:who|what|when|where|which|tell me about|is|are|was|"
    r"were|did|does|do|can|could|how (?:many|much|far|long|old|big|tall|fast|deep|hot|cold|heavy))\b",
    re.IGNORECASE,
)
_SMALL_TALK = re.compile(
    r"^\W*(?:how are you|how's it going|what'?s up|who are you|what'?s your name|what is your name|"
    r"what can you do|are you (?:there|listening|awake|ok|okay)|can you hear me|do you like|"
    r"what do you think|thank|good (?:morning|night|evening|afternoon)|hello|hi\b|tell me a joke)",
    re.IGNORECASE,
)


def too_hard(text: str) -> str | None:
    """Why the small model should not answer `text` alone (None: it may)."""
    if _SMALL_TALK.match(text):
        return None
    if _HARD.search(text):
        return "asks for an explanation, a translation or writing"
    if len(text.split()) > 20:
        return "a long question"
    if _KNOWLEDGE.match(text):
        return "asks for knowledge a small model often gets wrong"
    return None


_NUMBER = re.compile(r"\d[\d .:/-]*\d|\d")
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+\b")
# Capitalised words that are not names (sentence starts, days, months).
_NOT_NAMES = frozenset(
    [
        "i",
        "the",
        "a",
        "an",
        "my",
        "our",
        "your",
        "his",
        "her",
        "their",
        "its",
        "earlier",
        "someone",
        "what",
        "when",
        "where",
        "who",
        "how",
        "why",
        "it",
        "is",
        "this",
        "that",
        "these",
        "those",
        "we",
        "you",
        "he",
        "she",
        "they",
        "and",
        "or",
        "but",
        "on",
        "in",
        "at",
        "to",
        "of",
        "for",
        "yes",
        "no",
        "said",
        "told",
        "remember",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)
UNREACHABLE_NOTE = "I couldn't reach the big model, so here is my own answer. "


class ExpertClient:
    """Streams a chat completion from an OpenAI-compatible server (blocking; run in a thread)."""

    def __init__(self, settings: ExpertSettings) -> None:
        if not settings.url:
            raise ValueError("no expert.url configured")
        parts = urlsplit(settings.url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BrainError(f"expert.url {settings.url!r} is not an http(s) URL")
        self.settings = settings
        self._parts = parts

    def stream_chat(self, messages: Sequence[ChatMessage]) -> Iterator[str]:
        connection = self._connect()
        try:
            connection.request(
                "POST", f"{self._parts.path}/chat/completions", self._body(messages), self._headers()
            )
            response = connection.getresponse()
            if response.status != 200:
                raise BrainError(f"the expert model answered HTTP {response.status}", code="expert")
            for raw in response:
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                if delta := _delta(data):
                    yield delta
        except (OSError, http.client.HTTPException) as err:
            raise BrainError(f"the expert model is unreachable: {err}", code="expert_unreachable") from err
        finally:
            connection.close()

    def _connect(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self._parts.scheme == "https" else http.client.HTTPConnection
        return cls(self._parts.hostname or "", self._parts.port, timeout=self.settings.timeout_s)

    def _body(self, messages: Sequence[ChatMessage]) -> bytes:
        payload = {
            "model": self.settings.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": True,
            "max_tokens": self.settings.max_tokens,
        }
        return json.dumps(payload).encode()

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if key := os.environ.get(self.settings.api_key_env):
            headers["Authorization"] = f"Bearer {key}"
        return headers


def _delta(data: str) -> str:
    try:
        choice: dict[str, Any] = json.loads(data)["choices"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        return ""
    return str((choice.get("delta") or {}).get("content") or "")


def mask_personal(text: str, memories: Sequence[str]) -> str:
    """Replace names and numbers that come from the household's memory with placeholders."""
    secrets = {m.group() for line in memories for m in _NUMBER.finditer(line)}
    secrets |= {
        m.group()
        for line in memories
        for m in _CAPITALISED.finditer(line)
        if m.group().lower() not in _NOT_NAMES
    }
    for secret in sorted(secrets, key=len, reverse=True):
        placeholder = "[number]" if secret[0].isdigit() else "[name]"
        text = re.sub(rf"(?<!\w){re.escape(secret)}(?!\w)", placeholder, text)
    return text


class ExpertRoute:
    """Sends a turn to the expert when asked ("ask the big model …") or, with use: auto, when the
    question looks too hard for the small model; falls back to the local route."""

    name = "expert"
    max_sentences = 4  # a bigger model may say a little more (the spoken-reply filter's cap)

    def __init__(self, client: ExpertClient, settings: ExpertSettings, local: LlmChatRoute) -> None:
        self.client = client
        self.settings = settings
        self.local = local

    def new_conversation(self) -> None:
        """The expert keeps no conversation of its own."""

    def accepts(self, turn: Turn) -> RouteDecision | None:
        if match := _ASKED.match(turn.text):
            return RouteDecision(self.name, "asked for the big model", {"question": match["question"]})
        if self.settings.use == "auto" and (why := too_hard(turn.text)):
            return RouteDecision(
                self.name, f"judged too hard for the small model: {why}", {"question": turn.text}
            )
        return None

    async def reply(self, turn: Turn, decision: RouteDecision) -> AsyncIterator[str]:
        question = decision.details["question"]
        lines = memory_lines(await self.local.recall(question))
        content = with_memories(question, lines)
        if not self.settings.allow_personal:
            content = mask_personal(content, lines)
        messages = [ChatMessage("system", self.local.system_prompt), ChatMessage("user", content)]
        decision.details["sent"] = {
            "url": self.settings.url,
            "model": self.settings.model,
            "content": content,
        }
        produced = False
        try:
            async for delta in iterate_in_thread(lambda: self.client.stream_chat(messages)):
                produced = True
                yield delta
        except BrainError as err:
            if produced:
                raise
            decision.details["fallback"] = f"local model: {err.message}"
            yield UNREACHABLE_NOTE
            async for delta in self.local.reply(Turn(question, source=turn.source), decision):
                yield delta
