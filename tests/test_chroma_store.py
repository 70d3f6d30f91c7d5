"""The real chromadb store: persistence, the process lock, no network, surviving kill -9."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from homeplm.config.schema import MemorySettings, PathsSettings, Settings
from homeplm.core.errors import HomeplmError
from homeplm.memory.fake import HashEmbedder, InMemoryStore
from homeplm.memory.service import open_memory
from homeplm.memory.types import MemoryItem, MemoryKind

pytestmark = pytest.mark.real
REPO = Path(__file__).resolve().parent.parent
T0 = 1_700_000_000.0
SENTENCES = [
    "My sister's birthday is May 3",
    "The bins go out on Tuesday evening",
    "The garage door code is 4711",
    "Emma is allergic to peanuts",
    "Grandma visits every second Sunday",
    "The wifi password is on the fridge",
]


def chroma_store(path: Path, embedder=None):
    from homeplm.backends.chroma_store import ChromaStore

    return ChromaStore(path, embedder or HashEmbedder())


def facts(texts=SENTENCES) -> list[MemoryItem]:
    return [
        MemoryItem(id=f"f{n}", kind=MemoryKind.FACT, text=t, created_at=T0 + n, speaker="anna")
        for n, t in enumerate(texts)
    ]


def exchange(n: int = 0) -> MemoryItem:
    return MemoryItem(
        id=f"x{n}",
        kind=MemoryKind.EXCHANGE,
        text="Q: When do the bins go out?\nA: On Tuesday.",
        created_at=T0 + 100 + n + 0.123456789,
        room="kitchen",
        source="mqtt",
        route="llm",
        question="When do the bins go out?",
        answer="On Tuesday.",
        extra={"lang": "en", "quote": '"'},
    )


def test_round_trip_matches_the_reference_store(tmp_path) -> None:
    store, reference = chroma_store(tmp_path / "memory"), InMemoryStore(HashEmbedder())
    try:
        items = [*facts(), exchange()]
        for s in (store, reference):
            s.add(items)
        assert store.count() == len(items)
        assert store.items() == reference.items() == sorted(items, key=lambda i: i.created_at)
        assert store.items(kind=MemoryKind.EXCHANGE) == [exchange()]  # every field, None ones too
        assert store.get("x0") == exchange() and store.get("nope") is None
        for query in ["When is my sister's birthday?", "bins", "garage code"]:
            got, want = store.search(query, limit=3), reference.search(query, limit=3)
            assert [i.id for i, _ in got] == [i.id for i, _ in want]
            assert np.allclose([s for _, s in got], [s for _, s in want], atol=1e-5)
        assert store.search("sister birthday", limit=3)[0][0].id == "f0"
        assert [i.id for i, _ in store.search("bins", limit=10, kinds=[MemoryKind.EXCHANGE])] == ["x0"]
        assert len(store.search("bins", limit=100)) == len(items)  # capped at the count
        assert store.delete(["f0", "f0", "missing"]) == 1
        assert store.count() == len(items) - 1
        store.add([facts()[0]])  # same id again: replaced, not doubled
        store.add([facts()[0]])
        assert store.count() == len(items)
        store.wipe()
        assert store.count() == 0 and store.items() == [] and store.search("bins", limit=3) == []
        store.add(facts())
        assert store.count() == len(SENTENCES)
    finally:
        store.close()


def test_reopen_after_close_keeps_items(tmp_path) -> None:
    store = chroma_store(tmp_path / "memory")
    store.add([*facts(), exchange()])
    store.close()
    store.close()  # idempotent
    store = chroma_store(tmp_path / "memory")
    try:
        assert store.items() == [*facts(), exchange()]
        assert store.search("garage door code", limit=1)[0][0].id == "f2"
    finally:
        store.close()


def test_a_new_embedder_dimension_re_embeds_everything(tmp_path) -> None:
    store = chroma_store(tmp_path / "memory", HashEmbedder(64))
    store.add(facts())
    store.close()
    store = chroma_store(tmp_path / "memory", HashEmbedder(128))
    try:
        assert store.items() == facts()
        assert store.search("the garage door code", limit=1)[0][0].id == "f2"
    finally:
        store.close()


def test_a_second_open_while_locked_is_refused(tmp_path) -> None:
    store = chroma_store(tmp_path / "memory")
    try:
        with pytest.raises(HomeplmError, match="open in another homeplm process") as info:
            chroma_store(tmp_path / "memory")
        assert info.value.code == "memory_locked"
        child = _run_child(f"chroma_store(Path({str(tmp_path / 'memory')!r}))")
        assert "memory_locked" in child.stdout, child.stderr
    finally:
        store.close()
    chroma_store(tmp_path / "memory").close()  # free again once closed


def test_no_network_in_process(tmp_path, monkeypatch) -> None:
    attempts: list[object] = []
    real_connect = socket.socket.connect

    def guarded(self, address):
        if self.family != socket.AF_UNIX:
            attempts.append(address)
            raise OSError("network disabled in this test")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: attempts.append(a) or [])
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    store = chroma_store(tmp_path / "memory")
    store.add([*facts(), exchange()])
    store.search("bins", limit=3)
    store.items()
    store.delete(["f1"])
    store.wipe()
    store.close()
    assert attempts == []
    assert not (tmp_path / "home").exists()  # no telemetry id file (~/.cache/chroma)


def test_no_network_syscalls_at_all(tmp_path) -> None:
    """Rust code does not go through Python's socket module: watch the system calls instead."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    trace = tmp_path / "trace.txt"
    code = """
        s = chroma_store(Path(sys.argv[1]))
        s.add(facts()); s.search("bins", limit=3); s.items(); s.delete(["f1"]); s.wipe(); s.close()
        print("done")
    """
    prefix = ["strace", "-f", "-qq", "-e", "trace=socket,connect,sendto,sendmsg", "-o", str(trace)]
    child = _run_child(code, str(tmp_path / "memory"), prefix=prefix)
    if child.returncode != 0 and "ptrace" in child.stderr:
        pytest.skip("strace is not permitted here")
    assert "done" in child.stdout, child.stderr
    network = [line for line in trace.read_text().splitlines() if "AF_INET" in line]
    assert network == []


def test_open_memory_locks_the_state_dir_and_expires_at_open(tmp_path, monkeypatch) -> None:
    import homeplm.backends.factory

    monkeypatch.setattr(
        homeplm.backends.factory, "make_embedder", lambda settings: HashEmbedder(), raising=False
    )
    settings = Settings(paths=PathsSettings(state_dir=str(tmp_path / "state")))
    # In this process: the patched embedder does not reach a store process.
    with open_memory(settings, isolated=False) as memory:
        assert (tmp_path / "state" / "memory").is_dir() and (tmp_path / "state" / "memory.lock").exists()
        assert (tmp_path / "state").stat().st_mode & 0o077 == 0
        memory.store.add([replace_created(facts()[0], time.time() - 400 * 86400), facts()[1]])
        memory.remember_fact("fresh")
        with pytest.raises(HomeplmError) as info:
            open_memory(settings, isolated=False)
        assert info.value.code == "memory_locked"
    # Retention 365 days: the 400-day-old fact is gone.
    with open_memory(settings, isolated=False) as memory:
        assert sorted(i.text for i in memory.list_items()) == ["fresh"]


def test_the_store_process_holds_the_lock_and_reports_errors_as_they_were(tmp_path) -> None:
    from homeplm.memory.isolated import IsolatedStore
    from homeplm.memory.service import HouseholdMemory

    opener = "tests.test_chroma_store:chroma_store"
    store = IsolatedStore(opener, tmp_path / "memory")
    with HouseholdMemory(store, MemorySettings()) as memory:
        memory.import_items(facts())
        assert store.pid is not None and store.pid != os.getpid()
        assert memory.recall("when is my sister's birthday")[0].item == facts()[0]
        assert memory.forget_ids(["f1", "nope"]) == [facts()[1]]
        with pytest.raises(HomeplmError) as info:  # the lock is the child's: taken for this process too
            chroma_store(tmp_path / "memory")
        assert info.value.code == "memory_locked"
        second = IsolatedStore(opener, tmp_path / "memory")
        with pytest.raises(HomeplmError) as info:
            second.count()
        assert info.value.code == "memory_locked" and "another homeplm process" in info.value.message
        assert second.pid is None  # the child that could not open it is gone
    assert store.pid is None
    reopened = chroma_store(tmp_path / "memory")  # closed: the lock is free, the items are kept
    try:
        assert reopened.count() == len(SENTENCES) - 1
    finally:
        reopened.close()


def replace_created(item: MemoryItem, created_at: float) -> MemoryItem:
    from dataclasses import replace

    return replace(item, created_at=created_at)


def test_real_embedder_remember_recall_forget(tmp_path) -> None:
    """The shipped MiniLM model through the factory, if it is installed."""
    from homeplm.core.errors import ModelMissingError

    settings = Settings(paths=PathsSettings(state_dir=str(tmp_path)), memory=MemorySettings())
    try:
        memory = open_memory(settings)
    except (ModelMissingError, ImportError) as err:
        pytest.skip(f"no real embedder: {err}")
    with memory:
        for text in SENTENCES:
            memory.remember_fact(text)
        memory.record_exchange("When is my sister's birthday?", "It is on May 3.")
        memory.record_exchange("What is the garage door code?", "It is 4711.")
        assert memory.recall("When does my sister have her birthday?")[0].item.text == SENTENCES[0]
        assert memory.recall("what's the capital of France") == []
        forgotten = memory.forget_about("my sister")
        assert sorted(i.text for i in forgotten) == [
            "My sister's birthday is May 3",
            "Q: When is my sister's birthday?\nA: It is on May 3.",
        ]
        assert memory.count() == len(SENTENCES)


def _run_child(code: str, *args: str, prefix: list[str] | None = None, **kwargs):
    script = "import sys\nfrom pathlib import Path\nfrom tests.test_chroma_store import *\n"
    script += "try:\n" + textwrap.indent(textwrap.dedent(code), "    ") + "\n"
    script += "except HomeplmError as err:\n    print(err.code, err)\n"
    return subprocess.run(
        [*(prefix or []), sys.executable, "-c", script, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        **kwargs,
    )


KILL_CHILD = """
import sys, time
from pathlib import Path
from homeplm.backends.chroma_store import ChromaStore
from homeplm.memory.fake import HashEmbedder
from homeplm.memory.types import MemoryItem, MemoryKind

def item(n):
    text = f"fact number {n} about the house"
    return MemoryItem(id=f"k{n}", kind=MemoryKind.FACT, text=text, created_at=time.time())

store = ChromaStore(Path(sys.argv[1]), HashEmbedder())
prefill = int(sys.argv[2])
store.add([item(n) for n in range(prefill)])  # past chromadb's 1000-item index flush threshold
print(f"added {prefill}", flush=True)
for n in range(prefill, 1_000_000):
    store.add([item(n)])
    print(f"added {n + 1}", flush=True)
"""


@pytest.mark.parametrize("prefill", [0, 1200])
def test_kill_9_during_writes_loses_at_most_the_write_in_flight(tmp_path, prefill) -> None:
    path = tmp_path / "memory"
    child = subprocess.Popen(
        [sys.executable, "-c", KILL_CHILD, str(path), str(prefill)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    confirmed = 0
    try:
        assert child.stdout is not None
        for line in child.stdout:
            confirmed = int(line.split()[1])  # "added N": N items are in the store
            if confirmed >= prefill + 40:  # the next add is under way: kill it mid-write
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL, child.stderr.read() if child.stderr else ""
    store = chroma_store(path)
    try:
        count = store.count()
        print(f"\nkill -9 after {confirmed} confirmed adds: {count} items after reopening")
        assert count >= confirmed - 1
        ids = {i.id for i in store.items()}
        assert {f"k{n}" for n in range(confirmed - 1)} <= ids
        hits = store.search(f"fact number {confirmed - 2} about the house", limit=1)
        assert hits[0][0].id == f"k{confirmed - 2}"
        store.add(facts())  # still writable
        assert store.count() == count + len(SENTENCES)
    finally:
        store.close()


def test_search_timing_1k(tmp_path) -> None:
    embedder = HashEmbedder()
    store = chroma_store(tmp_path / "memory", embedder)
    try:
        items = [
            MemoryItem(
                id=f"t{n}", kind=MemoryKind.FACT, text=f"item {n} {SENTENCES[n % 6]}", created_at=T0 + n
            )
            for n in range(1000)
        ]
        start = time.perf_counter()
        store.add(items)
        added = time.perf_counter() - start
        times = []
        for n in range(50):
            start = time.perf_counter()
            store.search(f"query {n} {SENTENCES[n % 6]}", limit=16)
            times.append(time.perf_counter() - start)
        print(
            f"\n1k items: add {added * 1000:.0f} ms in one call; search median "
            f"{np.median(times) * 1000:.2f} ms, max {max(times) * 1000:.2f} ms (hash embedder)"
        )
    finally:
        store.close()


def test_items_and_deletes_go_page_by_page(tmp_path, monkeypatch) -> None:
    import homeplm.backends.chroma_store as chroma_module

    monkeypatch.setattr(chroma_module, "_PAGE", 4)
    store = chroma_store(tmp_path / "memory")
    try:
        many = facts([f"fact {n}" for n in range(10)])
        store.add(many)
        assert store.items() == many
        assert store.items(kind=MemoryKind.FACT) == many
        assert store.delete([i.id for i in many[:9]] + ["missing"]) == 9
        assert store.items() == many[9:]
    finally:
        store.close()
