"""Only the code that publishes may say that something was done.

A language model asked "start the dishwasher" (when no intent matched) happily answers "Sure, the
dishwasher is running now" — nothing was published. The Router's spoken-reply filter
(hygiene.SpokenReply) checks its replies clause by clause with `claims_action`: a clause that claims
a device action or a changed state is replaced by an honest line, and the count goes into the turn's
route record.
"""

from __future__ import annotations

import re

HONEST = "I can't control that from here, so I haven't changed anything."
_ACT = (
    r"turn(?:ed|ing)?|switch(?:ed|ing)?|start(?:ed|ing)?|stopp(?:ed|ing)|stop|unlock(?:ed|ing)?|"
    r"lock(?:ed|ing)?|open(?:ed|ing)?|clos(?:ed|ing)|close|set(?:ting)?|dimm(?:ed|ing)|dim|"
    r"activat(?:ed|ing)|activate|disarm(?:ed|ing)?|arm(?:ed|ing)?|adjust(?:ed|ing)?|rais(?:ed|ing)|raise|"
    r"lower(?:ed|ing)?|brighten(?:ed|ing)?|shut(?:ting)?|put(?:ting)?|"
    # "I run privately in your home" says where the assistant runs, not that it ran something.
    r"run(?:ning)?(?!\s+(?:privately|locally|offline|entirely|only|on\b|in\b|inside\b))"
)
_STATES = r"on|off|open|opened|closed|locked|unlocked|running|armed|disarmed|started|stopped|dimmed"
_CLAIMS = re.compile(
    r"\b(?:i|i've|i'll|i'm|we've)\s+(?:have\s+|will\s+|am\s+|now\s+|just\s+|already\s+|gone ahead and\s+)*"
    rf"(?:{_ACT})\b"
    rf"|\b(?:is|are|was|were)\s+(?:now|already)\s+(?:being\s+)?(?:{_STATES}|turned|switched|set)\b"
    rf"|\b(?:has|have)\s+(?:now\s+)?been\s+(?:{_ACT}|{_STATES})\b"
    r"|\b(?:is|are)\s+(?:running|unlocked|switched on|switched off|turned on|turned off)\b"
    r"|^(?:done|all done|okay,? done|there you go)\b",
    re.IGNORECASE,
)


def claims_action(sentence: str) -> bool:
    """Whether `sentence` says a device was acted on or is now in a new state."""
    return _CLAIMS.search(sentence.strip().replace("’", "'")) is not None
