"""Decoded snapshots are kept within a byte budget and every replay folds on its own copy."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, Snapshot, event

from services.audit.snapshots import DecodedSnapshots, Loaded, thawed


class Shelf(Aggregate):
    @event("ShelfBuilt")
    def __init__(self, books: list[dict[str, Any]]) -> None:
        self.books = books

    @event("BookAdded")
    def add(self, title: str) -> None:
        self.books.append({"title": title, "tags": []})


def snapshot_of(shelf: Shelf) -> Snapshot:
    return Snapshot.take(shelf)


def test_thawed_copies_dicts_and_lists_and_shares_everything_else() -> None:
    when, who = datetime(2022, 3, 1, tzinfo=UTC), uuid4()
    value = {"journal": [{"at": when, "by": who, "tags": ["a"]}], "count": 3}

    copy = thawed(value)

    assert copy == value
    assert copy is not value and copy["journal"] is not value["journal"]
    assert copy["journal"][0] is not value["journal"][0]
    assert copy["journal"][0]["tags"] is not value["journal"][0]["tags"]
    assert copy["journal"][0]["at"] is when and copy["journal"][0]["by"] is who


def test_an_aggregate_folded_on_does_not_change_the_kept_snapshot() -> None:
    shelf = Shelf(books=[{"title": "Kobzar", "tags": ["poems"]}])
    kept = DecodedSnapshots()
    loads: list[int] = []

    def load() -> Loaded:
        loads.append(1)
        return snapshot_of(shelf), 100

    first = kept.aggregate(shelf.id, 1, load)
    first.books.append({"title": "later"})
    first.books[0]["tags"].append("changed")
    second = kept.aggregate(shelf.id, 1, load)

    assert second is not first
    assert second.books == [{"title": "Kobzar", "tags": ["poems"]}]
    assert second.version == 1 and second.id == shelf.id
    assert len(loads) == 1


def test_a_missing_snapshot_is_none_and_not_kept() -> None:
    kept = DecodedSnapshots()

    assert kept.aggregate(uuid4(), 5, lambda: None) is None
    assert kept.kept_bytes == 0


def test_the_least_recently_used_snapshot_goes_first_when_over_budget() -> None:
    shelves = {name: Shelf(books=[{"title": name, "tags": []}]) for name in "abc"}
    kept = DecodedSnapshots(max_bytes=250)
    loads: list[str] = []

    def get(name: str) -> Any:
        def load() -> Loaded:
            loads.append(name)
            return snapshot_of(shelves[name]), 100
        return kept.aggregate(shelves[name].id, 1, load)

    get("a"), get("b"), get("a"), get("c")  # over budget: b is the least recently used
    assert kept.kept_bytes == 200
    get("a"), get("c")
    assert loads == ["a", "b", "c"]
    get("b")
    assert loads == ["a", "b", "c", "b"]


def test_a_snapshot_larger_than_the_budget_is_decoded_but_not_kept() -> None:
    shelf = Shelf(books=[])
    kept = DecodedSnapshots(max_bytes=10)
    loads: list[UUID] = []

    def load() -> Loaded:
        loads.append(shelf.id)
        return snapshot_of(shelf), 11

    assert kept.aggregate(shelf.id, 1, load).books == []
    assert kept.aggregate(shelf.id, 1, load).books == []
    assert len(loads) == 2 and kept.kept_bytes == 0
