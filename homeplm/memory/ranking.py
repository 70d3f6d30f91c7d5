"""Ranking of search candidates: a relevance cut-off, then similarity plus a small recency bonus."""

from __future__ import annotations

from homeplm.memory.types import MemoryHit, MemoryItem

_DAY_S = 86400.0


def recency_bonus(created_at: float, now: float, *, weight: float, half_life_days: float) -> float:
    """`weight` for an item made now, halving every `half_life_days` (future items count as new)."""
    if weight == 0.0:
        return 0.0
    age_days = max(0.0, now - created_at) / _DAY_S
    return weight * 0.5 ** (age_days / half_life_days)


def rank(
    candidates: list[tuple[MemoryItem, float]],
    now: float,
    *,
    min_similarity: float,
    recency_weight: float,
    half_life_days: float,
    limit: int,
) -> list[MemoryHit]:
    """Hits at least `min_similarity` similar, best score first, at most `limit` of them."""
    if limit <= 0:
        return []
    hits = [
        MemoryHit(
            item=item,
            similarity=similarity,
            score=similarity
            + recency_bonus(item.created_at, now, weight=recency_weight, half_life_days=half_life_days),
        )
        for item, similarity in candidates
        if similarity >= min_similarity
    ]
    # Ties (same score) go to the newer item, then the id, so the order never depends on the store.
    hits.sort(key=lambda h: (-h.score, -h.item.created_at, h.item.id))
    return hits[:limit]
