"""The household memory on disk: a persistent chromadb collection, embedded by our own embedder.

Never chromadb's default embedding function (it downloads a model): every add and query passes
embeddings. Telemetry is off three ways: the env variable before import, the setting, and a no-op
telemetry component in place of chromadb's (in 1.5 its PostHog client is already a no-op; this
keeps it so should a later version bring it back).

After any failed call the client is closed and a new one opened before the next call. chromadb 1.5's
Rust core keeps a pool of SQLite connections (sqlx). When a write fails with SQLITE_FULL, SQLite rolls
the transaction back by itself; sqlx's own ROLLBACK then fails ("no transaction is active") and sqlx
does not lower its count of open transactions on that connection. From then on it wraps transactions
on that connection in SAVEPOINTs, and a transaction dropped without commit, as chromadb's log purge
does after every write (it reads embeddings_queue_config in a transaction and returns), ends in
ROLLBACK TO SAVEPOINT, which leaves SQLite's transaction open: that connection keeps its SHARED lock
forever, and the next write on another connection waits for the EXCLUSIVE lock without end (SQLite's
busy handler, deep in Rust: Python cannot interrupt it). A new client means new connections.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

os.environ["ANONYMIZED_TELEMETRY"] = "False"

import chromadb
from chromadb.config import Settings as ChromaSettings
from chromadb.telemetry.product import ProductTelemetryClient, ProductTelemetryEvent
from typing_extensions import override

from homeplm.core.errors import HomeplmError
from homeplm.memory.lock import MemoryLock
from homeplm.memory.types import Embedder, MemoryItem, MemoryKind

_LOGGER = logging.getLogger(__name__)
COLLECTION = "memory"
_REINDEX = "memory_reindex"
_OPTIONAL = ("speaker", "room", "route", "question", "answer")
_PAGE = 5000  # records per get(): SQLite allows ~32k bound variables per statement
# Free space a write needs, checked first: a journal of the pages it changes, and the vector index.
MIN_FREE_BYTES = 1024 * 1024
_FREE_PER_ITEM = 8 * 1024


class NoTelemetry(ProductTelemetryClient):
    """Sends nothing, writes no user-id file."""

    @override  # chromadb's components insist on the marker
    def capture(self, event: ProductTelemetryEvent) -> None:
        return None


_NO_TELEMETRY = f"{__name__}.NoTelemetry"
_F = TypeVar("_F", bound=Callable[..., Any])


def _store_errors(method: _F) -> _F:
    """chromadb's (and SQLite's) errors leave as HomeplmError(code="memory_store", or "disk_full"),
    and the next call gets a new client (see the module's doc)."""

    @functools.wraps(method)
    def wrapper(self: ChromaStore, *args: Any, **kwargs: Any) -> Any:
        try:
            if self._broken:
                self._reopen()
            return method(self, *args, **kwargs)
        except HomeplmError:
            raise
        except Exception as err:
            self._broken = True
            if _disk_full(err):
                raise HomeplmError(
                    f"the disk holding the memory is full ({err}); free some space and try again",
                    code="disk_full",
                ) from err
            raise HomeplmError(f"memory store: {err}", code="memory_store") from err

    return cast(_F, wrapper)


def _disk_full(err: BaseException) -> bool:
    return (isinstance(err, OSError) and err.errno == errno.ENOSPC) or "disk is full" in str(err)


class ChromaStore:
    """MemoryStore in `path` (a directory). Takes the lock `<path>.lock` first: one process only.

    Writes are refused (HomeplmError code "disk_full") while the disk has less than `min_free_bytes`
    free (plus a little per item; 0: no check).
    """

    def __init__(
        self,
        path: Path,
        embedder: Embedder,
        *,
        lock_path: Path | None = None,
        min_free_bytes: int = MIN_FREE_BYTES,
    ) -> None:
        self._path = path
        self._embedder = embedder
        self._min_free_bytes = min_free_bytes
        self._client: Any = None
        self._broken = False  # a call failed: open a new client before the next one
        self._lock = MemoryLock(lock_path or path.with_name(path.name + ".lock")).acquire()
        try:
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._client = self._connect()
            self._collection = self._open_collection()
        except BaseException as err:
            self._disconnect()
            self._lock.release()
            if isinstance(err, HomeplmError) or not isinstance(err, Exception):
                raise
            raise HomeplmError(f"cannot open the memory in {path}: {err}", code="memory_store") from err

    def _connect(self) -> Any:
        try:
            return chromadb.PersistentClient(
                path=str(self._path),
                settings=ChromaSettings(
                    anonymized_telemetry=False,
                    allow_reset=True,
                    chroma_product_telemetry_impl=_NO_TELEMETRY,
                    chroma_telemetry_impl=_NO_TELEMETRY,
                ),
            )
        except BaseException:
            _drop_cached_system(self._path)
            raise

    def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            # ClientAPI's stubs lack close(); the persistent client has it (it stops the system,
            # which drops chromadb's connections).
            with contextlib.suppress(Exception):
                getattr(client, "close", lambda: None)()

    def _reopen(self) -> None:
        """A new client after a failed call: chromadb's old connections may be wedged (module doc)."""
        self._disconnect()
        self._client = self._connect()
        self._collection = self._open_collection()
        self._broken = False
        _LOGGER.info("Memory store reopened after an error")

    def _check_space(self, items: int) -> None:
        """Refuse a write the disk has no room for: clearer than SQLite's error, and it never starts."""
        if self._min_free_bytes <= 0:
            return  # checking is off (tests of how a failed write is survived)
        try:
            stat = os.statvfs(self._path)
        except OSError:
            return  # cannot tell: let the write try (a failure is handled too)
        free = stat.f_bavail * stat.f_frsize
        needed = self._min_free_bytes + items * _FREE_PER_ITEM
        if free < needed:
            raise HomeplmError(
                f"the disk holding the memory ({self._path}) is full: {_size(free)} free, "
                f"{_size(needed)} needed; free some space and try again",
                code="disk_full",
            )

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
        if items:
            self._check_space(len(items))
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
            self._disconnect()
        finally:
            self._lock.release()


def _drop_cached_system(path: Path) -> None:
    """chromadb keeps one System per path in a class-level cache, and one whose start failed (say, on a
    full disk) stays there: every later client on the path would get the broken one. We hold the path's
    lock, so the cached one is ours to drop."""
    from chromadb.api.shared_system_client import SharedSystemClient

    system = SharedSystemClient._identifier_to_system.pop(str(path), None)
    SharedSystemClient._identifier_to_refcount.pop(str(path), None)
    if system is not None:
        with contextlib.suppress(Exception):
            system.stop()


def _size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB" if size >= 1024 * 1024 else f"{size // 1024} KiB"


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
