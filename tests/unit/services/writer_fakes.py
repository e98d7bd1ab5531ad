"""An in-memory event store with command receipts, a tiny aggregate and its handlers, so the
command writer's batching, idempotency and concurrency rules can be tested without I/O.

The writer needs only what CorridorApplication offers: `save(*aggregates, receipts=...)`, a
repository with a cache, and a recorder with `select_receipts`. eventsourcing's in-memory
(POPO) recorder, plus receipts written under the same lock as the events, gives exactly that.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import orjson
from eventsourcing.application import Application
from eventsourcing.domain import event
from eventsourcing.persistence import ApplicationRecorder, IntegrityError, JSONTranscoder
from eventsourcing.popo import POPOApplicationRecorder
from pydantic import BaseModel

from domain.aggregate import CoordinationAggregate
from domain.base import CoordinationError, Meta
from services.runtime.outcomes import Outcome, Rejected
from services.runtime.unit_of_work import UnitOfWork
from services.runtime.writer import CommandWriter, Submission
from services.storage.application import MetaAsDict

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
_ticks = itertools.count()


class InMemoryRecorder(POPOApplicationRecorder):
    """Events and command receipts in memory, both written or neither (like the real ones)."""

    def __init__(self) -> None:
        super().__init__()
        self.receipts: dict[UUID, bytes] = {}

    def _insert_events(self, stored_events: Sequence[Any], **kwargs: Any) -> Any:
        receipts = list(kwargs.get("receipts") or ())
        with self._database_lock:
            command_ids = {command_id for command_id, _ in receipts}
            if len(command_ids) < len(receipts) or command_ids & self.receipts.keys():
                raise IntegrityError("a command id already has a receipt")
            notification_ids = super()._insert_events(stored_events, **kwargs)
            self.receipts.update(receipts)
            return notification_ids

    def select_receipts(self, command_ids: list[UUID]) -> list[tuple[UUID, bytes, int | None]]:
        with self._database_lock:
            return [(c, self.receipts[c], self._position_of(self.receipts[c]))
                    for c in command_ids if c in self.receipts]

    def _position_of(self, receipt: bytes) -> int | None:
        outcome = orjson.loads(receipt)
        if outcome.get("status") != "accepted":
            return None
        index = self._stored_events_index.get(str(UUID(outcome["stream_id"])), {})
        position = index.get(outcome["version"])
        return None if position is None else position + 1

    def event_count(self) -> int:
        return len(self.select_notifications(start=1, limit=1_000_000))


class NoPersonalData:
    """The key ring of an application whose events hold no personal data."""

    def prefetch(self, subject_ids: set[UUID]) -> None:
        assert not subject_ids

    def known(self, subject_id: UUID) -> bool:
        return False

    def reserve(self, subject_ids: set[UUID]) -> list[tuple[UUID, bytes, int]]:
        assert not subject_ids
        return []

    def forget_cached(self, subject_id: UUID) -> None:
        raise AssertionError(f"no key was made, so none is forgotten ({subject_id})")

    def confirm(self, subject_ids: Any) -> None:
        assert not list(subject_ids)


class InMemoryApplication(Application[UUID]):
    """An application on one shared in-memory recorder; two of them act like two processes."""

    env = {"AGGREGATE_CACHE_MAXSIZE": "1000", "AGGREGATE_CACHE_FASTFORWARD": "n",
           "DEEPCOPY_FROM_AGGREGATE_CACHE": "n"}

    def __init__(self, recorder: InMemoryRecorder | None = None) -> None:
        self._shared_recorder = recorder or InMemoryRecorder()
        super().__init__()
        self.keys = NoPersonalData()

    def construct_recorder(self) -> ApplicationRecorder:
        return self._shared_recorder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(MetaAsDict())


class NothingToAdd(CoordinationError):
    """A tally only grows."""


class Tally(CoordinationAggregate):
    """A running total: the smallest aggregate that shows what the writer does with events."""

    @event("TallyStarted")
    def __init__(self, id: UUID, meta: Meta) -> None:
        self.total = 0

    def add(self, *, amount: int, meta: Meta) -> None:
        if amount < 1:
            raise NothingToAdd(f"cannot add {amount}")
        self._added(amount=amount, meta=meta)

    @event("AmountAdded")
    def _added(self, amount: int, meta: Meta) -> None:
        self.total += amount


class StartTally(BaseModel):
    tally_id: UUID


class AddAmount(BaseModel):
    tally_id: UUID
    amount: int


class Handlers:
    """The commands the tests send, counting how often each really ran."""

    def __init__(self) -> None:
        self.runs = 0

    def start(self, body: StartTally, uow: UnitOfWork, meta: Meta) -> UUID:
        self.runs += 1
        uow.add(Tally(id=body.tally_id, meta=meta))
        return body.tally_id

    def add(self, body: AddAmount, uow: UnitOfWork, meta: Meta) -> UUID:
        self.runs += 1
        tally = uow.get(Tally, body.tally_id)
        tally.add(amount=body.amount, meta=meta)
        return tally.id

    def add_then_break_a_rule(self, body: AddAmount, uow: UnitOfWork, meta: Meta) -> UUID:
        """A handler whose rule fails only after it triggered an event."""
        self.add(body, uow, meta)
        raise NothingToAdd("changed its mind after adding")

    def crash(self, body: AddAmount, uow: UnitOfWork, meta: Meta) -> UUID:
        """A bug in a handler."""
        self.runs += 1
        raise ZeroDivisionError("a bug")


def submission(handler: Callable[[Any, UnitOfWork, Meta], UUID], body: BaseModel, *,
               command_id: UUID | None = None, expected_version: int | None = None,
               actor: str = "tester") -> Submission:
    """One command as the runtime would hand it to the writer."""
    command_id = command_id or uuid4()
    meta = Meta(actor=actor, at=T0 + timedelta(seconds=next(_ticks)),
                command_id=command_id, correlation_id=command_id)
    return Submission(command_id=command_id, name=handler.__name__, payload=body, meta=meta,
                      handler=handler, expected_version=expected_version)


def answer(future: Future[Outcome]) -> Outcome | BaseException:
    """What the writer told the caller: an outcome, or the error it failed with."""
    error = future.exception(timeout=5)
    return error if error is not None else future.result()


def rule_of(answered: Outcome | BaseException) -> str | None:
    """The rule a refusal names, whether it came back as an outcome or an error."""
    if isinstance(answered, Rejected):
        return answered.rule
    if isinstance(answered, CoordinationError):
        return answered.rule
    return None


def extra_of(answered: Outcome | BaseException) -> dict[str, Any]:
    """The details a refusal carries besides its rule."""
    if isinstance(answered, Rejected):
        return answered.extra
    return dict(getattr(answered, "extra", {}))


class Store:
    """A writer on an in-memory application, plus ways to look at what it stored."""

    def __init__(self, recorder: InMemoryRecorder | None = None) -> None:
        self.app = InMemoryApplication(recorder)
        self.recorder: InMemoryRecorder = self.app._shared_recorder
        self.writer = CommandWriter(self.app)
        self.handlers = Handlers()

    def run(self, *submissions: Submission) -> list[Outcome | BaseException]:
        """Hand the submissions to the writer as one batch; answer each."""
        with contextlib.suppress(Exception):  # a failed command is answered on its future
            self.writer.execute_now(submissions)
        return [answer(s.future) for s in submissions]

    def started_tally(self) -> UUID:
        tally_id = uuid4()
        [started] = self.run(submission(self.handlers.start, StartTally(tally_id=tally_id)))
        assert not isinstance(started, BaseException) and started.status == "accepted"
        return tally_id

    def adding(self, tally_id: UUID, amount: int, **options: Any) -> Submission:
        return submission(self.handlers.add, AddAmount(tally_id=tally_id, amount=amount),
                          **options)

    def stored_tally(self, tally_id: UUID) -> Tally:
        """The tally as replayed from the stored events by another application (no cache)."""
        tally: Tally = InMemoryApplication(self.recorder).repository.get(tally_id)
        return tally

    def event_names(self, tally_id: UUID) -> list[str]:
        return [type(e).__name__ for e in self.app.events.get(tally_id)]
