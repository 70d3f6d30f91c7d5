"""The household's own sentences (settings.mqtt.sentences, e.g. configs/sentences.yaml).

Each rule has `sentences` and one of `publish: {topic, payload, retain}` or `event: name` with
`data: {...}`, and an optional `reply`. A rule matches after normalisation, exactly or with a fuzzy
ratio of at least 0.85. Rules publish only to the topics written in that file.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz

from homeplm.brain.intents.normalise import normalise
from homeplm.brain.intents.types import IntentMatch, IntentReply
from homeplm.config.schema import MqttSettings
from homeplm.core.stages import Turn
from homeplm.mqtt.types import MqttLink

_LOGGER = logging.getLogger(__name__)

FUZZY_RATIO = 0.85
MAX_RULES = 500
_TOPIC = re.compile(r"^[^#+\x00]{1,512}$")


class SentencesError(ValueError):
    """The custom sentences file is malformed (the message names the rule)."""

    pass


@dataclass(frozen=True, slots=True)
class SentenceRule:
    """One custom sentence rule: what may be said, the reply, what to publish, an event."""

    sentences: tuple[str, ...]  # normalised
    reply: str = "Okay."
    topic: str | None = None
    payload: str = ""
    retain: bool = False
    event: str | None = None
    data: dict[str, str] = field(default_factory=dict)


def _rule(index: int, raw: Any) -> SentenceRule:
    where = f"rule {index + 1}"
    if not isinstance(raw, dict) or not isinstance(raw.get("sentences"), list):
        raise SentencesError(f"{where}: needs a list of `sentences`")
    sentences = tuple(s for s in (normalise(str(x)) for x in raw["sentences"]) if s)
    if not sentences:
        raise SentencesError(f"{where}: no sentences")
    reply = str(raw.get("reply", "Okay."))
    if "publish" in raw:
        pub = raw["publish"]
        if (
            not isinstance(pub, dict)
            or not isinstance(pub.get("topic"), str)
            or not _TOPIC.match(pub["topic"])
        ):
            raise SentencesError(f"{where}: `publish` needs a topic without wildcards")
        payload = pub.get("payload", "")
        payload = json.dumps(payload) if isinstance(payload, (dict, list)) else str(payload)
        return SentenceRule(sentences, reply, pub["topic"], payload, bool(pub.get("retain", False)))
    if "event" in raw:
        data = raw.get("data") or {}
        if not isinstance(data, dict):
            raise SentencesError(f"{where}: `data` must be a mapping")
        return SentenceRule(
            sentences, reply, event=str(raw["event"]), data={str(k): str(v) for k, v in data.items()}
        )
    if "reply" in raw:
        return SentenceRule(sentences, reply)
    raise SentencesError(f"{where}: needs `publish`, `event` or `reply`")


def load_sentences(path: str | Path) -> list[SentenceRule]:
    """The rules in a YAML file (a list of rules); SentencesError names the first bad one."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise SentencesError(f"cannot read {path}: {err}") from err
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_RULES:
        raise SentencesError(f"{path}: expected a list of at most {MAX_RULES} rules")
    return [_rule(i, r) for i, r in enumerate(raw)]


class SentenceIntents:
    """The "sentences" intent handler."""

    name = "sentences"

    def __init__(
        self,
        link: MqttLink | None,
        rules: Iterable[SentenceRule],
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.link = link
        self.rules = list(rules)
        self.on_event = on_event  # a rule's event (with its data) goes here: Home Assistant's event entity

    @classmethod
    def from_settings(
        cls,
        link: MqttLink | None,
        settings: MqttSettings,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> SentenceIntents:
        return cls(link, load_sentences(settings.sentences) if settings.sentences else [], on_event)

    def allowed_topics(self) -> frozenset[str]:
        return frozenset(r.topic for r in self.rules if r.topic)

    def match(self, text: str, normalised: str) -> IntentMatch | None:
        best: tuple[float, int, str] | None = None
        for index, rule in enumerate(self.rules):
            for sentence in rule.sentences:
                score = 1.0 if sentence == normalised else fuzz.ratio(sentence, normalised) / 100
                if score >= FUZZY_RATIO and (best is None or score > best[0]):
                    best = (score, index, sentence)
        if best is None:
            return None
        return IntentMatch("sentences.custom", {"rule": str(best[1])}, best[0], best[2])

    async def handle(self, match: IntentMatch, turn: Turn) -> IntentReply:
        rule = self.rules[int(match.slots["rule"])]
        if rule.topic is not None:
            if self.link is None or rule.topic not in self.allowed_topics():
                return IntentReply("I can't reach the house right now.")
            _LOGGER.info("custom sentence publishes on %s", rule.topic)
            self.link.publish(rule.topic, rule.payload, retain=rule.retain)
        data = {"event": rule.event, **rule.data} if rule.event else {}
        if data and self.on_event is not None:
            self.on_event(data)
        return IntentReply(rule.reply, data=data)
