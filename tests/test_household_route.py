"""Questions about the household: told facts said back exactly, or an honest "I don't know" (issue 12).

Real sentence embeddings (the shipped MiniLM) over an in-memory store: the thresholds are the
product's, measured on the embeddings the product uses.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from homeplm.backends.minilm import MiniLmEmbedder
from homeplm.brain.household import DONT_KNOW, HouseholdRoute, household_question
from homeplm.brain.router import RouteDecision, Router
from homeplm.config.schema import MemorySettings
from homeplm.core.stages import Turn
from homeplm.memory.fake import InMemoryStore
from homeplm.memory.service import HouseholdMemory

HOUSEHOLD = [
    "When is grandma's birthday?", "what's the wifi password?", "where's the spare key?",
    "who's our plumber?", "what day do the bins go out?", "Is Lily allergic to anything?",
    "How old is Tom?", "what's Ella's teacher called?", "do we have any plans this weekend?",
    "where did I park the car?", "what's the garage door code?", "what's my husband's favourite food?",
    "What did I say about the plumber?", "what's the PIN for the alarm?", "what's our address?",
    "when did we last service the boiler?", "what time is Ella's piano lesson?",
    "what's the name of our cat?", "when is Tom's football practice?", "Does Max like carrots?",
    "are we going to the beach on Sunday?",
    "where are my keys?", "What's my name?", "when is my mum's birthday?", "what's our dentist called?",
    "what's the dog's vet called?", "when's the kids' school concert?", "what's the gate code?",
    "What is our dog called?", "which day does the recycling go out?", "what's our postcode?",
    "when is my dentist appointment?", "What's my sister's phone number?", "where did we put the passports?",
    "what's the wi-fi password for guests?", "how old is Sam?",
    "when is our anniversary?", "what is grandma allergic to?", "What did we decide about the holiday?",
    "what's the babysitter's number?", "When's the next parents' evening?", "Where's the parcel?",
    "How tall is Lily?", "Where does Mark work?",
    "What does Lily want for Christmas?", "What's the dog called?", "Where's the stopcock?",
    "Who's picking the kids up from school today?", "What time is the dentist?",
]  # fmt: skip
NOT_HOUSEHOLD = [
    "What is the capital of France?", "how do I boil an egg?", "who wrote Romeo and Juliet?",
    "How old is the Eiffel Tower?", "can my dog eat chocolate?", "what's the weather like?",
    "how many legs does a spider have?", "what time is it", "Who is Einstein?", "what's 15 percent of 80",
    "how do you say thank you in Spanish?", "Where is Paris?", "When is Christmas?",
    "Who painted the Mona Lisa?", "what is the boiling point of water",
    "What is Einstein's theory of relativity?",
    "turn on the kitchen light", "tell me a joke", "how should I store basil?", "why is the sky blue?",
    "Tell me about my day", "what should I cook tonight?", "what can we do on a rainy day?",
    "play some music", "set a timer for ten minutes", "How far is the moon?",
    "what's the longest river in the world?", "Who was the first man on the moon?",
    "is it going to rain?", "explain photosynthesis", "What's the biggest planet in our solar system?",
    "What temperature should my fridge be?", "Who is Mark Twain?", "How tall is Everest?",
    "When did Henry VIII die?", "Where does Mark Rutte work?",
]  # fmt: skip
FACTS = [
    ("Anna", "my sister's birthday is on May 3"),
    ("Ben", "the wifi password is tulip42"),
    ("Anna", "our dog is called Biscuit"),
    ("Ben", "the recycling goes out on Tuesday"),
    ("Anna", "grandma is allergic to peanuts"),
    ("Ben", "the spare key is under the blue flower pot"),
    ("Anna", "the plumber is called Marco and his number is 0 7 7 0 0 9 0 0 1 2 3"),
    ("Ben", "the gate code is 4 4 1 9"),
]
TOLD = [  # (asker, question, the exact reply)
    ("Anna", "When is my sister's birthday?", "You told me: my sister's birthday is on May 3."),
    ("Anna", "What's the wifi password?", "Ben told me: the wifi password is tulip42."),
    ("Ben", "What is our dog called?", "Anna told me: our dog is called Biscuit."),
    ("Anna", "Which day does the recycling go out?", "Ben told me: the recycling goes out on Tuesday."),
    ("Ben", "What is grandma allergic to?", "Anna told me: grandma is allergic to peanuts."),
    ("Anna", "Where's the spare key?", "Ben told me: the spare key is under the blue flower pot."),
    ("Ben", "what's the plumber's number?",
     "Anna told me: the plumber is called Marco and his number is 0 7 7 0 0 9 0 0 1 2 3."),
    ("Anna", "what's the gate code?", "Ben told me: the gate code is 4 4 1 9."),
]  # fmt: skip
UNTOLD = [  # with the facts above in memory, none of them answers these
    "When is grandma's birthday?", "what's our address?",
    "How old is Tom?", "what's Ella's teacher called?", "do we have any plans this weekend?",
    "where did I park the car?", "what's the name of our cat?", "when is Tom's football practice?",
    "what's our dentist called?", "when did we last service the boiler?",
    "what's the PIN for the alarm?",
]  # fmt: skip


@pytest.fixture(scope="module")
def embedder() -> MiniLmEmbedder:
    return MiniLmEmbedder()


def _memory(embedder: MiniLmEmbedder, facts: list[tuple[str, str]]) -> HouseholdMemory:
    memory = HouseholdMemory(InMemoryStore(embedder), MemorySettings())
    for speaker, fact in facts:
        memory.remember_fact(fact, speaker=speaker)
    return memory


async def _ask(route: HouseholdRoute, question: str, speaker: str | None = None) -> str:
    turn = Turn(question, speaker=speaker)
    decision = route.accepts(turn)
    assert decision is not None, f"not taken as a household question: {question!r}"
    return "".join([part async for part in route.reply(turn, decision)])


@pytest.mark.parametrize("text", HOUSEHOLD)
def test_household_questions_are_recognised(text: str) -> None:
    assert household_question(text), text


@pytest.mark.parametrize("text", NOT_HOUSEHOLD)
def test_other_questions_go_on(text: str) -> None:
    assert household_question(text) is None, text


def test_an_empty_memory_invents_nothing(embedder: MiniLmEmbedder) -> None:
    route = HouseholdRoute(_memory(embedder, []))
    replies = [asyncio.run(_ask(route, q)) for q in HOUSEHOLD]
    assert replies == [DONT_KNOW] * len(HOUSEHOLD)


def test_told_facts_are_said_back_exactly(embedder: MiniLmEmbedder) -> None:
    route = HouseholdRoute(_memory(embedder, FACTS))
    assert [asyncio.run(_ask(route, q, asker)) for asker, q, _ in TOLD] == [reply for *_, reply in TOLD]


@pytest.mark.parametrize("question", UNTOLD)
def test_a_question_no_fact_answers_gets_dont_know(embedder: MiniLmEmbedder, question: str) -> None:
    route = HouseholdRoute(_memory(embedder, FACTS))
    assert asyncio.run(_ask(route, question)) == DONT_KNOW


def test_a_related_fact_is_quoted_not_stretched(embedder: MiniLmEmbedder) -> None:
    route = HouseholdRoute(_memory(embedder, FACTS))
    reply = asyncio.run(_ask(route, "where are my keys?", "Anna"))
    assert reply == "Ben told me: the spare key is under the blue flower pot."


def test_a_fact_about_someone_else_or_something_else_is_not_an_answer(embedder: MiniLmEmbedder) -> None:
    route = HouseholdRoute(_memory(embedder, [*FACTS, ("Ben", "Tom's football practice is on Tuesdays")]))
    assert asyncio.run(_ask(route, "How old is Tom?")) == DONT_KNOW
    assert asyncio.run(_ask(route, "when is grandma's birthday?")) == DONT_KNOW
    assert (
        asyncio.run(_ask(route, "when is Tom's practice?"))
        == "Ben told me: Tom's football practice is on Tuesdays."
    )


def test_a_told_fact_is_said_as_told_not_filtered_as_a_claim(embedder: MiniLmEmbedder) -> None:
    router = Router(
        [HouseholdRoute(_memory(embedder, [("Ben", "the boiler is running on the night tariff")]))]
    )

    async def ask(text: str) -> str:
        return "".join([part async for part in router.reply(Turn(text))])

    assert (
        asyncio.run(ask("when is the boiler running?"))
        == "Ben told me: the boiler is running on the night tariff."
    )


def test_after_forget_the_thing_is_not_known(embedder: MiniLmEmbedder) -> None:
    memory = _memory(embedder, FACTS)
    route = HouseholdRoute(memory)
    assert "4 4 1 9" in asyncio.run(_ask(route, "what's the gate code?"))
    assert memory.forget_about("the gate code")
    assert asyncio.run(_ask(route, "what's the gate code?")) == DONT_KNOW


class _NoModel:
    name = "llm"

    def accepts(self, turn: Turn) -> RouteDecision:
        return RouteDecision("llm", "anything")

    def new_conversation(self) -> None:
        pass

    async def reply(self, turn: Turn, decision: RouteDecision) -> AsyncIterator[str]:
        raise AssertionError(f"a household question reached the language model: {turn.text}")
        yield ""


def test_household_questions_never_reach_the_model(embedder: MiniLmEmbedder) -> None:
    router = Router([HouseholdRoute(_memory(embedder, [])), _NoModel()])

    async def ask(text: str) -> str:
        return "".join([part async for part in router.reply(Turn(text))])

    assert asyncio.run(ask("when is grandma's birthday?")) == DONT_KNOW
    assert router.last_decision is not None and router.last_decision.route == "household"
    assert router.last_decision.details["answered_from"] == "nothing told"
