"""Never a false "done": a model's sentence that claims an action nobody carried out is replaced."""

from __future__ import annotations

import pytest

from homeplm.brain.claims import HONEST, claims_action
from homeplm.brain.hygiene import SpokenReply
from homeplm.brain.router import Router
from homeplm.core.stages import Turn
from tests.fakes import FakeChat

CLAIMS = [
    "Sure, the dishwasher is running now.",
    "I've turned on the kitchen light.",
    "The back door is unlocked.",
    "Done!",
    "I have unlocked the door for you.",
    "The lights are now off.",
    "The washing machine has been started.",
    "I'll switch it on.",
    "Okay, I turned the heating up.",
    "I’m opening the garage door.",
]
PLAIN = [
    "I can't turn on devices.",
    "Paris is the capital of France.",
    "A light year is the distance light travels in a year.",
    "I'm sorry, I don't know that.",
    "Turn it on with the switch by the door.",
    "Locking your door at night is a good idea.",
    "Nine times seven is sixty-three.",
]


@pytest.mark.parametrize("sentence", CLAIMS)
def test_action_claims_are_caught(sentence: str) -> None:
    assert claims_action(sentence)


@pytest.mark.parametrize("sentence", PLAIN)
def test_plain_answers_pass(sentence: str) -> None:
    assert not claims_action(sentence)


def test_the_filter_keeps_order_and_spacing_across_deltas() -> None:
    claims = SpokenReply()
    out = [
        t
        for d in ("Sure", ", the dish", "washer is running now. It will", " take an hour.")
        for t in claims.push(d)
    ]
    out += claims.flush()
    assert "".join(out) == f"Sure, {HONEST} It will take an hour."
    assert claims.claims_caught == 1


async def test_the_router_filters_the_models_words_and_records_it() -> None:
    from homeplm.brain.llm_route import LlmChatRoute
    from homeplm.config.schema import AssistantSettings, LlmSettings

    chat = FakeChat("Okay, the dishwasher is running now.")
    router = Router([LlmChatRoute(chat, LlmSettings(), AssistantSettings())])
    turn = Turn("start the dishwasher")
    reply = "".join([d async for d in router.reply(turn)])
    assert reply.strip() == f"Okay, {HONEST}"
    assert turn.record["details"]["claims_caught"] == 1
