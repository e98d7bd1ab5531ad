"""Closed cases and withdrawn resources leave the writer's aggregate cache once stored, so a
long-running writer holds what is live; a later command on one reads it back and is right."""

from __future__ import annotations

from typing import Any

from writer_fakes import Store, Tally

from services.runtime.outcomes import Accepted


def retired_at_100(aggregate: Any) -> bool:
    """A stand-in for a closed case: a tally that reached 100."""
    return isinstance(aggregate, Tally) and aggregate.total >= 100


def cached(store: Store) -> set[Any]:
    cache = store.app.repository.cache
    assert cache is not None
    return set(cache.cache)


def test_a_retired_aggregate_leaves_the_cache_once_its_batch_is_stored() -> None:
    store = Store()
    store.writer.retired = retired_at_100
    live, done = store.started_tally(), store.started_tally()

    answers = store.run(store.adding(live, 5), store.adding(done, 100))

    assert all(isinstance(a, Accepted) for a in answers)
    assert live in cached(store) and done not in cached(store)


def test_a_command_on_a_retired_aggregate_reads_it_back_from_the_store() -> None:
    store = Store()
    store.writer.retired = retired_at_100
    done = store.started_tally()
    store.run(store.adding(done, 100))

    [answered] = store.run(store.adding(done, 1))

    assert isinstance(answered, Accepted) and answered.version == 3
    assert store.stored_tally(done).total == 101


