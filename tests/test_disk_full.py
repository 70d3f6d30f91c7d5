"""A full disk, then freed space: the memory reports the error and works again, nothing is lost.

Real tmpfs mounts (root only; skipped otherwise), a real chromadb store, a real daemon and CLI.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import json
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from homeplm.config.schema import MemorySettings
from homeplm.core.errors import HomeplmError
from homeplm.memory.fake import HashEmbedder
from homeplm.memory.isolated import IsolatedStore
from homeplm.memory.service import HouseholdMemory
from homeplm.memory.types import MemoryItem, MemoryKind, MemoryStore
from homeplm.memory.worker import MemoryUnavailable
from tests.harness import StartDaemon, homeplm_cli

HERE = f"{__name__}"


def _mount_tmpfs(path: Path, size: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (root needed): {done.stderr.strip() or done.returncode}")


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB filesystem of our own."""
    path = tmp_path / "disk"
    _mount_tmpfs(path, "2m")
    try:
        yield path
    finally:
        # Lazy: a store process killed a moment ago may still hold a file there.
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk is full; deleting it frees the space again."""
    filler = disk / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):  # closing flushes, and there is no room
                out.close()
    assert os.statvfs(disk).f_bavail == 0
    return filler


def item(text: str) -> MemoryItem:
    return MemoryItem(uuid.uuid4().hex, MemoryKind.FACT, text, time.time())


# Openers for IsolatedStore: they run in its child process.


def store_without_margin(root: str) -> MemoryStore:
    """No free-space check: writes reach chromadb and fail inside it, with SQLITE_FULL."""
    from homeplm.backends.chroma_store import ChromaStore

    path = Path(root)
    return ChromaStore(path / "memory", HashEmbedder(), lock_path=path / "memory.lock", min_free_bytes=0)


class _StuckOnWord:
    """A store whose add() of the text "hang" blocks in native code holding the GIL, as a wedged
    chromadb call does (a Python-level wait would let other threads run)."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)

    def add(self, items: list[MemoryItem]) -> None:
        if any(i.text == "hang" for i in items):
            ctypes.PyDLL(None).sleep(3600)
        self._store.add(items)


def store_that_can_hang(root: str) -> MemoryStore:
    return _StuckOnWord(store_without_margin(root))  # type: ignore[return-value]


# -- the store -----------------------------------------------------------------------------------------


def test_writes_failing_inside_chromadb_on_a_full_disk_do_not_wedge_it(small_disk: Path) -> None:
    """The reported freeze: the first write after the space came back hung for good (sqlx kept a
    connection in a transaction after SQLite's rollback on SQLITE_FULL); it did in 1 to 3 of 8 cycles.
    In a child process a regression shows as an error after the timeout, not as a frozen test run."""
    store = IsolatedStore(f"{HERE}:store_without_margin", str(small_disk), call_timeout_s=10.0)
    memory = HouseholdMemory(store, MemorySettings(), timeout_s=15.0)
    try:
        confirmed = [memory.remember_fact("The bins go out on Monday.")]
        for cycle in range(10):
            filler = fill(small_disk)
            for attempt in range(2):  # the second is refused while reopening the store
                with pytest.raises(HomeplmError) as info:
                    memory.remember_fact(f"said while the disk was full {cycle}.{attempt}")
                assert info.value.code == "disk_full", info.value
                assert "free some space" in info.value.message
            filler.unlink()
            started = time.monotonic()
            confirmed.append(memory.remember_fact(f"The plumber is called Marco {cycle}."))
            assert time.monotonic() - started < 5.0
        kept = {i.id: i.text for i in memory.list_items()}
        assert {i.id: i.text for i in confirmed if i is not None} == kept  # and nothing said when full
    finally:
        memory.close()


def test_free_space_is_checked_before_writing(small_disk: Path) -> None:
    from homeplm.backends.chroma_store import ChromaStore

    store = ChromaStore(small_disk / "memory", HashEmbedder(), lock_path=small_disk / "memory.lock")
    try:
        store.add([item("The bins go out on Monday.")])  # 1.6 MB free: enough
        filler = fill(small_disk)
        with pytest.raises(HomeplmError) as info:
            store.add([item("The plumber is called Marco.")])
        assert info.value.code == "disk_full" and "0 KiB free, 1.0 MiB needed" in info.value.message
        assert [i.text for i in store.items()] == ["The bins go out on Monday."]  # reads still work
        filler.unlink()
        store.add([item("The plumber is called Marco.")])
        assert store.count() == 2
    finally:
        store.close()


def test_a_store_call_hanging_with_the_gil_held_costs_an_error_not_the_process(tmp_path: Path) -> None:
    beats: list[float] = []
    stop = threading.Event()

    def heartbeat() -> None:  # stops if anything in this process holds the GIL
        while not stop.wait(0.05):
            beats.append(time.monotonic())

    store = IsolatedStore(f"{HERE}:store_that_can_hang", str(tmp_path), call_timeout_s=2.0)
    memory = HouseholdMemory(store, MemorySettings(), timeout_s=3.0)
    threading.Thread(target=heartbeat, daemon=True).start()
    try:
        kept = memory.remember_fact("The bins go out on Monday.")
        first_pid = store.pid
        started = time.monotonic()
        with pytest.raises(MemoryUnavailable) as info:
            memory.remember_fact("hang")
        took = time.monotonic() - started
        assert 1.5 < took < 8.0, took
        assert "restarted" in info.value.message or "did not finish" in info.value.message
        gaps = [b - a for a, b in itertools.pairwise(beats) if b > started]
        assert gaps and max(gaps) < 1.0  # this process ran on all the while (frozen: ~2 s)
        # The stuck process was killed: a new one has the store, with what was confirmed before.
        deadline = time.monotonic() + 10
        while memory.unavailable() and time.monotonic() < deadline:
            time.sleep(0.1)
        again = memory.remember_fact("The plumber is called Marco.")
        assert store.pid != first_pid
        assert {i.id for i in memory.list_items()} == {kept.id, again.id}  # type: ignore[union-attr]
    finally:
        stop.set()
        memory.close()
    assert store.pid is None


# -- the daemon ----------------------------------------------------------------------------------------


def test_daemon_on_a_full_disk_answers_recovers_and_stops(
    small_disk: Path, start_daemon: StartDaemon
) -> None:
    """The probe's steps through the real daemon and CLI: fill the state dir's disk, remember (a clean
    error), free the space, remember again (works at once), status answers, SIGTERM ends it."""

    def cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return homeplm_cli(*args, state_dir=small_disk, timeout=timeout)

    daemon = start_daemon(state_dir=small_disk)
    daemon.wait_for("control socket")
    assert cli("memory", "remember", "The bins go out on Monday.").returncode == 0

    filler = fill(small_disk)
    refused = cli("memory", "remember", "Said while the disk was full.")
    assert refused.returncode == 1 and "is full" in refused.stderr, refused.stderr
    assert json.loads(cli("status", "--json").stdout)["memory"]["items"] == 1
    filler.unlink()

    started = time.monotonic()
    again = cli("memory", "remember", "The plumber is called Marco.")
    assert again.returncode == 0, again.stderr
    assert time.monotonic() - started < 10.0  # a CLI start included
    status = cli("status", "--json", timeout=15)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["memory"]["items"] == 2
    listed = {i["text"] for i in json.loads(cli("memory", "list", "--json").stdout)}
    assert listed == {"The bins go out on Monday.", "The plumber is called Marco."}
    assert daemon.stop() == 0
