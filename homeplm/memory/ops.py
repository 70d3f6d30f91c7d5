"""The `homeplm memory …` commands with JSON in and out: the daemon serves them over its control
socket, and the CLI calls them directly when no daemon runs (only one process may open the store)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeplm.core.errors import HomeplmError
from homeplm.memory.jsonl import item_from_json, item_to_json
from homeplm.memory.types import MemoryHit, MemoryKind

if TYPE_CHECKING:
    from homeplm.memory.service import HouseholdMemory


def _hit(hit: MemoryHit) -> dict[str, Any]:
    return {**item_to_json(hit.item), "similarity": round(hit.similarity, 3), "score": round(hit.score, 3)}


class MemoryOps:
    """The memory commands the CLI and the control socket share (list, search, forget, …)."""

    def __init__(self, memory: HouseholdMemory) -> None:
        self.memory = memory

    def call(self, name: str, args: dict[str, Any]) -> Any:
        """Run `name` ("list", "search", …) with keyword arguments from a request."""
        method = getattr(self, f"op_{name}", None)
        if method is None:
            raise HomeplmError(f"unknown memory command {name!r}", code="bad_request")
        return method(**args)

    def op_list(self, kind: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        items = self.memory.list_items(MemoryKind(kind) if kind else None, limit)
        return [item_to_json(item) for item in items]

    def op_search(self, query: str, limit: int = 10) -> list[dict[str, Any]]:
        return [_hit(hit) for hit in self.memory.search(query, limit)]

    def op_show(self, item_id: str) -> dict[str, Any]:
        for item in self.memory.list_items():
            if item.id == item_id or (len(item_id) >= 6 and item.id.startswith(item_id)):
                return item_to_json(item)
        raise HomeplmError(f"no memory item {item_id!r}", code="not_found")

    def op_forget(
        self, ids: list[str] | None = None, about: str | None = None, last: bool = False
    ) -> list[dict[str, Any]]:
        deleted = []
        if ids:
            deleted += self.memory.forget_ids([self.op_show(i)["id"] for i in ids])
        if about:
            deleted += self.memory.forget_about(about)
        if last and (item := self.memory.forget_last_exchange()) is not None:
            deleted.append(item)
        return [item_to_json(item) for item in deleted]

    def op_remember(self, text: str, speaker: str | None = None) -> dict[str, Any] | None:
        item = self.memory.remember_fact(text, speaker=speaker, source="cli")
        return None if item is None else item_to_json(item)

    def op_export(self) -> list[dict[str, Any]]:
        return [item_to_json(item) for item in reversed(self.memory.list_items())]

    def op_import(self, items: list[dict[str, Any]]) -> int:
        return self.memory.import_items([item_from_json(data) for data in items])

    def op_wipe(self) -> int:
        count = self.memory.count()
        self.memory.wipe()
        return count

    def op_stats(self) -> dict[str, Any]:
        total, facts = self.memory.stats()  # a short wait: the daemon's `status` asks this too
        return {"items": total, "facts": facts, "exchanges": total - facts, "private": self.memory.private}
