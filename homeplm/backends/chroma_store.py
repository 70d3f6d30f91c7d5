"""The household memory on disk: a persistent chromadb collection, embedded by our own embedder.

Never chromadb's default embedding function (it downloads a model): every add and query passes
embeddings. Telemetry is off three ways: the env variable before import, the setting, and a no-op
telemetry component in place of chromadb's (in 1.5 its PostHog client is already a no-op; this
keeps it so should a later version bring it back).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

os.environ["ANONYMIZED_TELEMETRY"] = "False"

import chromadb
from chromadb.config import Settings as ChromaSettings
from chromadb.telemetry.product import ProductTelemetryClient, ProductTelemetryEvent
from typing_extensions import override

from homeplm.errors import HomeplmError
from homeplm.memory.lock import MemoryLock
from homeplm.memory.types import Embedder, MemoryItem, MemoryKind

COLLECTION = "memory"
_REINDEX = "memory_reindex"
_OPTIONAL = ("speaker", "room", "route", "question", "answer")
_PAGE = 5000  # records per get(): SQLite allows ~32k bound variables per statement


class NoTelemetry(ProductTelemetryClient):
    """Sends nothing, writes no user-id file."""

    @override  # chromadb's components insist on the marker
    def capture(self, event: ProductTelemetryEvent) -> None:
        return None


_NO_TELEMETRY = f"{__name__}.NoTelemetry"
_F = TypeVar("_F", bound=Callable[..., Any])


def _store_errors(method: _F) -> _F:
    """chromadb's (and SQLite's) errors leave as HomeplmError(code="memory_store")."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except HomeplmError:
            raise
        except Exception as err:
            raise HomeplmError(f"memory store: {err}", code="memory_store") from err

    return cast(_F, wrapper)


class ChromaStore:
    """MemoryStore in `path` (a directory). Takes the lock `<path>.lock` first: one process only."""

    def __init__(self, path: Path, embedder: Embedder, *, lock_path: Path | None = None) -> None:
        self._embedder = embedder
        self._lock = MemoryLock(lock_path or path.with_name(path.name + ".lock")).acquire()
        try:
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._client = chromadb.PersistentClient(
                path=str(path),
                settings=ChromaSettings(
                    anonymized_telemetry=False,
                    allow_reset=True,
                    chroma_product_telemetry_impl=_NO_TELEMETRY,
                    chroma_telemetry_impl=_NO_TELEMETRY,
                ),
            )
            self._collection = self._open_collection()
        except BaseException as err:
            if hasattr(self, "_client"):
                getattr(self._client, "close", lambda: None)()
            self._lock.release()
            if isinstance(err, HomeplmError) or not isinstance(err, Exception):
                raise
            raise HomeplmError(f"cannot open the memory in {path}: {err}", code="memory_store") from err

    def _create(self, name: str) -> Any:
        return self._client.get_or_create_collection(
            name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )

    def _open_collection(self) -> Any:
        names = {c.name for c in self._client.list_collections()}
        if _REINDEX in names:  # a re-index was cut off: finish its rename, or throw it away
            if COLLECTION in names:
                self._client.delete_collection(_REINDEX)
            else:
                self._client.get_collection(_REINDEX).modify(name=COLLECTION)
        collection = self._create(COLLECTION)
        stored = collection.get(limit=1, include=["embeddings"])["embeddings"]
        if stored is not None and len(stored) and len(stored[0]) != self._embedder.dim:
            collection = self._reindex(collection)
        return collection

    def _reindex(self, old: Any) -> Any:
        """The embedder changed (its dimension did): embed every text again, into a new collection."""
        items = _get_all(old, None)
        new = self._create(_REINDEX)
        self._add_to(new, items)
        self._client.delete_collection(COLLECTION)
        new.modify(name=COLLECTION)
        return new

    @_store_errors
    def add(self, items: Sequence[MemoryItem]) -> None:
        self._add_to(self._collection, items)

    def _add_to(self, collection: Any, items: Sequence[MemoryItem]) -> None:
        step = max(1, self._client.get_max_batch_size())
        for start in range(0, len(items), step):
            batch = items[start : start + step]
            collection.upsert(
                ids=[item.id for item in batch],
                embeddings=self._embedder.embed([item.text for item in batch]),
                documents=[item.text for item in batch],
                metadatas=[_to_metadata(item) for item in batch],
            )

    @_store_errors
    def search(
        self, query: str, *, limit: int, kinds: Iterable[MemoryKind] | None = None
    ) -> list[tuple[MemoryItem, float]]:
        n_results = min(limit, self.count())
        if n_results <= 0:
            return []
        result = self._collection.query(
            query_embeddings=self._embedder.embed([query]),
            n_results=n_results,
            where=_kind_filter(kinds),
            include=["documents", "metadatas", "distances"],
        )
        found = zip(result["ids"][0], result["documents"][0], result["metadatas"][0], strict=True)
        # Cosine distance is 1 − cosine similarity.
        return [
            (_to_item(i, doc, meta), 1.0 - float(dist))
            for (i, doc, meta), dist in zip(found, result["distances"][0], strict=True)
        ]

    @_store_errors
    def get(self, item_id: str) -> MemoryItem | None:
        items = _records_to_items(self._collection.get(ids=[item_id], include=["documents", "metadatas"]))
        return items[0] if items else None

    @_store_errors
    def items(self, *, kind: MemoryKind | None = None) -> list[MemoryItem]:
        items = _get_all(self._collection, _kind_filter(None if kind is None else [kind]))
        return sorted(items, key=lambda item: (item.created_at, item.id))

    @_store_errors
    def delete(self, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        unique, deleted = list(dict.fromkeys(ids)), 0
        for start in range(0, len(unique), _PAGE):
            # chromadb's own count also counts ids that were not there: count what exists first.
            present = self._collection.get(ids=unique[start : start + _PAGE], include=[])["ids"]
            if present:
                self._collection.delete(ids=present)
            deleted += len(present)
        return deleted

    @_store_errors
    def count(self) -> int:
        return int(self._collection.count())

    @_store_errors
    def wipe(self) -> None:
        self._client.delete_collection(COLLECTION)
        self._collection = self._create(COLLECTION)

    def close(self) -> None:
        if not self._lock.held:
            return
        try:
            # ClientAPI's stubs lack close(); the persistent client has it (it stops the system).
            getattr(self._client, "close", lambda: None)()
        finally:
            self._lock.release()


def _get_all(collection: Any, where: dict[str, Any] | None) -> list[MemoryItem]:
    """Every record, a page at a time: one unbounded get() fails past ~30k items (SQL variables)."""
    items: list[MemoryItem] = []
    while True:
        page = collection.get(where=where, include=["documents", "metadatas"], limit=_PAGE, offset=len(items))
        items.extend(_records_to_items(page))
        if len(page["ids"]) < _PAGE:
            return items


def _kind_filter(kinds: Iterable[MemoryKind] | None) -> dict[str, Any] | None:
    if kinds is None:
        return None
    values = sorted({str(kind) for kind in kinds})
    return {"kind": values[0]} if len(values) == 1 else {"kind": {"$in": values}}


def _to_metadata(item: MemoryItem) -> dict[str, str | float]:
    """Chroma metadata holds only str/int/float/bool: None fields are left out, `extra` is JSON."""
    meta: dict[str, str | float] = {
        "kind": str(item.kind),
        "created_at": item.created_at,
        "source": item.source,
    }
    for name in _OPTIONAL:
        value = getattr(item, name)
        if value is not None:
            meta[name] = value
    if item.extra:
        meta["extra"] = json.dumps(item.extra, ensure_ascii=False, sort_keys=True)
    return meta


def _to_item(item_id: str, document: str | None, meta: Any) -> MemoryItem:
    meta = dict(meta or {})
    return MemoryItem(
        id=item_id,
        kind=MemoryKind(meta["kind"]),
        text=document or "",
        created_at=float(meta["created_at"]),
        source=str(meta.get("source", "voice")),
        extra=json.loads(meta["extra"]) if "extra" in meta else {},
        **{name: str(meta[name]) for name in _OPTIONAL if name in meta},
    )


def _records_to_items(records: Any) -> list[MemoryItem]:
    return [
        _to_item(i, doc, meta)
        for i, doc, meta in zip(records["ids"], records["documents"], records["metadatas"], strict=True)
    ]
