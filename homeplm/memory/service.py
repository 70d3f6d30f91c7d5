"""The household memory: what it was told and what was said, under the household's control."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from homeplm.memory import jsonl
from homeplm.memory.ranking import rank
from homeplm.memory.types import MemoryHit, MemoryItem, MemoryKind, MemoryStore
from homeplm.memory.words import content_words
from homeplm.memory.worker import StoreWorker

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
# How long a caller waits for one operation on the store. A healthy store answers in milliseconds;
# past this it is taken as stuck (see worker.py) and the caller gets an error instead of waiting on.
STORE_TIMEOUT_S = 30.0
# Operations over every item (list, export, expiry, wipe) may wait this many times longer …
_BULK_FACTOR = 4
# … and an import this much more per item (embedding and writing one takes a few ms).
_IMPORT_PER_ITEM_S = 0.05
# `status` must answer within its client's 10 s, whatever the store is doing.
STATS_WAIT_S = 5.0
# At shutdown, the wait for operations under way before the store is closed (or its process killed).
CLOSE_WAIT_S = 5.0
_T = TypeVar("_T")


class HouseholdMemory:
    """Facts and exchanges over a MemoryStore, with private mode, retention and forgetting.

    Thread-safe: callers use worker threads (asyncio.to_thread). Each operation runs whole on the
    store's own thread, one at a time; a caller waits at most `timeout_s` (longer for bulk work) and
    then gets MemoryUnavailable, so a stuck store never holds the daemon's threads or its shutdown.
    """

    def __init__(
        self,
        store: MemoryStore,
        settings: MemorySettings,
        clock: Callable[[], float] = time.time,
        *,
        forget_similarity: float = FORGET_SIMILARITY,
        timeout_s: float = STORE_TIMEOUT_S,
    ) -> None:
        self.store = store
        self.settings = settings
        self.forget_similarity = forget_similarity
        self.timeout_s = timeout_s
        self._clock = clock
        self._private = settings.private
        self._worker = StoreWorker()

    def _run(self, fn: Callable[[], _T], what: str, timeout_s: float | None = None) -> _T:
        return self._worker.run(fn, what, self.timeout_s if timeout_s is None else timeout_s)

    @property
    def _bulk_s(self) -> float:
        return self.timeout_s * _BULK_FACTOR

    def unavailable(self) -> str | None:
        """Why the store cannot answer now (stuck in a call), or None."""
        return self._worker.stuck()

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
        self._run(lambda: self.store.add([item]), f"storing a {item.kind}")
        _LOGGER.debug("Remembered %s %s: %s", item.kind, item.id, item.text)
        return item

    def recall(self, query: str, *, kinds: Iterable[MemoryKind] | None = None) -> list[MemoryHit]:
        """The memories worth putting in the prompt for `query`: relevant ones only, best first."""
        limit = self.settings.max_results
        if not self.settings.enabled or limit <= 0 or not query.strip():
            return []
        candidates = self._run(lambda: self.store.search(query, limit=limit * 4, kinds=kinds), "recall")
        return self._rank(candidates, limit, self.settings.min_similarity)

    def search(self, query: str, limit: int = 10) -> list[MemoryHit]:
        """Nearest items with no relevance cut-off (for people looking through the memory)."""
        candidates = self._run(lambda: self.store.search(query, limit=limit), "search")
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

        def forget() -> list[MemoryItem]:
            found = self.store.search(topic, limit=_FORGET_SCAN)
            doomed = {item.id: item for item, similarity in found if similarity >= self.forget_similarity}
            doomed.update((item.id, item) for item in self.store.items() if _has_words(item.text, words))
            return self._delete(sorted(doomed.values(), key=lambda item: (item.created_at, item.id)))

        return self._run(forget, "forgetting", self._bulk_s)

    def forget_ids(self, ids: Sequence[str]) -> list[MemoryItem]:
        """Delete these items; returns those that existed."""

        def forget() -> list[MemoryItem]:
            found = (self.store.get(item_id) for item_id in dict.fromkeys(ids))
            return self._delete([item for item in found if item is not None])

        return self._run(forget, "forgetting")

    def forget_last_exchange(self) -> MemoryItem | None:
        def forget() -> MemoryItem | None:
            exchanges = self.store.items(kind=MemoryKind.EXCHANGE)
            return self._delete(exchanges[-1:])[0] if exchanges else None

        return self._run(forget, "forgetting", self._bulk_s)

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

        def expire() -> int:
            return len(self._delete([item for item in self.store.items() if item.created_at < cutoff]))

        return self._run(expire, "expiring old items", self._bulk_s)

    def list_items(self, kind: MemoryKind | None = None, limit: int | None = None) -> list[MemoryItem]:
        """Items newest first, at most `limit` of them."""
        items = self._run(lambda: self.store.items(kind=kind), "listing", self._bulk_s)[::-1]
        return items if limit is None else items[: max(0, limit)]

    def count(self) -> int:
        return self._run(self.store.count, "counting")

    def stats(self) -> tuple[int, int]:
        """(items, facts), waiting at most STATS_WAIT_S: `status` answers even when the store does not."""

        def stats() -> tuple[int, int]:
            return self.store.count(), len(self.store.items(kind=MemoryKind.FACT))

        return self._run(stats, "counting", min(self.timeout_s, STATS_WAIT_S))

    def export_jsonl(self, path: str | Path) -> int:
        """Back up every item (lossless JSON Lines); returns how many."""
        items = self._run(self.store.items, "exporting", self._bulk_s)
        return jsonl.export_items(items, path)

    def import_jsonl(self, path: str | Path) -> int:
        """Add a backup file's new items (see import_items); a bad line imports nothing."""
        return self.import_items(jsonl.import_items(path))

    def import_items(self, items: Sequence[MemoryItem]) -> int:
        """Add the items whose ids are new (importing twice adds nothing); returns how many."""

        def add_new() -> int:
            existing = {item.id for item in self.store.items()}
            new = list({item.id: item for item in items if item.id not in existing}.values())
            self.store.add(new)
            return len(new)

        return self._run(add_new, "importing", self._bulk_s + len(items) * _IMPORT_PER_ITEM_S)

    def export_dataset(self, path: str | Path, system_prompt: str) -> int:
        """Chat-format JSONL for fine-tuning (see jsonl.export_dataset); returns the line count."""
        items = self._run(self.store.items, "exporting", self._bulk_s)
        return jsonl.export_dataset(items, path, system_prompt)

    def wipe(self) -> None:
        self._run(self.store.wipe, "wiping", self._bulk_s)
        _LOGGER.info("Memory wiped")

    def close(self) -> None:
        """Close the store after the operations already asked for; never waits long on a busy or stuck
        store: a store in its own process (isolated.py) is killed then."""
        if not self._worker.close(self.store.close, min(self.timeout_s, CLOSE_WAIT_S)):
            kill = getattr(self.store, "kill", None)
            if callable(kill):
                kill()

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


def open_store(root: Path, settings: Settings) -> MemoryStore:
    """The chromadb store in `<root>/memory/`, locked by `<root>/memory.lock`."""
    from homeplm.backends.chroma_store import ChromaStore
    from homeplm.backends.factory import make_embedder

    return ChromaStore(root / "memory", make_embedder(settings), lock_path=root / "memory.lock")


def open_memory(settings: Settings, *, isolated: bool = True) -> HouseholdMemory:
    """The household memory in `<state>/memory/`, locked to this process, expired items removed.

    `isolated`: the store runs in a child process (see isolated.py), so that a chromadb call that
    hangs, or runs long holding the GIL, cannot stop this process; off, it runs in this process.
    """
    from homeplm.core.paths import state_dir
    from homeplm.memory.isolated import IsolatedStore

    root = state_dir(settings)
    opener = f"{__name__}:{open_store.__name__}"
    store = IsolatedStore(opener, root, settings) if isolated else open_store(root, settings)
    memory = HouseholdMemory(store, settings.memory)
    try:
        memory.count()  # opens the store: a locked or broken one is reported here
        expired = memory.expire()
    except BaseException:
        memory.close()
        raise
    if expired:
        _LOGGER.info("Expired %d memory item(s) older than %g days", expired, settings.memory.retention_days)
    return memory
