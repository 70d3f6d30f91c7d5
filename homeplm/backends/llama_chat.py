"""Chat with a local GGUF model through llama.cpp (llama-cpp-python)."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from llama_cpp import Llama, LlamaGrammar

from homeplm.config.schema import LlmSettings
from homeplm.core.errors import BrainError
from homeplm.core.models import resolve, shipped_llm_path
from homeplm.core.stages import ChatMessage

_LOGGER = logging.getLogger(__name__)

# Role markers the chat template wraps around each message ("<|im_start|>user\n…<|im_end|>\n"),
# counted generously so the real prompt never exceeds the estimate.
MESSAGE_OVERHEAD_TOKENS = 8
REPLY_HEADER_TOKENS = 8  # the generation prompt ("<|im_start|>assistant\n") and a BOS
# A reply ends here: chat-template markers written out as text, and a tiny model going on to write
# the next turn itself (brain/hygiene.py drops what still gets through).
STOP_SEQUENCES = ("<|im_end|>", "<|im_start|>", "<end_of_turn>", "<|eot_id|>", "\nUser:", "\nQuestion:")


class LlamaChat:
    """One llama.cpp context; the chat template comes from the GGUF file."""

    def __init__(self, settings: LlmSettings) -> None:
        self._settings = settings
        path = resolve(settings.model, shipped_llm_path, key="llm.model")
        self.name = path.stem
        self.context_size = settings.context_size
        try:
            self._llm = Llama(
                model_path=str(path),
                n_ctx=settings.context_size,
                n_threads=settings.threads,
                n_threads_batch=settings.threads,
                n_batch=min(512, settings.context_size),
                seed=settings.seed,
                chat_format=settings.chat_format,
                verbose=False,  # also keeps llama.cpp's native log off stderr
            )
        except (ValueError, RuntimeError, OSError) as err:
            raise BrainError(f"Cannot load the language model {path}: {err}") from err
        if settings.chat_format is None and (guess := _format_without_template(self._llm)):
            self._llm.chat_format = guess
            self._llm.chat_handler = None
        self._lock = threading.Lock()
        _LOGGER.info("Language model %s loaded (context %d)", self.name, self.context_size)

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` alone (no BOS); the vocabulary is read-only, so no lock."""
        if not text:
            return 0
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _cost(self, message: ChatMessage) -> int:
        return self.count_tokens(message.content) + MESSAGE_OVERHEAD_TOKENS

    def fit(self, messages: Sequence[ChatMessage], max_tokens: int) -> tuple[list[ChatMessage], int]:
        """Drop the oldest non-system messages until prompt + reply fit the context.

        Returns the messages kept and the reply budget (max_tokens, or less when even the shortest
        prompt leaves less room). A user message goes together with the assistant answer after it,
        so the conversation still alternates.
        """
        kept = list(messages)
        costs = [self._cost(m) for m in kept]
        limit = self.context_size - REPLY_HEADER_TOKENS
        while sum(costs) + max_tokens > limit:
            index = next((i for i, m in enumerate(kept[:-1]) if m.role != "system"), None)
            if index is None:
                break
            span = 1
            if kept[index].role == "user" and index + 2 < len(kept):
                span += kept[index + 1].role == "assistant"
            del kept[index : index + span], costs[index : index + span]
        if len(kept) < len(messages):
            _LOGGER.debug("Dropped %d old message(s) to fit the context", len(messages) - len(kept))
        room = limit - sum(costs)
        if room < 1:
            raise BrainError(
                f"The prompt needs about {sum(costs)} tokens; the context holds "
                f"{self.context_size} (raise llm.context_size or shorten the system prompt)",
                code="context_overflow",
            )
        return kept, min(max_tokens, room)

    def stream_chat(self, messages: Sequence[ChatMessage], *, max_tokens: int) -> Iterator[str]:
        """Content deltas of the reply; blocking, so run it in a worker thread."""
        kept, budget = self.fit(messages, max_tokens)
        payload: list[Any] = [{"role": m.role, "content": m.content} for m in kept]
        settings = self._settings
        with self._lock:
            try:
                stream: Any = self._llm.create_chat_completion(
                    messages=payload,
                    max_tokens=budget,
                    temperature=settings.temperature,
                    top_p=settings.top_p,
                    repeat_penalty=settings.repeat_penalty,
                    stop=list(STOP_SEQUENCES),
                    stream=True,
                )
                for chunk in stream:
                    delta = chunk["choices"][0]["delta"].get("content")
                    if delta:
                        yield delta
            except (ValueError, RuntimeError) as err:
                raise BrainError(f"llama.cpp failed: {err}") from err

    def complete_constrained(self, messages: Sequence[ChatMessage], grammar: str, *, max_tokens: int) -> str:
        """The whole reply (not streamed), greedy, held to the GBNF `grammar`; blocking.

        The grammar is checked once per distinct text (a small LRU): one that llama.cpp cannot parse
        raises BrainError here instead of failing inside the sampler.
        """
        compiled = _checked_grammar(grammar)
        kept, budget = self.fit(messages, max_tokens)
        payload: list[Any] = [{"role": m.role, "content": m.content} for m in kept]
        with self._lock:
            try:
                result: Any = self._llm.create_chat_completion(
                    messages=payload,
                    max_tokens=budget,
                    temperature=0.0,
                    repeat_penalty=1.0,  # the grammar may need to repeat a word of the prompt
                    grammar=compiled,
                    stream=False,
                )
            except (ValueError, RuntimeError) as err:
                raise BrainError(f"llama.cpp failed: {err}") from err
        return str(result["choices"][0]["message"].get("content") or "")

    def reset_cache(self) -> None:
        """Forget the evaluated prompt, so the next call starts cold (for the benchmark)."""
        with self._lock:
            self._llm.reset()

    def close(self) -> None:
        with self._lock:
            self._llm.close()


# Architectures whose GGUF files often come without a chat template: llama-cpp-python would fall
# back to Llama 2's "[INST]" format, which these models never saw.
_FORMATS = {"gemma": "gemma", "gemma2": "gemma", "gemma3": "gemma", "qwen2": "chatml"}


def _format_without_template(llm: Any) -> str | None:
    metadata = getattr(llm, "metadata", {}) or {}
    if "tokenizer.chat_template" in metadata:
        return None
    return _FORMATS.get(str(metadata.get("general.architecture", "")))


@functools.lru_cache(maxsize=16)
def _checked_grammar(text: str) -> LlamaGrammar:
    """`text` as a LlamaGrammar, parsed once by llama.cpp to prove it is valid (BrainError if not).

    LlamaGrammar.from_string only keeps the text; llama.cpp parses it when a sampler is made, and a
    grammar it cannot parse would leave no grammar sampler. No vocabulary is needed to parse it.
    """
    from llama_cpp import llama_sampler_free, llama_sampler_init_grammar

    sampler = llama_sampler_init_grammar(None, text.encode("utf-8"), b"root")
    if not sampler:
        raise BrainError("llama.cpp cannot parse the grammar", code="bad_grammar")
    llama_sampler_free(sampler)
    return LlamaGrammar.from_string(text, verbose=False)


def system_info() -> str:
    """llama.cpp's compiled-in CPU features ("CPU : AVX2 = 1 | FMA = 1 | …"), for doctor and bench."""
    from llama_cpp import llama_print_system_info

    return str(llama_print_system_info().decode())
