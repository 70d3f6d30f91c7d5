"""The household memory: what it was told and what was said, under the household's control."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from homeplm.memory import jsonl
from homeplm.memory.fake import content_words
from homeplm.memory.ranking import rank
from homeplm.memory.types import MemoryHit, MemoryItem, MemoryKind, MemoryStore

if TYPE_CHECKING:
    from homeplm.config.schema import MemorySettings, Settings

_LOGGER = logging.getLogger(__name__)
_DAY_S = 86400.0
# all-MiniLM-L6-v2 puts a sentence and a question about the same thing at 0.65-0.8 and unrelated
# house talk below 0.25, but two different commands reach 0.47: forgetting wrongly is worse than
# missing (the topic's words catch the rest), so the bar sits above that.
FORGET_SIMILARITY = 0.55
# How many nearest items forget_about weighs by similarity (word matches are checked on all items).
_FORGET_SCAN = 2000


class HouseholdMemory:
    """Facts and exchanges over a MemoryStore, with private mode, retention and forgetting.

    Thread-safe: callers use worker threads (asyncio.to_thread); one lock keeps each operation whole.
    """

    def __init__(
        self,
        store: MemoryStore,
        settings: MemorySettings,
        clock: Callable[[], float] = time.time,
        *,
        forget_similarity: float = FORGET_SIMILARITY,
    ) -> None:
        self.store = store
        self.settings = settings
        self.forget_similarity = forget_similarity
        self._clock = clock
        self._private = settings.private
        self._lock = threading.RLock()

    @property
    def private(self) -> bool:
        """In private mode nothing new is stored; recall and forgetting still work."""
        return self._private

    @private.setter
    def private(self, value: bool) -> None:
        self._private = bool(value)

    @property
    def storing(self) -> bool:
        return self.settings.enabled and not self._private

    def remember_fact(
        self, text: str, *, speaker: str | None = None, room: str | None = None, source: str = "voice"
    ) -> MemoryItem | None:
        """Store a fact as said ("my sister's birthday is May 3"); None when not storing or empty."""
        text = text.strip()
        if not self.storing or not text:
            return None
        return self._add(self._new(MemoryKind.FACT, text, speaker, room, source))

    def record_exchange(
        self,
        question: str,
        answer: str,
        *,
        route: str | None = None,
        speaker: str | None = None,
        room: str | None = None,
        source: str = "voice",
    ) -> MemoryItem | None:
        """Store one question and its answer; None when not storing exchanges or nothing was answered."""
        question, answer = question.strip(), answer.strip()
        if not (self.storing and self.settings.store_exchanges and question and answer):
            return None
        item = self._new(MemoryKind.EXCHANGE, f"Q: {question}\nA: {answer}", speaker, room, source)
        return self._add(replace(item, route=route, question=question, answer=answer))

    def _new(
        self, kind: MemoryKind, text: str, speaker: str | None, room: str | None, source: str
    ) -> MemoryItem:
        return MemoryItem(uuid.uuid4().hex, kind, text, self._clock(), speaker, room, source or "voice")

    def _add(self, item: MemoryItem) -> MemoryItem:
        with self._lock:
            self.store.add([item])
        _LOGGER.debug("Remembered %s %s: %s", item.kind, item.id, item.text)
        return item

    def recall(self, query: str, *, kinds: Iterable[MemoryKind] | None = None) -> list[MemoryHit]:
        """The memories worth putting in the prompt for `query`: relevant ones only, best first."""
        limit = self.settings.max_results
        if not self.settings.enabled or limit <= 0 or not query.strip():
            return []
        with self._lock:
            candidates = self.store.search(query, limit=limit * 4, kinds=kinds)
        return self._rank(candidates, limit, self.settings.min_similarity)

    def search(self, query: str, limit: int = 10) -> list[MemoryHit]:
        """Nearest items with no relevance cut-off (for people looking through the memory)."""
        with self._lock:
            candidates = self.store.search(query, limit=limit)
        return self._rank(candidates, limit, -1.0)

    def _rank(self, candidates: list[tuple[MemoryItem, float]], limit: int, cut: float) -> list[MemoryHit]:
        return rank(
            candidates,
            self._clock(),
            min_similarity=cut,
            recency_weight=self.settings.recency_weight,
            half_life_days=self.settings.recency_half_life_days,
            limit=limit,
        )

    def forget_about(self, topic: str) -> list[MemoryItem]:
        """Delete facts and exchanges about `topic` (similar enough, or holding all its words)."""
        if not topic.strip():
            return []
        words = set(content_words(topic))
        with self._lock:
            found = self.store.search(topic, limit=_FORGET_SCAN)
            doomed = {item.id: item for item, similarity in found if similarity >= self.forget_similarity}
            doomed.update((item.id, item) for item in self.store.items() if _has_words(item.text, words))
            return self._delete(sorted(doomed.values(), key=lambda item: (item.created_at, item.id)))

    def forget_ids(self, ids: Sequence[str]) -> list[MemoryItem]:
        """Delete these items; returns those that existed."""
        with self._lock:
            found = (self.store.get(item_id) for item_id in dict.fromkeys(ids))
            return self._delete([item for item in found if item is not None])

    def forget_last_exchange(self) -> MemoryItem | None:
        with self._lock:
            exchanges = self.store.items(kind=MemoryKind.EXCHANGE)
            return self._delete(exchanges[-1:])[0] if exchanges else None

    def _delete(self, items: list[MemoryItem]) -> list[MemoryItem]:
        if items:
            self.store.delete([item.id for item in items])
            _LOGGER.info("Forgot %d memory item(s)", len(items))
        return items

    def expire(self) -> int:
        """Delete items older than the retention period; returns how many (0 days: keep all)."""
        if self.settings.retention_days <= 0:
            return 0
        cutoff = self._clock() - self.settings.retention_days * _DAY_S
        with self._lock:
            return len(self._delete([item for item in self.store.items() if item.created_at < cutoff]))

    def list_items(self, kind: MemoryKind | None = None, limit: int | None = None) -> list[MemoryItem]:
        """Items newest first, at most `limit` of them."""
        with self._lock:
            items = self.store.items(kind=kind)[::-1]
        return items if limit is None else items[: max(0, limit)]

    def count(self) -> int:
        with self._lock:
            return self.store.count()

    def export_jsonl(self, path: str | Path) -> int:
        """Back up every item (lossless JSON Lines); returns how many."""
        with self._lock:
            items = self.store.items()
        return jsonl.export_items(items, path)

    def import_jsonl(self, path: str | Path) -> int:
        """Add a backup file's new items (see import_items); a bad line imports nothing."""
        return self.import_items(jsonl.import_items(path))

    def import_items(self, items: Sequence[MemoryItem]) -> int:
        """Add the items whose ids are new (importing twice adds nothing); returns how many."""
        with self._lock:
            existing = {item.id for item in self.store.items()}
            new = list({item.id: item for item in items if item.id not in existing}.values())
            self.store.add(new)
        return len(new)

    def export_dataset(self, path: str | Path, system_prompt: str) -> int:
        """Chat-format JSONL for fine-tuning (see jsonl.export_dataset); returns the line count."""
        with self._lock:
            items = self.store.items()
        return jsonl.export_dataset(items, path, system_prompt)

    def wipe(self) -> None:
        with self._lock:
            self.store.wipe()
        _LOGGER.info("Memory wiped")

    def close(self) -> None:
        with self._lock:
            self.store.close()

    def __enter__(self) -> HouseholdMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _has_words(text: str, words: set[str]) -> bool:
    """Every word starts a word of `text` ("sister" is in "my sister's"); an empty set matches nothing."""
    if not words:
        return False
    found = set(content_words(text))
    return all(any(f.startswith(w) for f in found) for w in words)


def open_memory(settings: Settings) -> HouseholdMemory:
    """The household memory in `<state>/memory/`, locked to this process, expired items removed."""
    from homeplm.backends.chroma_store import ChromaStore
    from homeplm.factory import make_embedder
    from homeplm.paths import state_dir

    root = state_dir(settings)
    store = ChromaStore(root / "memory", make_embedder(settings), lock_path=root / "memory.lock")
    memory = HouseholdMemory(store, settings.memory)
    try:
        expired = memory.expire()
    except BaseException:
        memory.close()
        raise
    if expired:
        _LOGGER.info("Expired %d memory item(s) older than %g days", expired, settings.memory.retention_days)
    return memory
