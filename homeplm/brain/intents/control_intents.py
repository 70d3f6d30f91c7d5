"""Conversation control: stop talking, say that again."""

from __future__ import annotations

from homeplm.brain.intents.phrases import PhraseSet
from homeplm.brain.intents.types import IntentMatch, IntentReply
from homeplm.core.stages import Turn

STOP_PHRASES = PhraseSet.of(
    [
        "stop", "stop it", "stop that", "stop talking", "cancel", "cancel that", "never mind",
        "nevermind", "forget it", "forget about it", "forget that", "be quiet", "quiet", "shut up",
        "that's enough", "enough", "silence", "hush", "shush", "that will do", "that's all",
        "do not bother", "leave it",
    ],
    # "stop the music" stops; "stop the timer" must not (the timer handler will want it).
    extras={"it", "that", "now", "talking", "please", "already", "all", "right", "there", "thanks", "you"}
    | {"the", "music", "playing", "speaking", "reading", "no", "oh", "anyway", "then"},
)  # fmt: skip

REPEAT_PHRASES = PhraseSet.of(
    [
        "repeat", "repeat that", "repeat it", "say that again", "say it again", "say again",
        "what did you say", "what did you just say", "what was that", "come again", "pardon",
        "pardon me", "sorry what", "what", "huh", "i didn't hear that", "i didn't catch that",
        "i didn't hear you", "i missed that", "one more time", "say that one more time",
        "repeat the last thing", "repeat your answer", "what was your answer",
    ],
    extras={"that", "it", "again", "please", "sorry", "oh", "once", "more"},
)  # fmt: skip

NOTHING_SAID = "I haven't said anything yet."


class StopIntent:
    """ "stop", "never mind"… → an empty reply: the pipeline stops playback and says nothing."""

    name = "stop"

    def match(self, text: str, normalised: str) -> IntentMatch | None:
        hit = STOP_PHRASES.match(normalised)
        return IntentMatch("stop", score=hit.score, matched=hit.phrase) if hit else None

    async def handle(self, match: IntentMatch, turn: Turn) -> IntentReply:
        return IntentReply("", cacheable=True, data={"action": "stop"})


class RepeatIntent:
    """ "say that again" → the last reply; `remember` is called with every reply the house speaks."""

    name = "repeat"

    def __init__(self) -> None:
        self.last_reply: str | None = None

    def remember(self, reply_text: str) -> None:
        if reply_text := reply_text.strip():
            self.last_reply = reply_text

    def match(self, text: str, normalised: str) -> IntentMatch | None:
        hit = REPEAT_PHRASES.match(normalised)
        return IntentMatch("repeat", score=hit.score, matched=hit.phrase) if hit else None

    async def handle(self, match: IntentMatch, turn: Turn) -> IntentReply:
        if self.last_reply is None:
            return IntentReply(NOTHING_SAID, cacheable=True, data={"action": "repeat"})
        return IntentReply(self.last_reply, data={"action": "repeat"})
