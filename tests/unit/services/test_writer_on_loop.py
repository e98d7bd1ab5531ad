"""The writer running on an event loop's own thread (`CommandWriter.run_on`, the writer
process): commands run there, batch after batch, whichever thread submitted them; what is
queued when it stops still gets its answer, and nothing is taken after that."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any
from uuid import UUID

from writer_fakes import AddAmount, Store, answer, submission

from services.runtime.outcomes import Accepted, Outcome, Rejected
from services.runtime.unit_of_work import UnitOfWork


class ThreadNoting:
    """Handlers that note the thread each command ran on."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.threads: set[int] = set()

    def add(self, body: AddAmount, uow: UnitOfWork, meta: Any) -> UUID:
        self.threads.add(threading.get_ident())
        return self.store.handlers.add(body, uow, meta)


@contextlib.contextmanager
def on_loop(store: Store) -> Iterator[asyncio.AbstractEventLoop]:
    """A new event loop the store's writer runs on, closed afterwards."""
    loop = asyncio.new_event_loop()
    store.writer.run_on(loop)
    try:
        yield loop
    finally:
        loop.close()


async def outcomes_of(futures: list[Future[Outcome]]) -> list[Outcome]:
    return list(await asyncio.gather(*(asyncio.wrap_future(f) for f in futures)))


def test_commands_queued_in_one_loop_round_run_on_the_loop_thread_as_one_batch() -> None:
    store = Store()
    tally_id = store.started_tally()
    noting = ThreadNoting(store)
    batches_before = store.writer.batches

    async def send_five() -> list[Outcome]:
        futures = [store.writer.submit(submission(noting.add, AddAmount(tally_id=tally_id,
                                                                        amount=n)))
                   for n in range(1, 6)]
        return await outcomes_of(futures)

    with on_loop(store) as loop:
        outcomes = loop.run_until_complete(send_five())
        loop_thread = threading.get_ident()  # run_until_complete runs the loop right here

    assert all(isinstance(o, Accepted) for o in outcomes)
    assert noting.threads == {loop_thread}
    assert store.writer.batches - batches_before == 1
    assert store.stored_tally(tally_id).total == 15


def test_a_command_submitted_from_another_thread_runs_on_the_loop() -> None:
    store = Store()
    tally_id = store.started_tally()
    noting = ThreadNoting(store)
    with on_loop(store) as loop:
        runner = threading.Thread(target=loop.run_forever, name="loop")
        runner.start()
        try:
            future = store.writer.submit(submission(noting.add,
                                                    AddAmount(tally_id=tally_id, amount=7)))
            outcome = answer(future)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            runner.join(5)

    assert isinstance(outcome, Accepted)
    assert noting.threads == {runner.ident}
    assert store.stored_tally(tally_id).total == 7


def test_commands_arriving_while_a_batch_runs_make_up_the_next_batch() -> None:
    store = Store()
    tally_id = store.started_tally()
    later: list[Future[Outcome]] = []

    def add_and_queue_more(body: AddAmount, uow: UnitOfWork, meta: Any) -> UUID:
        if not later:  # arrives while the first batch runs
            later.extend(store.writer.submit(store.adding(tally_id, n)) for n in (10, 20))
        return store.handlers.add(body, uow, meta)

    async def send() -> list[Outcome]:
        first = store.writer.submit(submission(add_and_queue_more,
                                               AddAmount(tally_id=tally_id, amount=1)))
        outcomes = await outcomes_of([first])
        return outcomes + await outcomes_of(later)

    batches_before = store.writer.batches
    with on_loop(store) as loop:
        outcomes = loop.run_until_complete(send())

    assert [type(o) for o in outcomes] == [Accepted] * 3
    assert [o.version for o in outcomes if isinstance(o, Accepted)] == [2, 3, 4]
    assert store.writer.batches - batches_before == 2
    assert store.stored_tally(tally_id).total == 31


def test_a_command_that_crashes_fails_alone_and_the_loop_keeps_serving() -> None:
    store = Store()
    tally_id = store.started_tally()

    async def send() -> tuple[list[BaseException | Outcome], Outcome]:
        futures = [store.writer.submit(store.adding(tally_id, 1)),
                   store.writer.submit(submission(store.handlers.crash,
                                                  AddAmount(tally_id=tally_id, amount=2))),
                   store.writer.submit(store.adding(tally_id, 0))]
        await asyncio.gather(*(asyncio.wrap_future(f) for f in futures),
                             return_exceptions=True)
        [after] = await outcomes_of([store.writer.submit(store.adding(tally_id, 5))])
        return [answer(f) for f in futures], after

    with on_loop(store) as loop:
        (added, crashed, refused), after = loop.run_until_complete(send())

    assert isinstance(added, Accepted)
    assert isinstance(crashed, ZeroDivisionError)
    assert isinstance(refused, Rejected) and refused.rule == "NothingToAdd"
    assert isinstance(after, Accepted)
    assert store.stored_tally(tally_id).total == 6


def test_stopping_runs_what_is_queued_and_refuses_what_comes_after() -> None:
    store = Store()
    tally_id = store.started_tally()
    with on_loop(store):  # never run: the queued commands wait for the stop
        queued = [store.writer.submit(store.adding(tally_id, n)) for n in (1, 2, 3)]
        stopper = threading.Thread(target=store.writer.stop)
        stopper.start()
        stopper.join(5)
        late = store.writer.submit(store.adding(tally_id, 100))

    assert all(isinstance(answer(f), Accepted) for f in queued)
    refused = answer(late)
    assert isinstance(refused, RuntimeError) and "stopped" in str(refused)
    assert store.stored_tally(tally_id).total == 6


def test_a_command_submitted_after_the_loop_closed_is_answered_not_left_waiting() -> None:
    store = Store()
    tally_id = store.started_tally()
    with on_loop(store):
        pass  # closed on leaving

    refused = answer(store.writer.submit(store.adding(tally_id, 1)))

    assert isinstance(refused, RuntimeError) and "stopped" in str(refused)
    assert store.stored_tally(tally_id).total == 0


def test_execute_now_beside_a_loop_runs_the_batch_at_once_on_the_callers_thread() -> None:
    store = Store()
    tally_id = store.started_tally()
    noting = ThreadNoting(store)
    with on_loop(store):
        outcomes = store.writer.execute_now(
            [submission(noting.add, AddAmount(tally_id=tally_id, amount=4))])

    assert isinstance(outcomes[0], Accepted)
    assert noting.threads == {threading.get_ident()}
    assert store.stored_tally(tally_id).total == 4
