"""The fast path of the brain: a Route that answers fixed phrasings without the language model."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime

from homeplm.brain.intents.clock_intents import Clock, DateIntent, TimeIntent
from homeplm.brain.intents.control_intents import RepeatIntent, StopIntent
from homeplm.brain.intents.everyday import EverydayIntents
from homeplm.brain.intents.memory_intents import MemoryCommands, MemoryIntent
from homeplm.brain.intents.normalise import DEFAULT_NAMES, normalise
from homeplm.brain.intents.types import IntentHandler, IntentMatch, IntentReply
from homeplm.brain.router import RouteDecision
from homeplm.core.errors import BrainError
from homeplm.core.stages import Turn

_LOGGER = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.8
# Longer than any command (a fact to remember included): a monologue is for the language model,
# and the cap keeps a match's worst case bounded.
MAX_TEXT_CHARS = 500


@dataclass(frozen=True, slots=True)
class _Registered:
    handler: IntentHandler
    threshold: float


class IntentRoute:
    """Asks its handlers in order; the first match at or above the handler's threshold answers.

    Implements the brain's Route protocol. `accepts` remembers the match for `reply`, so a turn is
    matched once. After a reply, `last_match` and `last_reply` tell the pipeline what happened (an
    empty "stop" reply with data {"action": "stop"} means: stop playback, say nothing).
    """

    name = "intent"

    def __init__(
        self,
        handlers: Iterable[IntentHandler] = (),
        *,
        threshold: float = DEFAULT_THRESHOLD,
        names: Iterable[str] = DEFAULT_NAMES,
    ) -> None:
        self.threshold = threshold
        self.names = tuple(names)
        self._handlers: list[_Registered] = []
        self._pending: tuple[Turn, IntentHandler, IntentMatch] | None = None
        self.last_match: IntentMatch | None = None
        self.last_reply: IntentReply | None = None
        for handler in handlers:
            self.register(handler)

    @property
    def handlers(self) -> list[IntentHandler]:
        return [r.handler for r in self._handlers]

    def register(self, handler: IntentHandler, *, threshold: float | None = None) -> None:
        """Add a handler after those already there (device control, timers…)."""
        self._handlers.append(_Registered(handler, self.threshold if threshold is None else threshold))

    def match(self, text: str, room: str | None = None) -> tuple[IntentHandler, IntentMatch] | None:
        """The first handler's match for `text` that clears its threshold; normalises once. A handler
        with `match_in_room` (device control) also hears the asking room (Turn.room)."""
        if len(text) > MAX_TEXT_CHARS:
            return None
        normalised = normalise(text, self.names)
        for registered in self._handlers:
            in_room = getattr(registered.handler, "match_in_room", None)
            if in_room is not None:
                match = in_room(text, normalised, room)
            else:
                match = registered.handler.match(text, normalised)
            if match is not None and match.score >= registered.threshold:
                return registered.handler, match
        return None

    def accepts(self, turn: Turn) -> RouteDecision | None:
        # Every handler hears that something was said, even when another answers it: a pending
        # "are you sure?" is for the very next utterance only, whoever takes that one.
        for handler in self.handlers:
            if (heard := getattr(handler, "heard", None)) is not None:
                heard()
        found = self.match(turn.text, turn.room)
        if found is None and (rest := after_wake_remnant(turn)) is not None:
            # "Change our abyss, switch on the hall light": the wake word misheard
            found = self.match(rest, turn.room)
        if found is None:
            self._pending = None
            return None
        handler, match = found
        self._pending = (turn, handler, match)
        reason = f"{handler.name} matched {match.matched!r} (score {match.score:.2f})"
        # Slots stay out of the record: they are the household's words (facts, names).
        details = {"handler": handler.name, "matched": match.matched, "score": round(match.score, 3)}
        return RouteDecision(f"intent:{match.intent}", reason, details)

    def new_conversation(self) -> None:
        """Intents keep no conversation."""

    def remember_reply(self, text: str) -> None:
        """Tell "repeat" what the house just said (the pipeline calls this for the LLM's replies too)."""
        for handler in self.handlers:
            if isinstance(handler, RepeatIntent):
                handler.remember(text)

    async def reply(self, turn: Turn, decision: RouteDecision | None = None) -> AsyncIterator[str]:
        """Carries out the match `accepts` made for `turn`; yields the reply once, if there is one."""
        handler, match = self._take_pending(turn)
        try:
            reply = await handler.handle(match, turn)
        except BrainError:
            raise
        except Exception as err:
            raise BrainError(f"the {match.intent} intent failed: {err}") from err
        self.last_match, self.last_reply = match, reply
        _LOGGER.debug("intent %s replied %r", match.intent, reply.text)
        if reply.text:
            if match.intent != "repeat":
                self.remember_reply(reply.text)
            yield reply.text

    def _take_pending(self, turn: Turn) -> tuple[IntentHandler, IntentMatch]:
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] == turn:
            return pending[1], pending[2]
        # reply without accepts (or for another turn): match afresh
        found = self.match(turn.text, turn.room)
        if found is None and (rest := after_wake_remnant(turn)) is not None:
            found = self.match(rest, turn.room)
        if found is None:
            raise BrainError("the intent route was asked to reply to a turn it does not accept")
        return found


# The wake word as a recogniser sometimes hears it ("Change our abyss", "Page Harvest", "A jar of
# this") is left before the first comma or full stop when its fuzzy strip failed: at most this many
# words.
MAX_REMNANT_WORDS = 4
_FIRST_BREAK = re.compile(r"[,.!?]\s")


def after_wake_remnant(turn: Turn) -> str | None:
    """A spoken turn's text after its first comma or full stop, when what comes before is short
    enough to be the misheard wake word; the intents try it when the whole text matched nothing."""
    if turn.source != "voice" or not (found := _FIRST_BREAK.search(turn.text)):
        return None
    head, rest = turn.text[: found.start()], turn.text[found.end() :]
    if len(head.split()) > MAX_REMNANT_WORDS or len(rest.split()) < 2:
        return None
    return rest.strip()


def make_builtin_intents(
    memory: MemoryCommands | None = None,
    clock: Clock = datetime.now,
    names: Iterable[str] = DEFAULT_NAMES,
) -> IntentRoute:
    """The built-in intents: stop, repeat, time, date, everyday facts (sums, conversions, dates,
    spelling), and memory commands when a memory is given."""
    handlers: list[IntentHandler] = [StopIntent(), RepeatIntent(), TimeIntent(clock), DateIntent(clock)]
    handlers.append(EverydayIntents(clock, tuple(names)))
    if memory is not None:
        handlers.append(MemoryIntent(memory, names))
    return IntentRoute(handlers, names=names)
