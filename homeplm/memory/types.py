"""Memory items and the interfaces of the embedder and the store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import numpy as np


class MemoryKind(StrEnum):
    """What a memory item is: a fact the household told, or an exchange."""

    FACT = "fact"  # "remember that …": told on purpose
    EXCHANGE = "exchange"  # one question and its answer


@dataclass(frozen=True, slots=True)
class MemoryItem:
    """One remembered thing. `text` is what is embedded and searched."""

    id: str
    kind: MemoryKind
    text: str
    created_at: float  # unix seconds
    speaker: str | None = None
    room: str | None = None
    source: str = "voice"  # voice | cli | mqtt | import
    route: str | None = None  # which brain route answered (exchanges)
    question: str | None = None  # exchanges: what was asked
    answer: str | None = None  # exchanges: what was answered
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MemoryHit:
    """A memory item found for a query, with its similarity and score."""

    item: MemoryItem
    similarity: float  # cosine similarity of the query and the item, −1…1
    score: float  # similarity plus a small bonus for recency: what hits are ranked by


class Embedder(Protocol):
    """Sentence embeddings, computed locally."""

    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32 rows, each L2-normalised."""


class MemoryStore(Protocol):
    """Persistent items with vector search. Only one process opens a store."""

    def add(self, items: Sequence[MemoryItem]) -> None: ...

    def search(
        self, query: str, *, limit: int, kinds: Iterable[MemoryKind] | None = None
    ) -> list[tuple[MemoryItem, float]]:
        """Nearest items to the query text with their cosine similarity, best first."""

    def get(self, item_id: str) -> MemoryItem | None: ...

    def items(self, *, kind: MemoryKind | None = None) -> list[MemoryItem]:
        """Every item (of a kind), oldest first."""

    def delete(self, ids: Sequence[str]) -> int: ...

    def count(self) -> int: ...

    def wipe(self) -> None: ...

    def close(self) -> None: ...
