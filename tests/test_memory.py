"""Household memory logic on fakes: ranking, privacy, forgetting, expiry, export and import."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from homeplm.config.schema import MemorySettings
from homeplm.core.errors import HomeplmError
from homeplm.memory.fake import HashEmbedder, InMemoryStore
from homeplm.memory.jsonl import FACT_PROMPT, FACT_REPLY, export_items, import_items
from homeplm.memory.ranking import rank
from homeplm.memory.service import HouseholdMemory
from homeplm.memory.types import MemoryItem, MemoryKind
from homeplm.memory.worker import MemoryUnavailable
from tests.fakes import Clock

DAY = 86400.0
T0 = 1_700_000_000.0


def make_memory(clock: Clock | None = None, **settings) -> HouseholdMemory:
    return HouseholdMemory(InMemoryStore(HashEmbedder()), MemorySettings(**settings), clock or Clock())


def item(id_: str, *, created_at: float = T0, kind: MemoryKind = MemoryKind.FACT) -> MemoryItem:
    return MemoryItem(id=id_, kind=kind, text=f"text {id_}", created_at=created_at)


def rank_default(candidates, now=T0, **kw):
    args = {"min_similarity": 0.35, "recency_weight": 0.05, "half_life_days": 30.0, "limit": 4, **kw}
    return rank(candidates, now, **args)


# ranking


def test_rank_drops_candidates_below_the_cut_off() -> None:
    hits = rank_default([(item("a"), 0.9), (item("b"), 0.349), (item("c"), 0.35)])
    assert [h.item.id for h in hits] == ["a", "c"]
    assert hits[0].similarity == 0.9
    assert hits[0].score == pytest.approx(0.95)


def test_rank_prefers_recent_items_at_equal_similarity() -> None:
    old, new = item("old", created_at=T0 - 60 * DAY), item("new", created_at=T0 - DAY)
    hits = rank_default([(old, 0.6), (new, 0.6)])
    assert [h.item.id for h in hits] == ["new", "old"]
    assert hits[1].score == pytest.approx(0.6 + 0.05 * 0.25)  # two half-lives old


def test_recency_is_only_a_small_bonus() -> None:
    old, new = item("old", created_at=T0 - 365 * DAY), item("new", created_at=T0)
    hits = rank_default([(new, 0.5), (old, 0.6)])
    assert [h.item.id for h in hits] == ["old", "new"]


def test_rank_limit() -> None:
    candidates = [(item(str(i)), 0.5 + i / 100) for i in range(10)]
    assert [h.item.id for h in rank_default(candidates, limit=3)] == ["9", "8", "7"]
    assert rank_default(candidates, limit=0) == []


# embedder and store


def test_hash_embedder_is_deterministic_normalised_and_word_sensitive() -> None:
    embedder = HashEmbedder()
    a, b, c, d = embedder.embed(
        ["My sister's birthday is May 3", "When is my sister's birthday?", "Turn on the kitchen light", ""]
    )
    assert a.shape == (64,) and a.dtype == np.float32
    assert np.allclose([np.linalg.norm(v) for v in (a, b, c, d)], 1.0)
    assert np.array_equal(a, HashEmbedder().embed(["My sister's birthday is May 3"])[0])
    assert float(a @ b) > 0.6 > 0.2 > float(a @ c)


def test_in_memory_store_filters_kinds_and_sorts_items_by_age() -> None:
    store = InMemoryStore(HashEmbedder())
    store.add([item("b", created_at=T0 + 1), item("a", created_at=T0, kind=MemoryKind.EXCHANGE), item("c")])
    assert [i.id for i in store.items()] == ["a", "c", "b"]
    assert [i.id for i in store.items(kind=MemoryKind.EXCHANGE)] == ["a"]
    found = store.search("text a", limit=5, kinds=[MemoryKind.EXCHANGE])
    assert [i.id for i, _ in found] == ["a"]
    assert store.delete(["a", "missing", "a"]) == 1
    assert store.count() == 2


# remembering and recalling


def test_remember_and_recall() -> None:
    memory = make_memory()
    fact = memory.remember_fact("  My sister's birthday is May 3 ", speaker="anna", room="kitchen")
    memory.remember_fact("The bins go out on Tuesday evening")
    memory.record_exchange("What is the garage door code?", "It is 4711.", route="llm", speaker="ben")
    assert fact is not None
    assert (fact.kind, fact.text, fact.speaker, fact.room, fact.source) == (
        MemoryKind.FACT,
        "My sister's birthday is May 3",
        "anna",
        "kitchen",
        "voice",
    )
    assert len(fact.id) == 32 and fact.created_at == T0
    hits = memory.recall("When is my sister's birthday?")
    assert [h.item.id for h in hits] == [fact.id]  # the others are below the relevance cut-off
    assert memory.recall("garage door code")[0].item.question == "What is the garage door code?"
    assert memory.recall("garage door code", kinds=[MemoryKind.FACT]) == []
    assert memory.count() == 3


def test_recall_is_empty_when_disabled_or_no_results_wanted() -> None:
    memory = make_memory(max_results=0)
    memory.remember_fact("My sister's birthday is May 3")
    assert memory.recall("sister birthday") == []
    assert len(memory.search("sister birthday", limit=5)) == 1  # search has no cut-off


def test_private_mode_stores_nothing_but_still_recalls() -> None:
    memory = make_memory()
    memory.remember_fact("My sister's birthday is May 3")
    memory.private = True
    assert memory.remember_fact("The garage door code is 4711") is None
    assert memory.record_exchange("What time is it?", "Three o'clock.") is None
    assert memory.count() == 1
    assert memory.recall("sister birthday")
    memory.private = False
    assert memory.remember_fact("The garage door code is 4711") is not None

    assert make_memory(private=True).remember_fact("anything at all") is None
    disabled = make_memory(enabled=False)
    assert disabled.remember_fact("anything at all") is None
    assert disabled.record_exchange("q?", "a.") is None


def test_store_exchanges_off_keeps_facts_only() -> None:
    memory = make_memory(store_exchanges=False)
    assert memory.record_exchange("What time is it?", "Three o'clock.") is None
    assert memory.remember_fact("The bins go out on Tuesday") is not None
    assert memory.count() == 1


def test_exchanges_without_an_answer_are_skipped() -> None:
    memory = make_memory()
    assert memory.record_exchange("What time is it?", "   ") is None
    exchange = memory.record_exchange("What time is it?", "Three o'clock.", route="clock", source="cli")
    assert exchange is not None
    assert (exchange.question, exchange.answer, exchange.route, exchange.source) == (
        "What time is it?",
        "Three o'clock.",
        "clock",
        "cli",
    )


# forgetting and expiry


def test_forget_about_removes_facts_and_exchanges_on_the_topic_only() -> None:
    memory = make_memory()
    fact = memory.remember_fact("My sister's birthday is May 3")
    exchange = memory.record_exchange("When is my sister's birthday?", "On May 3.")
    other_sister = memory.remember_fact("Our sister city is Lyon")  # shares the word: goes too
    keep = [
        memory.remember_fact("The bins go out on Tuesday evening"),
        memory.record_exchange("What is the garage door code?", "It is 4711."),
    ]
    deleted = memory.forget_about("my sister")
    assert {i.id for i in deleted if i} == {i.id for i in (fact, exchange, other_sister) if i}
    assert {i.id for i in memory.list_items()} == {i.id for i in keep if i}


def test_forget_about_needs_all_the_topics_words_or_a_close_meaning() -> None:
    memory = make_memory()
    code = memory.record_exchange("What is the garage door code?", "It is 4711.")
    memory.remember_fact("The garage roof leaks")
    memory.remember_fact("The wifi code is on the router")
    assert [i.id for i in memory.forget_about("garage code") if i] == [code.id if code else ""]
    assert memory.count() == 2
    assert memory.forget_about("") == []
    assert memory.forget_about("penguins") == []


def test_forget_similarity_is_a_parameter() -> None:
    memory = HouseholdMemory(InMemoryStore(HashEmbedder()), MemorySettings(), Clock(), forget_similarity=-1.0)
    memory.remember_fact("The bins go out on Tuesday")
    assert len(memory.forget_about("penguins")) == 1


def test_forget_ids_and_the_last_exchange() -> None:
    clock = Clock()
    memory = make_memory(clock)
    first = memory.record_exchange("q one?", "answer one")
    clock.now += 1
    last = memory.record_exchange("q two?", "answer two")
    clock.now += 1
    fact = memory.remember_fact("a fact")
    assert first and last and fact
    assert memory.forget_last_exchange() == last
    assert memory.forget_ids([fact.id, "missing", fact.id]) == [fact]
    assert [i.id for i in memory.list_items()] == [first.id]
    assert memory.forget_last_exchange() == first
    assert memory.forget_last_exchange() is None


def test_expire_deletes_items_past_retention() -> None:
    clock = Clock()
    memory = make_memory(clock, retention_days=30)
    old = memory.remember_fact("an old fact")
    clock.now += 20 * DAY
    young = memory.record_exchange("a young question?", "a young answer")
    clock.now += 15 * DAY
    assert memory.expire() == 1
    assert [i.id for i in memory.list_items()] == [young.id if young else ""]
    assert old is not None and memory.store.get(old.id) is None
    keep_all = make_memory(clock, retention_days=0)
    keep_all.remember_fact("forever")
    clock.now += 10_000 * DAY
    assert keep_all.expire() == 0 and keep_all.count() == 1


def test_list_items_newest_first_with_kind_and_limit() -> None:
    clock = Clock()
    memory = make_memory(clock)
    ids = []
    for n in range(4):
        clock.now += 1
        made = memory.remember_fact(f"fact {n}") if n % 2 else memory.record_exchange(f"q{n}?", "a")
        ids.append(made.id if made else "")
    assert [i.id for i in memory.list_items()] == ids[::-1]
    assert [i.id for i in memory.list_items(MemoryKind.FACT, limit=1)] == [ids[3]]


# export and import


def full_item(n: int) -> MemoryItem:
    return MemoryItem(
        id=f"id{n}",
        kind=MemoryKind.EXCHANGE,
        text=f"Q: question {n} – ünïcode?\nA: answer {n}",
        created_at=T0 + n + 0.123456789,
        speaker="anna",
        room=None,
        source="mqtt",
        route="llm",
        question=f"question {n} – ünïcode?",
        answer=f"answer {n}",
        extra={"lang": "en", "note": 'quotes " and \\'},
    )


def test_export_then_import_into_an_empty_store_is_lossless(tmp_path) -> None:
    memory = make_memory()
    memory.remember_fact("My sister's birthday is May 3", speaker="anna")
    memory.store.add([full_item(1), full_item(2)])
    path = tmp_path / "backup.jsonl"
    assert memory.export_jsonl(path) == 3
    assert all(json.loads(line)["v"] == 1 for line in path.read_text().splitlines())
    assert path.stat().st_mode & 0o077 == 0

    fresh = make_memory()
    assert fresh.import_jsonl(path) == 3
    assert fresh.store.items() == memory.store.items()
    assert fresh.import_jsonl(path) == 0  # idempotent
    assert fresh.import_items([full_item(3), full_item(3), full_item(1)]) == 1
    assert fresh.count() == 4
    fresh.forget_ids(["id3"])
    assert fresh.count() == 3
    assert fresh.recall("sister's birthday")  # imported items are searchable


def test_a_corrupt_import_line_is_named_and_nothing_is_imported(tmp_path) -> None:
    good = json.dumps({"v": 1, "id": "x", "kind": "fact", "text": "fine", "created_at": T0})
    path = tmp_path / "bad.jsonl"
    memory = make_memory()
    for bad, why in [
        ("{not json", "line 3"),
        (json.dumps({"v": 1, "id": "y", "kind": "rumour", "text": "t", "created_at": T0}), "kind"),
        (json.dumps({"v": 1, "id": "y", "kind": "fact", "text": "t"}), "created_at"),
        (json.dumps({"v": 2, "id": "y", "kind": "fact", "text": "t", "created_at": T0}), "version"),
        (json.dumps({"v": 1, "id": "y", "kind": "fact", "text": "t", "created_at": T0, "x": 1}), "x"),
        (good, "twice"),
    ]:
        path.write_text(f"{good}\n\n{bad}\n")
        with pytest.raises(HomeplmError, match=why) as info:
            memory.import_jsonl(path)
        assert info.value.code == "memory_import"
        assert "line 3" in str(info.value)
        assert memory.count() == 0


def test_export_items_round_trip_without_a_store(tmp_path) -> None:
    items = [full_item(1), replace(full_item(2), kind=MemoryKind.FACT, question=None, extra={})]
    export_items(items, tmp_path / "x.jsonl")
    assert import_items(tmp_path / "x.jsonl") == items


def test_dataset_export_shape(tmp_path) -> None:
    clock = Clock()
    memory = make_memory(clock)
    memory.remember_fact("My sister's birthday is May 3")
    clock.now += 1
    memory.record_exchange("When do the bins go out?", "On Tuesday evening.")
    path = tmp_path / "train.jsonl"
    assert memory.export_dataset(path, "You are Jarvis.") == 2
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row in rows:
        assert list(row) == ["messages"]
        assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
        assert row["messages"][0]["content"] == "You are Jarvis."
    fact, exchange = rows
    assert fact["messages"][1]["content"] == FACT_PROMPT.format(fact="My sister's birthday is May 3")
    assert fact["messages"][2]["content"] == FACT_REPLY
    assert exchange["messages"][1:] == [
        {"role": "user", "content": "When do the bins go out?"},
        {"role": "assistant", "content": "On Tuesday evening."},
    ]


# a store that does not answer


class BlockingStore(InMemoryStore):
    """add() waits until released, as a store stuck in a call (but letting other threads run)."""

    def __init__(self) -> None:
        super().__init__(HashEmbedder())
        self.release = threading.Event()

    def add(self, items) -> None:
        if any(i.text == "block" for i in items):
            self.release.wait(30)
        super().add(items)


def test_a_stuck_store_costs_callers_a_bounded_wait_and_closing_never_waits_on_it() -> None:
    store = BlockingStore()
    memory = HouseholdMemory(store, MemorySettings(), Clock(), timeout_s=0.3)
    kept = memory.remember_fact("The bins go out on Monday")
    started = time.monotonic()
    with pytest.raises(MemoryUnavailable, match="did not finish storing a fact within 0 s"):
        memory.remember_fact("block")
    assert time.monotonic() - started < 1.0
    time.sleep(0.05)
    assert memory.unavailable() and "has not answered" in memory.unavailable()
    started = time.monotonic()
    for call in (memory.count, memory.stats, lambda: memory.recall("bins")):
        with pytest.raises(MemoryUnavailable, match="restart homeplm"):
            call()  # fails at once instead of queueing behind the stuck call
    assert time.monotonic() - started < 0.2
    store.release.set()  # it returns: available again, and the late write did complete
    deadline = time.monotonic() + 5
    while memory.unavailable() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert memory.stats() == (2, 2) and kept is not None
    store.release.clear()
    with pytest.raises(MemoryUnavailable):
        memory.remember_fact("block")
    started = time.monotonic()
    memory.close()  # the shutdown goes on: it does not wait for the stuck call
    assert time.monotonic() - started < 0.5 and not store.closed
    with pytest.raises(MemoryUnavailable, match="closed"):
        memory.count()
    store.release.set()


def test_calls_behind_a_busy_store_give_up_without_running_later() -> None:
    store = BlockingStore()
    memory = HouseholdMemory(store, MemorySettings(), Clock(), timeout_s=1.0)
    written: list[MemoryItem | None] = []
    writer = threading.Thread(target=lambda: written.append(memory.remember_fact("block")))
    writer.start()
    time.sleep(0.1)
    with pytest.raises(MemoryUnavailable, match="busy"):
        memory._run(lambda: store.add([item("late")]), "storing", timeout_s=0.2)
    store.release.set()  # the first write finishes within its caller's wait
    writer.join()
    assert written[0] is not None and store.get(written[0].id) is not None
    assert store.get("late") is None  # its caller was told it failed: it never ran
    memory.close()
    assert store.closed
