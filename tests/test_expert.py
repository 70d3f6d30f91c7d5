"""The expert route against a real OpenAI-compatible server (llama-cpp-python's) on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from homeplm.brain.expert import UNREACHABLE_NOTE, ExpertClient, ExpertRoute, mask_personal
from homeplm.brain.llm_route import LlmChatRoute
from homeplm.brain.router import Router
from homeplm.config.schema import AssistantSettings, ExpertSettings, LlmSettings
from homeplm.core.models import shipped_llm_path
from homeplm.core.stages import Turn
from tests.fakes import FactsMemory, FakeChat


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def expert_url() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(shipped_llm_path()),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "1024",
            "--verbose",
            "False",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/models", timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"the llama.cpp server did not start: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.3)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def make_router(url: str, memory=None, **expert) -> tuple[Router, FakeChat]:
    settings = ExpertSettings(url=url, timeout_s=20, max_tokens=32, **expert)
    chat = FakeChat("I think it is Paris.")
    local = LlmChatRoute(chat, LlmSettings(), AssistantSettings(), memory=memory)
    return Router([ExpertRoute(ExpertClient(settings), settings, local), local], memory=memory), chat


async def answer(router: Router, text: str) -> str:
    return "".join([d async for d in router.reply(Turn(text))])


@pytest.mark.real
async def test_asked_for_the_big_model_streams_from_the_server(expert_url: str) -> None:
    router, chat = make_router(expert_url)
    reply = await answer(router, "Ask the big model what is the capital of France?")
    assert reply.strip() and chat.calls == []  # the local model was not used
    decision = router.last_decision
    assert decision is not None and decision.route == "expert"
    assert decision.details["sent"]["content"] == "what is the capital of France?"
    assert decision.details["sent"]["url"] == expert_url


@pytest.mark.real
async def test_personal_facts_are_masked_unless_allowed(expert_url: str) -> None:
    memory = FactsMemory(["Anna said: the garage code is 4711", "my sister Maria lives in Lyon"])
    router, _ = make_router(expert_url, memory=memory)
    await answer(router, "ask the big model what Maria and Anna need for the garage code 4711")
    sent = router.last_decision.details["sent"]["content"]  # type: ignore[union-attr]
    assert "4711" not in sent and "Maria" not in sent and "Anna" not in sent
    assert "[number]" in sent and "[name]" in sent
    allowed, _ = make_router(expert_url, memory=memory, allow_personal=True)
    await answer(allowed, "ask the big model about the garage code")
    assert "4711" in allowed.last_decision.details["sent"]["content"]  # type: ignore[union-attr]


async def test_unreachable_expert_falls_back_to_the_local_model() -> None:
    router, chat = make_router(f"http://127.0.0.1:{free_port()}/v1")
    reply = await answer(router, "ask the big model what is the capital of France")
    assert reply.startswith(UNREACHABLE_NOTE) and "Paris" in reply
    assert chat.calls and router.last_decision.details["fallback"].startswith("local model")  # type: ignore[union-attr]


async def test_expert_is_not_used_unless_asked_or_auto() -> None:
    router, chat = make_router(f"http://127.0.0.1:{free_port()}/v1")
    await answer(router, "what is the capital of France")
    assert router.last_decision.route == "llm"  # type: ignore[union-attr]
    auto, _ = make_router(f"http://127.0.0.1:{free_port()}/v1", use="auto")
    assert auto.decide(Turn("explain how a heat pump works"))[1].route == "expert"
    assert auto.decide(Turn("what time is it"))[1].route == "expert"  # no intents in this router
    for small_talk in ("how are you?", "good morning", "tell me a joke", "what's your name?", "thank you"):
        assert auto.decide(Turn(small_talk))[1].route == "llm", small_talk
    for knowledge in (
        "What is the capital of Australia?",
        "how do you say thank you in Spanish",
        "How many legs does a spider have?",
        "who wrote Romeo and Juliet",
        "is a tomato a fruit?",
    ):
        assert auto.decide(Turn(knowledge))[1].route == "expert", knowledge


def test_mask_personal_only_masks_what_memory_holds() -> None:
    memories = ["Anna said: the garage code is 4711"]
    assert mask_personal("Is 4711 Anna's code? Call 112.", memories) == "Is [number] [name]'s code? Call 112."
