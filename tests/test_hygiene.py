"""What a tiny model says is made fit to be heard: recorded bad habits, and good answers left alone."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator

import pytest

from homeplm.brain.claims import HONEST
from homeplm.brain.hygiene import FALLBACK, SpokenReply
from homeplm.brain.llm_route import LlmChatRoute, build_system_prompt
from homeplm.brain.router import RouteDecision, Router
from homeplm.config.schema import AssistantSettings, LlmSettings
from homeplm.core.stages import Turn
from tests.fakes import FakeChat

PROMPT = build_system_prompt(AssistantSettings())  # "You are Jarvis, the voice assistant of the family. …"
FRANCE = "What is the capital of France?"


def speak(
    text: str, question: str = FRANCE, deltas: list[str] | None = None, **kw: int
) -> tuple[str, SpokenReply]:
    spoken = SpokenReply(question, [PROMPT], **kw)
    out = [said for delta in (deltas or [text]) for said in spoken.push(delta)]
    out += spoken.flush()
    return "".join(out).strip(), spoken


def random_deltas(text: str, seed: int) -> list[str]:
    rng, deltas, i = random.Random(seed), [], 0
    while i < len(text):
        step = rng.randint(1, 7)
        deltas.append(text[i : i + step])
        i += step
    return deltas


# (question, what the model said, what is spoken, a kind that was caught)
BAD = [
    # The system prompt read back, as the household heard it.
    (FRANCE, PROMPT, FALLBACK, "prompt_readback"),
    (
        FRANCE,
        "You're Jarvis, the voice assistant of the family. You run privately in their home. "
        "The capital of France is Paris.",
        "The capital of France is Paris.",
        "prompt_readback",
    ),
    (
        FRANCE,
        "I am Jarvis, the voice assistant of the family. Paris is the capital of France.",
        "Paris is the capital of France.",
        "prompt_readback",
    ),
    (
        "How far is the moon?",
        "Answer in one or two short, friendly sentences. The moon is about 384,000 kilometres away.",
        "The moon is about 384,000 kilometres away.",
        "prompt_readback",
    ),
    (
        FRANCE,
        "Do not use lists, markdown or emoji. Paris is the capital of France.",
        "Paris is the capital of France.",
        "prompt_readback",
    ),
    (
        "What's the weather like?",
        "I run privately in your home, so I can't check the weather online.",
        "I can't check the weather online.",
        "prompt_readback",
    ),
    (
        FRANCE,
        "Sure! I will answer in one or two short sentences that sound natural. "
        "Paris is the capital of France.",
        "Sure! Paris is the capital of France.",
        "prompt_readback",
    ),
    # The memory header and the prompt's scaffolding.
    (
        "What is the garage code?",
        "What you know about this household:\n- Anna said: the garage code is 4711\n\n"
        "Question: What is the garage code?\nThe garage code is 4711.",
        "The garage code is 4711.",
        "scaffolding",
    ),
    (
        "What does Anna like?",
        "What you know about this household: Anna likes green tea.",
        "Anna likes green tea.",
        "scaffolding",
    ),
    (FRANCE, "Question: What is the capital of France? Answer: Paris.", "Paris.", "scaffolding"),
    (
        FRANCE,
        "Earlier someone asked “what is the capital of France” and was told “Paris”. It is still Paris.",
        "It is still Paris.",
        "scaffolding",
    ),
    (FRANCE, "Assistant: The capital of France is Paris.", "The capital of France is Paris.", "scaffolding"),
    (
        FRANCE,
        "The capital of France is Paris.\nUser: What about Germany?\nAssistant: Berlin.",
        "The capital of France is Paris.",
        "scaffolding",
    ),
    (
        FRANCE,
        "The capital of France is Paris.<|im_end|>\n<|im_start|>user\nAnd Spain?",
        "The capital of France is Paris.",
        "scaffolding",
    ),
    (
        FRANCE,
        "Paris is the capital of France.<end_of_turn>\n<start_of_turn>user\nThanks!",
        "Paris is the capital of France.",
        "scaffolding",
    ),
    (
        FRANCE,
        "Paris is the capital of France.\n### Instruction:\nWhat is the capital of Spain?",
        "Paris is the capital of France.",
        "scaffolding",
    ),
    # "As an AI…"
    (
        FRANCE,
        "As an AI language model, I don't have personal opinions, but Paris is a lovely city.",
        "Paris is a lovely city.",
        "ai_disclaimer",
    ),
    (
        FRANCE,
        "As an AI, I cannot feel emotions. The capital of France is Paris.",
        "The capital of France is Paris.",
        "ai_disclaimer",
    ),
    (
        "Is it raining?",
        "I'm just an AI, so I can't see the weather outside.",
        "I can't see the weather outside.",
        "ai_disclaimer",
    ),
    (
        "How are you?",
        "As an AI language model I don't have feelings, but thank you for asking! I'm doing fine.",
        "Thank you for asking! I'm doing fine.",
        "ai_disclaimer",
    ),
    (
        "What's your favourite colour?",
        "I do not have personal preferences. Many people like blue.",
        "Many people like blue.",
        "ai_disclaimer",
    ),
    (
        "What should we cook tonight?",
        "As an AI language model, I don't have personal opinions. However, here are some popular dishes:\n"
        "- Pizza\n- Pasta\n- Sushi\n\nI hope this helps! 😊",
        "Here are some popular dishes: Pizza, Pasta, and Sushi.",
        "ai_disclaimer",
    ),
    # Condolences to a plain question.
    (
        FRANCE,
        "I'm sorry for your loss. The capital of France is Paris.",
        "The capital of France is Paris.",
        "condolence",
    ),
    (
        "What's the temperature outside?",
        "I'm so sorry to hear that. It is 20 degrees outside.",
        "It is 20 degrees outside.",
        "condolence",
    ),
    (
        "Is it cold outside?",
        "I'm sorry to hear that, it is 20 degrees outside.",
        "It is 20 degrees outside.",
        "condolence",
    ),
    (
        FRANCE,
        "My deepest condolences. Paris is the capital of France.",
        "Paris is the capital of France.",
        "condolence",
    ),
    # Chatbot filler.
    (
        FRANCE,
        "Paris is the capital of France. I hope this helps!",
        "Paris is the capital of France.",
        "filler",
    ),
    (
        FRANCE,
        "Feel free to ask me anything! The capital of France is Paris.",
        "The capital of France is Paris.",
        "filler",
    ),
    (
        FRANCE,
        "The capital of France is Paris. Is there anything else I can help you with?",
        "The capital of France is Paris.",
        "filler",
    ),
    (
        FRANCE,
        "Paris. Let me know if you have any other questions, and I'll be happy to help.",
        "Paris.",
        "filler",
    ),
    # Markdown, lists, emoji, links.
    (
        "Name some fruits",
        "Here are some fruits:\n- Apples\n- Bananas\n- Oranges",
        "Here are some fruits: Apples, Bananas, and Oranges.",
        "list",
    ),
    (
        "How do I bake a cake?",
        "1. Preheat the oven to 180 degrees.\n2. Mix the flour and sugar.\n3. Bake for 30 minutes.",
        "Preheat the oven to 180 degrees. Mix the flour and sugar.",
        "list",
    ),
    ("What do we need?", "* Milk\n* Eggs", "Milk and Eggs.", "list"),
    (FRANCE, "**Paris** is the capital of France! 🇫🇷😊", "Paris is the capital of France!", "emoji"),
    (FRANCE, "**Paris** is the *capital* of France.", "Paris is the capital of France.", "markup"),
    (
        FRANCE,
        "## Capital of France\n\nThe capital of France is **Paris**. Read more at https://en.wikipedia.org/wiki/Paris.",
        "The capital of France is Paris.",
        "url",
    ),
    (
        "What should we see in Paris?",
        "See [the Louvre](https://www.louvre.fr) when you visit Paris.",
        "See the Louvre when you visit Paris.",
        "markup",
    ),
    (
        "How do I list files?",
        "`ls` lists the files in a folder.",
        "ls lists the files in a folder.",
        "markup",
    ),
    ("When is Paris nice?", "Paris is lovely 😍 in spring 🌸.", "Paris is lovely in spring.", "emoji"),
    (FRANCE, "Paris is the capital of France :)", "Paris is the capital of France", "emoji"),
    (
        "How do I say hello in Python?",
        "Like this.\n```python\nprint('hello')\n```",
        "Like this.",
        "markup",
    ),
    ("Thanks!", "👍😊", FALLBACK, "emoji"),
    # Rambling: two sentences are said.
    (
        FRANCE,
        "The capital of France is Paris. It is known for the Eiffel Tower. It has many museums. "
        "The food is great. Many tourists visit every year.",
        "The capital of France is Paris. It is known for the Eiffel Tower.",
        "cut_sentences",
    ),
    # A claim and a habit in one reply.
    ("Turn on the kitchen light", "Sure, I've turned on the kitchen light! 💡", f"Sure, {HONEST}", "emoji"),
]

GOOD = [
    (FRANCE, "The capital of France is Paris."),
    ("Will it rain?", "I think it will rain tomorrow, so take an umbrella."),
    ("How far is the bakery?", "I'm not sure, but I think it's about 3.5 kilometres away."),
    ("When does the doctor open?", "Dr. Smith's office opens at 9 a.m. on Mondays. Call ahead to be sure."),
    ("How do I clean the pan?", "Use a mild soap, e.g. dish soap, and warm water."),
    ("Who lives next door?", "Mr. and Mrs. Smith live at 12 Main St. in town. They are very nice."),
    ("Turn on the TV", "I can't turn on devices, but you can use the switch by the door."),
    ("What's the weather?", "Yes! It's 25°C and sunny today."),
    ("What is nine times seven?", "Nine times seven is sixty-three."),
    ("Who are you?", "I'm Jarvis, the voice assistant of the family. I run privately in your home."),
    ("What's the capital of Peru?", "I'm sorry, I don't know that."),
    ("My grandmother died last night.", "I'm sorry for your loss. I'm here if you want to talk."),
    ("How many eggs for a cake?", "One or two eggs are enough for a small cake."),
    ("How many people live in Paris?", "About 2,100,000 people live in Paris, and it keeps growing."),
    ("What film is set in Paris?", 'The film "Amélie" is set in Paris.'),
    ("Thanks", "You are welcome!"),
    ("Is it safe?", "Do not use water on a grease fire."),
    ("What's the time in Tokyo?", "It's 3:45 in the afternoon in Tokyo."),
    ("Where is my phone?", "I don't know where your phone is. Try calling it."),
]


@pytest.mark.parametrize(("question", "said", "spoken", "kind"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_habits_are_not_spoken(question: str, said: str, spoken: str, kind: str) -> None:
    text, reply = speak(said, question)
    assert text == spoken
    assert reply.caught[kind] >= 1


@pytest.mark.parametrize(("question", "said"), GOOD)
def test_good_answers_pass_unchanged(question: str, said: str) -> None:
    text, reply = speak(said, question)
    assert text == said
    assert not reply.caught and reply.claims_caught == 0


@pytest.mark.parametrize(("question", "said"), [(q, s) for q, s, *_ in BAD] + GOOD)
def test_small_random_deltas_give_the_same_result(question: str, said: str) -> None:
    whole, reply = speak(said, question)
    for seed in range(8):
        streamed, again = speak(said, question, random_deltas(said, seed))
        assert streamed == whole, seed
        assert again.caught == reply.caught and again.claims_caught == reply.claims_caught


def test_the_first_clause_is_given_out_before_the_sentence_ends() -> None:
    spoken = SpokenReply(FRANCE, [PROMPT])
    assert spoken.push("The capital of France is Paris, a city") == ["The capital of France is Paris, "]
    assert spoken.push(" on the Seine, famous for") == ["a city on the Seine, "]


def test_a_possible_readback_is_held_until_its_sentence_ends() -> None:
    spoken = SpokenReply(FRANCE, [PROMPT])
    assert spoken.push("You're Jarvis, the voice assistant of the family, ") == []
    assert spoken.push("and Paris is the capital. ") == []
    assert spoken.push("It is big.") == []
    assert spoken.flush() == ["It is big."]


def test_at_most_max_sentences_are_said_and_the_rest_is_counted() -> None:
    ramble = "One is here. Two is here. Three is here. Four is here. Five is here."
    text, reply = speak(ramble, "count", max_sentences=1)
    assert text == "One is here." and reply.caught["cut_sentences"] == 4 and reply.done
    text, reply = speak(ramble, "count", max_sentences=3)
    assert text == "One is here. Two is here. Three is here." and reply.caught["cut_sentences"] == 2


def test_a_line_break_after_a_colon_is_no_sentence_end_however_it_streams() -> None:
    said = "First one here. Here are fruits: \n- Apples\n- Pears\n\nThird one here."
    expected = "First one here. Here are fruits: Apples and Pears."
    assert speak(said)[0] == expected
    assert (
        speak(said, deltas=["First one here. Here are fruits: ", "\n- Apples\n- Pears\n\nThird one here."])[0]
        == expected
    )


def test_without_a_prompt_only_the_other_habits_are_caught() -> None:
    spoken = SpokenReply("Who are you?")
    out = spoken.push("You are Jarvis, the voice assistant of the family. 😊") + spoken.flush()
    assert "".join(out).strip() == "You are Jarvis, the voice assistant of the family."


def test_a_silent_model_stays_silent() -> None:
    for said in ("", "   ", "\n\n"):
        text, reply = speak(said)
        assert text == "" and not reply.caught


class Once:
    """A route that answers with fixed deltas."""

    def __init__(self, name: str, deltas: list[str], max_sentences: int | None = None) -> None:
        self.name, self.deltas = name, deltas
        if max_sentences is not None:
            self.max_sentences = max_sentences

    def accepts(self, turn: Turn) -> RouteDecision:
        return RouteDecision(self.name, "test")

    def new_conversation(self) -> None:
        return None

    async def reply(self, turn: Turn, decision: RouteDecision) -> AsyncIterator[str]:
        for delta in self.deltas:
            yield delta


async def test_the_router_counts_what_hygiene_caught(caplog: pytest.LogCaptureFixture) -> None:
    chat = FakeChat(
        "As an AI language model, I don't have personal opinions. **Paris** is lovely 😊. "
        "It is big. It is old. It is pretty."
    )
    router = Router([LlmChatRoute(chat, LlmSettings(), AssistantSettings())])
    turn = Turn("what do you think of Paris")
    with caplog.at_level(logging.INFO, logger="homeplm.brain.router"):
        reply = "".join([d async for d in router.reply(turn)])
    assert reply.strip() == "Paris is lovely. It is big."
    assert router.last_reply == "Paris is lovely. It is big."
    assert turn.record["details"]["hygiene"] == {
        "ai_disclaimer": 1,
        "markup": 1,
        "emoji": 1,
        "cut_sentences": 2,
    }
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert info == ["reply hygiene: ai_disclaimer=1, cut_sentences=2, emoji=1, markup=1"]
    assert "Paris" not in info[0]


async def test_the_router_reads_the_prompt_back_from_its_routes() -> None:
    local = LlmChatRoute(
        FakeChat(PROMPT + " Paris is the capital of France."), LlmSettings(), AssistantSettings()
    )
    router = Router([local])
    turn = Turn(FRANCE)
    assert "".join([d async for d in router.reply(turn)]).strip() == "Paris is the capital of France."
    assert turn.record["details"]["hygiene"] == {"prompt_readback": 4}
    # The conversation keeps what was spoken: a read-back prompt must not prime the next answer.
    assert list(local._history) == [(FRANCE, "Paris is the capital of France.")]


async def test_the_router_sentence_limit_and_a_routes_own() -> None:
    ramble = ["One is here. ", "Two is here. ", "Three is here."]
    router = Router([Once("llm", ramble)], max_sentences=1)
    assert "".join([d async for d in router.reply(Turn("count"))]).strip() == "One is here."
    router = Router([Once("expert", ramble, max_sentences=3)], max_sentences=1)
    assert (
        "".join([d async for d in router.reply(Turn("count"))]).strip()
        == "One is here. Two is here. Three is here."
    )


async def test_intents_are_not_filtered() -> None:
    router = Router([Once("intent:time", ["**It's** 7:45 PM. ", "Two. ", "Three."])])
    turn = Turn("what time is it")
    assert "".join([d async for d in router.reply(turn)]) == "**It's** 7:45 PM. Two. Three."
    assert "hygiene" not in turn.record["details"]


def test_the_sentence_limit_is_a_setting() -> None:
    assert AssistantSettings().max_sentences == 2
