"""The running writer pipelines: the next batch is executed while the one before waits on
its store round trip. Callers hear back only after their own batch is stored; a batch that
fails in the store is redone together with the one executed on top of it."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError
from writer_fakes import InMemoryRecorder, Store, answer

from services.runtime.outcomes import Accepted


class GatedRecorder(InMemoryRecorder):
    """Holds every insert at a gate the test opens, to keep a batch in flight; can refuse
    the next insert as a conflict, and fail the next receipt look-up as if the store were
    down."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.waiting = threading.Event()
        self.conflicts = self.outages = 0

    def insert_events(self, stored_events: Sequence[Any], **kwargs: Any) -> Any:
        self.waiting.set()
        assert self.gate.wait(timeout=10), "the test never opened the gate"
        if self.conflicts:
            self.conflicts -= 1
            raise IntegrityError("refused by the test")
        return super().insert_events(stored_events, **kwargs)

    def select_receipts(self, command_ids: list[UUID]) -> list[tuple[UUID, bytes, int | None]]:
        if self.outages:
            self.outages -= 1
            raise OperationalError("the store is down (test)")
        return super().select_receipts(command_ids)

    def hold(self) -> None:
        self.waiting.clear()
        self.gate.clear()


@pytest.fixture
def shared() -> GatedRecorder:
    return GatedRecorder()


@pytest.fixture
def running(shared: GatedRecorder) -> Iterator[Store]:
    store = Store(shared)
    store.writer.start()
    yield store
    shared.gate.set()
    store.writer.stop()


def test_the_next_batch_runs_while_the_one_before_is_stored_and_answers_after_it(
        shared: GatedRecorder, running: Store) -> None:
    tally_id = running.started_tally()
    shared.hold()
    first = running.writer.submit(running.adding(tally_id, 5))
    assert shared.waiting.wait(timeout=5)
    runs_before = running.handlers.runs

    second = running.writer.submit(running.adding(tally_id, 7))
    _eventually(lambda: running.handlers.runs == runs_before + 1)  # executed already...
    assert not first.done() and not second.done()  # ...but nobody is answered before storing

    shared.gate.set()
    stored_first, stored_second = answer(first), answer(second)
    assert isinstance(stored_first, Accepted) and isinstance(stored_second, Accepted)
    assert (stored_first.version, stored_second.version) == (2, 3)
    assert stored_first.position is not None and stored_second.position is not None
    assert stored_first.position < stored_second.position
    assert running.stored_tally(tally_id).total == 12


def test_a_batch_that_fails_in_the_store_is_redone_with_the_batch_run_on_top_of_it(
        shared: GatedRecorder, running: Store) -> None:
    elsewhere = Store(shared)
    stale_id, other_id = running.started_tally(), running.started_tally()
    elsewhere.run(elsewhere.adding(stale_id, 5))  # version 2, unknown to the running writer
    shared.hold()
    stale = running.writer.submit(running.adding(stale_id, 7))  # will clash on version 2
    assert shared.waiting.wait(timeout=5)
    runs_before = running.handlers.runs
    on_top = running.writer.submit(running.adding(other_id, 11))  # run before that is known
    _eventually(lambda: running.handlers.runs == runs_before + 1)

    shared.gate.set()
    redone, next_one = answer(stale), answer(on_top)

    assert isinstance(redone, Accepted) and isinstance(next_one, Accepted)
    assert (redone.version, next_one.version) == (3, 2)
    assert running.stored_tally(stale_id).total == 12
    assert running.stored_tally(other_id).total == 11
    assert running.event_names(other_id) == ["TallyStarted", "AmountAdded"]
    assert running.writer.conflicts >= 1
    [after] = running.run(running.adding(other_id, 1))  # the cache holds what is stored
    assert isinstance(after, Accepted) and after.version == 3
    assert running.stored_tally(other_id).total == 12


def test_a_retry_of_a_command_still_in_flight_waits_for_it_and_is_answered_from_it(
        shared: GatedRecorder, running: Store) -> None:
    tally_id = running.started_tally()
    original = running.adding(tally_id, 5)
    shared.hold()
    first = running.writer.submit(original)
    assert shared.waiting.wait(timeout=5)

    retry = running.writer.submit(running.adding(tally_id, 5, command_id=original.command_id))
    shared.gate.set()

    stored, repeated = answer(first), answer(retry)
    assert isinstance(stored, Accepted) and isinstance(repeated, Accepted)
    assert repeated.duplicate and repeated.version == stored.version == 2
    assert running.stored_tally(tally_id).total == 5


def test_a_batch_whose_redo_fails_too_is_answered_with_the_error_and_the_writer_goes_on(
        shared: GatedRecorder, running: Store) -> None:
    tally_id = running.started_tally()
    shared.conflicts, shared.outages = 1, 1  # refused, then the look-up for the redo fails

    failed = running.writer.submit(running.adding(tally_id, 5))

    assert isinstance(answer(failed), OperationalError)
    [after] = running.run(running.adding(tally_id, 7))
    assert isinstance(after, Accepted) and after.version == 2
    assert running.stored_tally(tally_id).total == 7


def test_when_a_failed_batch_cannot_be_redone_the_batch_run_on_top_of_it_still_is(
        shared: GatedRecorder, running: Store) -> None:
    tally_id, other_id = running.started_tally(), running.started_tally()
    shared.hold()
    shared.conflicts, shared.outages = 1, 1
    first = running.writer.submit(running.adding(tally_id, 5))
    assert shared.waiting.wait(timeout=5)
    runs_before = running.handlers.runs
    on_top = running.writer.submit(running.adding(other_id, 11))
    _eventually(lambda: running.handlers.runs == runs_before + 1)

    shared.gate.set()

    assert isinstance(answer(first), OperationalError)
    redone = answer(on_top)
    assert isinstance(redone, Accepted) and redone.version == 2
    assert running.stored_tally(other_id).total == 11
    assert running.event_names(tally_id) == ["TallyStarted"]


def _eventually(check: Any, timeout: float = 5.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if check():
            return
        done.wait(0.01)
    raise AssertionError("condition never held")
