"""Answers worth hearing, measured per candidate model: everyday questions (accepted answers), the
household's own facts (said back exactly?), household questions nobody answered (invented?), and
what a forget leaves; latency and memory on this machine.

    python -m homeplm.bench.answers [--models smollm2-135m gemma3-270m …] [--styles chat fewshot …]
                                    [--limit N] [--json PATH]

Each model × style runs in its own process (a clean RSS figure) with greedy decoding, twice over:
**the model alone** (the system prompt, the told facts in the prompt as the LLM route puts them, the
question) and **the brain** (what the household hears: fast intents, the household route, the model
behind them, the reply filters). A reply is right when an accepted pattern is in it and no rejected
one is (`homeplm/bench/answer_sets.py`).

Styles: `chat` (the product's system prompt through the model's chat template, `llm.few_shot:
false`), `fewshot` (the product's default: three short question-and-answer turns after it),
`completion` (a plain "Q: … A:" text with the same examples, for a base model without a chat
template).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from homeplm.bench.answer_sets import (
    EVERYDAY,
    FORGET_CASES,
    HOUSEHOLD_FACTS,
    HOUSEHOLD_KNOWN,
    HOUSEHOLD_UNKNOWN,
    Question,
)
from homeplm.brain.llm_route import SHOTS

MODELS = ("smollm2-135m", "gemma3-270m")
_SHOT_TEXTS = frozenset(text for shot in SHOTS for text in shot)
STYLES = ("chat", "fewshot", "completion")


def judge(question: Question, reply: str) -> bool:
    """Right when an accepted pattern is found and no rejected one is."""
    found = any(re.search(p, reply, re.IGNORECASE) for p in question.accept)
    return found and not any(re.search(p, reply, re.IGNORECASE) for p in question.reject)


def _rss_mb(field_name: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _pct(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass(slots=True)
class Tally:
    """Right answers of one set, with the wrong ones kept for reading."""

    right: int = 0
    total: int = 0
    wrong: list[tuple[str, str]] = field(default_factory=list)

    def add(self, question: Question, reply: str) -> None:
        self.total += 1
        if judge(question, reply):
            self.right += 1
        else:
            self.wrong.append((question.text, reply))

    def figure(self) -> dict[str, Any]:
        return {"right": self.right, "total": self.total, "wrong": self.wrong}


class StyledChat:
    """The candidate model as the LLM route sees it (a ChatModel), in one prompt style."""

    def __init__(self, chat: Any, style: str) -> None:
        self.chat, self.style, self.name = chat, style, chat.name
        self.first_token_ms: list[float] = []
        self.reply_ms: list[float] = []

    def stream_chat(self, messages: Sequence[Any], *, max_tokens: int) -> Any:

        started = time.perf_counter()
        if self.style == "completion":
            parts = self._completion(messages, max_tokens)
        else:
            parts = self.chat.stream_chat(messages, max_tokens=max_tokens)
        first = True
        for part in parts:
            if first:
                self.first_token_ms.append((time.perf_counter() - started) * 1000)
                first = False
            yield part
        self.reply_ms.append((time.perf_counter() - started) * 1000)

    def _completion(self, messages: Sequence[Any], max_tokens: int) -> Any:
        header = messages[0].content + "\n\n" + "".join(f"Q: {q}\nA: {a}\n\n" for q, a in SHOTS)
        messages = [m for m in messages if m.content not in _SHOT_TEXTS]
        asked = messages[-1].content
        prompt = f"{header}Q: {asked}\nA:"
        llm = self.chat._llm  # the bench measures a raw completion on the same model
        stream = llm.create_completion(
            prompt, max_tokens=max_tokens, temperature=0.0, stop=["\n", "Q:"], stream=True
        )
        for chunk in stream:
            if text := chunk["choices"][0].get("text"):
                yield text


async def _say(router: Any, text: str, speaker: str | None = None) -> str:
    from homeplm.core.stages import Turn

    replies: AsyncIterator[str] = router.reply(Turn(text, speaker=speaker))
    return "".join([part async for part in replies]).strip()


def _memory(facts: Sequence[str], embedder: Any) -> Any:
    from homeplm.config.schema import MemorySettings
    from homeplm.memory.fake import InMemoryStore
    from homeplm.memory.service import HouseholdMemory

    memory = HouseholdMemory(InMemoryStore(embedder), MemorySettings(store_exchanges=False))
    for fact in facts:
        memory.remember_fact(fact, speaker="Anna")
    return memory


def run_one(model: str, style: str, limit: int | None, expert_url: str | None = None) -> dict[str, Any]:
    """Everything for one model × style, in this process (and with `expert.use: auto` against the
    server at `expert_url`, when given)."""
    from homeplm.assistant import build_brain
    from homeplm.backends.llama_chat import LlamaChat
    from homeplm.backends.minilm import MiniLmEmbedder
    from homeplm.brain.llm_route import LlmChatRoute
    from homeplm.brain.router import Router
    from homeplm.config.schema import ExpertSettings, Settings

    base = Settings()
    llm = replace(base.llm, model=model, temperature=0.0, history_turns=0, few_shot=style != "chat")
    settings = replace(base, llm=llm)
    rss_before = _rss_mb("VmRSS")
    started = time.perf_counter()
    chat = StyledChat(LlamaChat(settings.llm), style)
    load_s = time.perf_counter() - started
    rss_loaded = _rss_mb("VmRSS")
    embedder = MiniLmEmbedder()
    everyday = list(EVERYDAY[:limit] if limit else EVERYDAY)
    out: dict[str, Any] = {"model": model, "style": style, "load_s": round(load_s, 2)}

    def alone(memory: Any) -> Router:
        return Router([LlmChatRoute(chat, settings.llm, settings.assistant, memory=memory)])

    def brain(memory: Any) -> Router:
        return build_brain(settings, chat, memory)

    with_expert = replace(settings, expert=ExpertSettings(url=expert_url, use="auto", timeout_s=60))
    routed: list[str] = []

    def auto(memory: Any) -> Router:
        router = build_brain(with_expert, chat, memory)
        original = router.decide

        def decide(turn: Any) -> Any:
            route, decision = original(turn)
            routed.append(decision.route)
            return route, decision

        router.decide = decide  # type: ignore[method-assign]
        return router

    async def ask_all(
        make: Callable[[Any], Router], facts: Sequence[str], questions: Sequence[Question]
    ) -> Tally:
        tally, memory = Tally(), _memory(facts, embedder)
        router = make(memory)
        for question in questions:
            router.new_conversation()
            tally.add(question, await _say(router, question.text))
        memory.close()
        return tally

    async def forgetting(make: Callable[[Any], Router]) -> Tally:
        tally = Tally()
        for fact, topic, question in FORGET_CASES:
            memory = _memory([*HOUSEHOLD_FACTS, fact], embedder)
            router = make(memory)
            await _say(router, f"Forget what I said about {topic}.", "Anna")
            router.new_conversation()
            tally.add(question, await _say(router, question.text))
            memory.close()
        return tally

    async def everything() -> None:
        chat.first_token_ms.clear()
        chat.reply_ms.clear()
        for name, make in (("alone", alone), ("brain", brain)):
            figures: dict[str, Any] = {}
            figures["everyday"] = (await ask_all(make, [], everyday)).figure()
            if name == "alone":
                out["first_token_ms"] = [round(_pct(chat.first_token_ms, q)) for q in (0.5, 0.95)]
                out["reply_ms"] = [round(_pct(chat.reply_ms, q)) for q in (0.5, 0.95)]
            figures["known"] = (await ask_all(make, HOUSEHOLD_FACTS, HOUSEHOLD_KNOWN)).figure()
            empty = [q for q in HOUSEHOLD_UNKNOWN]
            figures["unknown_empty"] = (await ask_all(make, [], empty)).figure()
            told = [q for q in HOUSEHOLD_UNKNOWN if q.family != "needs_empty"]
            figures["unknown_told"] = (await ask_all(make, HOUSEHOLD_FACTS, told)).figure()
            figures["forget"] = (await forgetting(make)).figure()
            out[name] = figures
        if expert_url:
            routed.clear()
            out["expert_auto"] = {"everyday": (await ask_all(auto, [], everyday)).figure()}
            out["expert_auto"]["sent"] = routed.count("expert")
            routed.clear()
            out["expert_auto"]["unknown_empty"] = (await ask_all(auto, [], HOUSEHOLD_UNKNOWN)).figure()
            out["expert_auto"]["household_sent"] = routed.count("expert")

    asyncio.run(everything())
    out["rss_model_mb"] = round(rss_loaded - rss_before)
    out["peak_rss_mb"] = round(_rss_mb("VmHWM"))
    return out


def _line(result: dict[str, Any]) -> str:
    def share(figure: dict[str, Any]) -> str:
        return f"{figure['right']}/{figure['total']}"

    rows = []
    for name in ("alone", "brain"):
        f = result[name]
        invented = (f["unknown_empty"]["total"] - f["unknown_empty"]["right"]) + (
            f["unknown_told"]["total"] - f["unknown_told"]["right"]
        )
        asked = f["unknown_empty"]["total"] + f["unknown_told"]["total"]
        rows.append(
            f"  {name:5}  everyday {share(f['everyday']):>7}  told facts {share(f['known']):>5}  "
            f"invented {invented}/{asked}  after forget {share(f['forget'])}"
        )
    if auto := result.get("expert_auto"):
        rows.append(
            f"  expert auto  everyday {share(auto['everyday'])} ({auto['sent']} sent to the expert)  "
            f"household unknown {share(auto['unknown_empty'])} ({auto['household_sent']} sent)"
        )
    head = (
        f"{result['model']} ({result['style']}): load {result['load_s']} s, "
        f"model RSS {result['rss_model_mb']} MB, peak {result['peak_rss_mb']} MB; "
        f"first token p50/p95 {result['first_token_ms']} ms, "
        f"reply {result['reply_ms']} ms"
    )
    return "\n".join([head, *rows])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="shipped names or GGUF paths")
    parser.add_argument("--styles", nargs="+", default=["chat", "fewshot"], choices=STYLES)
    parser.add_argument("--limit", type=int, default=None, help="only the first N everyday questions")
    parser.add_argument("--json", type=Path, default=None, help="keep every figure and reply here")
    parser.add_argument(
        "--expert",
        action="store_true",
        help="also expert.use auto, the shipped model standing in as the expert",
    )
    parser.add_argument("--expert-url", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # model|style, in a child
    args = parser.parse_args(argv)
    if args.one:
        model, style = args.one.split("|")
        print(json.dumps(run_one(model, style, args.limit, args.expert_url)))
        return 0
    server = _expert_server() if args.expert else None
    try:
        return _all(args, server[1] if server else None)
    finally:
        if server:
            server[0].terminate()
            server[0].wait(timeout=10)


def _expert_server() -> tuple[subprocess.Popen[bytes], str]:
    """llama-cpp-python's OpenAI-compatible server with the shipped model, on loopback."""
    import socket
    import urllib.request

    from homeplm.core.models import shipped_llm_path

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(shipped_llm_path()), "--host",
               "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--verbose", "False"]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{url}/models", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit("the llama.cpp server did not start")


def _all(args: argparse.Namespace, expert_url: str | None) -> int:
    results = []
    for model in args.models:
        for style in args.styles:
            command = [sys.executable, "-m", "homeplm.bench.answers", "--one", f"{model}|{style}"]
            if args.limit:
                command += ["--limit", str(args.limit)]
            if expert_url:
                command += ["--expert-url", expert_url]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(f"{model} ({style}): failed\n{done.stderr[-2000:]}", file=sys.stderr)
                continue
            result = json.loads(done.stdout.strip().splitlines()[-1])
            results.append(result)
            print(_line(result), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
