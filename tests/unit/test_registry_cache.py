"""The registry cache answers from memory only while the issuance log says nothing it read changed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from verify_app.freshness import Generation, RegistryCache, usccs_of_leaves


class FakeGeneration(Generation):
    def __init__(self) -> None:
        self.value: int | None = 0

    def current(self) -> int | None:
        return self.value


@pytest.fixture
def setup() -> tuple[FakeGeneration, dict[int, str], RegistryCache]:
    gen = FakeGeneration()
    leaves: dict[int, str] = {}  # leaf index -> the USCC it names

    def changed(start: int, end: int) -> set[str] | None:
        return {leaves[i] for i in range(start, end)}

    return gen, leaves, RegistryCache(gen, changed)


def test_a_value_is_reused_until_a_leaf_names_its_entity(setup: tuple[FakeGeneration, dict[int, str],
                                                                        RegistryCache]) -> None:
    gen, leaves, cache = setup
    reads: list[str] = []

    def load(value: str) -> object:
        return lambda: reads.append(value) or value

    assert cache.get("A", "k", load("a1")) == "a1"
    assert cache.get("A", "k", load("never")) == "a1"
    assert cache.get("B", "k", load("b1")) == "b1"
    leaves[0] = "B"  # a change to B: A stays cached, B is read again
    gen.value = 1
    assert cache.get("A", "k", load("never")) == "a1"
    assert cache.get("B", "k", load("b2")) == "b2"
    assert reads == ["a1", "b1", "b2"]


def test_nothing_is_filed_when_the_log_moved_during_the_read(setup: tuple[FakeGeneration, dict[int, str],
                                                                           RegistryCache]) -> None:
    gen, leaves, cache = setup
    cache.get("A", "k", lambda: "warm")  # the cache is at generation 0

    def racing_load() -> str:
        leaves[0] = "A"  # A changes while it is being read; another thread sees it first
        gen.value = 1
        cache.get("Z", "k", lambda: "z")
        return "maybe-stale"

    gen.value = 0
    cache.get("A", "other", racing_load)
    assert cache.get("A", "other", lambda: "fresh") == "fresh"


def test_without_a_generation_nothing_is_cached(setup: tuple[FakeGeneration, dict[int, str],
                                                              RegistryCache]) -> None:
    gen, _, cache = setup
    gen.value = None  # the database is away, or in memory
    assert cache.get("A", "k", lambda: 1) == 1
    assert cache.get("A", "k", lambda: 2) == 2


def test_too_many_changes_forget_everything() -> None:
    gen = FakeGeneration()
    cache = RegistryCache(gen, lambda start, end: None)
    cache.get("A", "k", lambda: 1)
    gen.value = 5000
    assert cache.get("A", "k", lambda: 2) == 2


def test_bounded_by_entities() -> None:
    cache = RegistryCache(FakeGeneration(), lambda start, end: set(), max_entities=2)
    for name in "ABC":
        cache.get(name, "k", lambda name=name: name)
    assert cache.get("A", "k", lambda: "reloaded") == "reloaded"
    assert cache.get("C", "k", lambda: "never") == "C"


def test_generation_reads_the_log_size_on_its_own_connection(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE log_head (id INTEGER PRIMARY KEY, size INTEGER, root BLOB)")
        c.execute("INSERT INTO log_head VALUES (1, 7, x'00')")
    gen = Generation(create_engine(f"sqlite:///{db}"))
    assert gen.current() == 7
    with sqlite3.connect(db) as c:
        c.execute("UPDATE log_head SET size = 8")
    assert gen.current() == 8  # committed elsewhere, seen at once
    assert Generation(create_engine("sqlite://")).current() is None  # in memory: no cache


def test_a_leaf_that_names_no_entity_makes_the_cache_forget_everything() -> None:
    """A leaf that is not a registry change of one entity (no ``uscc``, not JSON) cannot say what
    changed: the answer is "everything", never a crash of the verification that read it."""
    assert usccs_of_leaves([(0, b'{"uscc":"A"}'), (1, b'{"uscc":"B","action":"change"}')]) == {"A", "B"}
    assert usccs_of_leaves([(0, b'{"uscc":"A"}'), (1, b'{"action":"test"}')]) is None
    assert usccs_of_leaves([(0, b"not json")]) is None
    assert usccs_of_leaves([(0, b"[1, 2]")]) is None
