"""A brute-force in-memory store and a hashing embedder: fast tests, and the reference for real stores."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np

from homeplm.memory.types import Embedder, MemoryItem, MemoryKind
from homeplm.memory.words import content_words


class HashEmbedder:
    """Deterministic bag-of-words embeddings by feature hashing (words and their letter trigrams).

    Texts sharing words get similar vectors, like a sentence model does for shared meaning, though
    far cruder. For tests only: no model, no randomness, microseconds per text.
    """

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature, weight in self._features(text):
                digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "little")
                sign = 1.0 if digest & 1 else -1.0
                out[row, (digest >> 1) % self.dim] += sign * weight
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
            else:  # only stop words: a fixed direction, as a model also embeds "" somewhere
                out[row, 0] = 1.0
        return out

    @staticmethod
    def _features(text: str) -> Iterable[tuple[str, float]]:
        for word in content_words(text):
            yield "w:" + word, 1.0
            padded = f"#{word}#"
            grams = [padded[i : i + 3] for i in range(len(padded) - 2)]
            for gram in grams:  # letter trigrams: "birthday" is near "birthdays"
                yield "g:" + gram, 0.5 / len(grams) ** 0.5


class InMemoryStore:
    """MemoryStore by brute force over a numpy matrix; forgets everything when dropped."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self._items: dict[str, MemoryItem] = {}
        self._vectors: dict[str, np.ndarray] = {}
        self.closed = False

    def add(self, items: Sequence[MemoryItem]) -> None:
        if not items:
            return
        vectors = self._embedder.embed([item.text for item in items])
        for item, vector in zip(items, vectors, strict=True):
            self._items[item.id] = item
            self._vectors[item.id] = np.asarray(vector, dtype=np.float32)

    def search(
        self, query: str, *, limit: int, kinds: Iterable[MemoryKind] | None = None
    ) -> list[tuple[MemoryItem, float]]:
        wanted = None if kinds is None else set(kinds)
        ids = [i for i, item in self._items.items() if wanted is None or item.kind in wanted]
        if not ids or limit <= 0:
            return []
        query_vector = self._embedder.embed([query])[0]
        similarities = np.stack([self._vectors[i] for i in ids]) @ query_vector
        order = np.argsort(-similarities, kind="stable")[:limit]
        return [(self._items[ids[k]], float(similarities[k])) for k in order]

    def get(self, item_id: str) -> MemoryItem | None:
        return self._items.get(item_id)

    def items(self, *, kind: MemoryKind | None = None) -> list[MemoryItem]:
        chosen = [item for item in self._items.values() if kind is None or item.kind == kind]
        return sorted(chosen, key=lambda item: (item.created_at, item.id))

    def delete(self, ids: Sequence[str]) -> int:
        deleted = 0
        for item_id in set(ids):
            if self._items.pop(item_id, None) is not None:
                del self._vectors[item_id]
                deleted += 1
        return deleted

    def count(self) -> int:
        return len(self._items)

    def wipe(self) -> None:
        self._items.clear()
        self._vectors.clear()

    def close(self) -> None:
        self.closed = True
