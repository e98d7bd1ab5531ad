"""The command writer: one thread that turns queued commands into events, committing many
commands in one transaction (group commit) and answering each caller with its outcome.

Why: the throughput target (docs/benchmarks.md) is far above one commit per command. While one
batch commits, new commands queue up; the next batch takes all of them at once, so the batch
size grows with load and latency stays near one commit. Aggregates come from the in-memory
cache (no replay per command); a conflict with another writer process is caught by the
store's unique (stream, version) key, and the batch is then redone command by command.

Pipelined: a batch's store round trip runs on a commit thread while the writer thread
executes and encodes the next batch on top of the state the first one leaves (otherwise it
would wait on that round trip for much of each batch). Callers are answered only once their
own batch is committed. If a batch fails in the store, the one executed on top of it is
thrown away and both are redone on what is really stored.

In the writer process of `corridor serve --writer-process` the same batches run on its
event loop's thread instead, each committed before the next (`run_on`): with no thread to
hand over to, no batch waits for a wake-up or for the GIL (see `run_on` for why).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import queue
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

import orjson
from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    PersistenceError,
    StoredEvent,
)

from domain.base import CoordinationError, Meta
from domain.case import Case
from domain.resource import Resource
from services.runtime.outcomes import Accepted, Outcome, Rejected
from services.runtime.unit_of_work import NetworkDefaults, UnitOfWork
from services.storage.application import CorridorApplication, SnapshotsDue
from services.storage.sealing import SubjectErased

log = logging.getLogger("corridor.writer")

RECENT_IDS = 20_000
"""Command ids remembered as committed here (a retry of an older one is caught by the
receipts' primary key instead); bounded so that a long-running API's memory stays flat."""
Handler = Callable[[Any, UnitOfWork, Meta], UUID]
"""Runs one command's domain call(s); returns the id of the stream it is about."""


class VersionConflict(CoordinationError):
    """The stream is not at the version the command expected."""


class CommandIdReused(CoordinationError):
    """The command id was already used for a different command."""

    http_status = 422


class WriterBusy(Exception):
    """The writer's queue is full: the command was refused at once, nothing was run."""

    @classmethod
    def queue_full(cls, queued: int) -> WriterBusy:
        return cls(f"the command writer has {queued} commands waiting, its bound "
                   "(CORRIDOR_COMMAND_QUEUE_MAX); nothing was run. Retry with the same "
                   "command id after Retry-After.")


class CommandNotAnswered(Exception):
    """The writer did not answer within the command wait; the command may still be stored."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the command was not answered within {seconds:g} s "
                         "(CORRIDOR_COMMAND_WAIT_SECONDS): the store or the writer is "
                         "unavailable or slow. It may still be stored: retry with the same "
                         "command id, which returns its outcome if it was.")


class StreamExists(Exception):
    """A command started a stream under an id the store already holds."""

    template = ("stream {} exists already; a new case, volunteer or resource needs an id of "
                "its own")

    def __init__(self, ids: list[UUID]) -> None:
        super().__init__(self.template.format(", ".join(map(str, ids))))


class IdTaken(StreamExists):
    """A new stream's id names a data subject already (a case's person), or a new person's
    id is a stream (a volunteer): one id would stand for both, their personal data would
    share one key, and erasing one would erase the other's."""

    template = ("id {} names someone or something already; a new case, person, volunteer or "
                "resource needs an id of its own")


@dataclass
class Submission:
    """One command waiting for the writer."""

    command_id: UUID
    name: str
    payload: Any
    meta: Meta
    handler: Handler
    expected_version: int | None = None
    future: Future[Outcome] = field(default_factory=Future)
    subjects: set[UUID] = field(default_factory=set)
    """Data subjects the command likely seals data for the first time: their new keys are
    stored with the batch's events (no look-up first; see `KeyRing.reserve`)."""
    credential_roles: frozenset[str] | None = None
    """The roles the caller's credential names (HTTP, Kafka, a worker's socket); rules on
    what a caller may give or do to others read them (`services.commands.common.authority`).
    None for the service's own tools (CLI, benchmarks, tests), which no credential narrows."""

    @property
    def fingerprint(self) -> str:
        body = self.payload.model_dump_json() if hasattr(self.payload, "model_dump_json") else ""
        return hashlib.sha256(f"{self.name}|{body}".encode()).hexdigest()[:32]


@dataclass
class Executed:
    submission: Submission
    outcome: Outcome | None = None
    stream_id: UUID | None = None
    error: Exception | None = None

    @property
    def needs_redo(self) -> bool:
        return self.error is not None or (self.outcome is None and self.stream_id is None)


@dataclass
class Prepared:
    """A batch executed and encoded, ready for its one store round trip."""

    uow: UnitOfWork
    executed: list[Executed]
    events: ProcessingEvent[UUID]
    stored: list[StoredEvent]
    looked_up: bool
    snapshots: SnapshotsDue = field(default_factory=SnapshotsDue)
    """Snapshots the batch brings due, stored after its events (an optimisation)."""

    @property
    def batch(self) -> list[Submission]:
        return [e.submission for e in self.executed]


class _Wake:
    """Queued by the commit thread when a batch failed, so an idle writer redoes it."""


WAKE = _Wake()


class CommandWriter:
    """Serialises command execution per process and groups commits."""

    def __init__(self, app: CorridorApplication, *, max_batch: int = 512,
                 commit_listeners: Sequence[Callable[[], None]] = (),
                 max_queued: int | None = None,
                 defaults: NetworkDefaults | None = None,
                 retired: Callable[[Any], bool] | None = None) -> None:
        self.app = app
        self.retired = retired or is_retired
        """Which aggregates leave the cache once their batch is stored (`_retire`)."""
        self.defaults = defaults or NetworkDefaults()
        """What its commands get for what they leave unsaid (a hold's duration)."""
        self.max_batch = max_batch
        self.max_queued = max_queued
        """Commands waiting beyond this are refused at once (WriterBusy, a 503): while the
        store is down or slow, callers get an answer instead of waiting in a growing
        queue for their timeouts. None: unbounded (tools and tests)."""
        self.commit_listeners = tuple(commit_listeners)
        """Called after every commit (on the thread that committed): each wakes a follower
        of the store, such as the projection runner or the policies."""
        self._queue: queue.Queue[Submission | _Wake | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="command-writer", daemon=True)
        self._committer = ThreadPoolExecutor(1, thread_name_prefix="command-commit")
        self._inflight: tuple[Prepared, Future[None]] | None = None
        """The batch the commit thread is storing (only the writer thread touches this)."""
        self.batches = 0
        self.commands = 0
        self.conflicts = 0
        """Saves refused by the store's unique keys, then redone: another writer changed a
        stream first, or a command id had been handled before (answered from its receipt)."""
        self.read_ahead = 0
        """Aggregates read into the cache for a batch before it ran (`_read_ahead`)."""
        self._recent: OrderedDict[UUID, None] = OrderedDict()
        """Command ids this writer committed lately: a retry of one is looked up at once."""
        self._loop: asyncio.AbstractEventLoop | None = None
        """Set by `run_on`: commands run on this event loop's thread, not on a thread."""
        self._pending: deque[Submission] = deque()
        self._drain_scheduled = False
        self._inline = threading.RLock()
        """Held while a batch runs on the loop; `stop` from another thread waits for it."""
        self._stopped = False

    def start(self) -> None:
        self._thread.start()

    def run_on(self, loop: asyncio.AbstractEventLoop) -> None:
        """Run commands on `loop`'s own thread, batch after batch, each batch committed
        before the next runs (instead of `start`). For the writer process, whose event loop
        does little besides taking commands in (a batch holds it for a few milliseconds).

        Why: on busy cores every hand-over between threads costs a wake-up and a wait for
        the GIL. The pipelined writer hands each batch over three times (event loop to
        writer thread to commit thread and back), and under load those waits take longer
        than the commit itself. Here a command's only waits are the queue and the store's
        round trip."""
        self._loop = loop

    def stop(self) -> None:
        if self._loop is not None:  # run what is queued: its callers wait for an answer
            with self._inline:
                self._stopped = True
                self._run_pending(everything=True)
            return
        if not self._thread.is_alive():  # never started (a read-only or HTTP worker process)
            return
        self._queue.put(None)
        self._thread.join(timeout=30)
        if self._thread.is_alive():  # still working: its next hand-over must not be refused
            log.warning("the command writer did not stop within 30 s")
        else:
            self._committer.shutdown(wait=True)

    @property
    def queued(self) -> int:
        """Commands waiting for a batch."""
        return len(self._pending) if self._loop is not None else self._queue.qsize()

    def submit(self, submission: Submission) -> Future[Outcome]:
        if self.max_queued is not None and self.queued >= self.max_queued:
            _fail(submission.future, WriterBusy.queue_full(self.queued))
            return submission.future
        if self._loop is not None:
            return self._submit_on_loop(submission)
        self._queue.put(submission)
        return submission.future

    def _submit_on_loop(self, submission: Submission) -> Future[Outcome]:
        """Queue for the next batch on the loop (from any thread)."""
        with self._inline:
            if self._stopped or not self._schedule_drain():  # the loop is closed: nothing
                _fail(submission.future, RuntimeError("the command writer has stopped"))
            else:                                           # would run it
                self._pending.append(submission)
        return submission.future

    def _schedule_drain(self) -> bool:
        """See that a drain is due on the loop; False if the loop is closed."""
        if not self._drain_scheduled and self._loop is not None:
            try:
                self._loop.call_soon_threadsafe(self._drain)
            except RuntimeError:
                return False
            self._drain_scheduled = True
        return True

    def _drain(self) -> None:
        """One batch of what is queued (on the loop's thread); the next is scheduled after
        the loop has read what arrived meanwhile, so that it joins that batch."""
        with self._inline:
            self._drain_scheduled = False
            self._run_pending(everything=False)
            if self._pending:
                self._schedule_drain()

    def _run_pending(self, *, everything: bool) -> None:
        while self._pending:
            batch = [self._pending.popleft()
                     for _ in range(min(self.max_batch, len(self._pending)))]
            try:
                _start(batch)
                self._process(batch)
            except Exception as error:  # keep serving; every caller gets an answer
                log.exception("command batch failed")
                self._fail_all(batch, error)
            if not everything:
                return

    def execute_now(self, submissions: Sequence[Submission]) -> list[Outcome]:
        """Run a batch and wait for its outcomes (tests, CLI, benchmarks): on the caller's
        thread when the writer thread is not running (under `run_on`, while no batch runs
        on the loop), else through the writer's queue, so only one thread at a time
        executes commands on the cached aggregates."""
        if self._thread.is_alive():
            for s in submissions:
                self.submit(s)
        else:
            with self._inline:
                _start(submissions)
                self._process(list(submissions))
        return [s.future.result() for s in submissions]

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None or first is WAKE:
                try:
                    self._settle_inflight()
                except Exception:  # its callers were answered; keep the writer alive
                    log.exception("settling the batch in flight failed")
                if first is None:
                    return
                continue
            taken = _with_queued(self._queue, first, self.max_batch)
            batch = [s for s in taken if isinstance(s, Submission)]  # a late wake-up: the
            # next hand-over settles the batch in flight anyway
            try:
                _start(batch)
                self._process(batch, pipelined=True)
            except Exception as error:  # keep the writer alive; every caller gets an answer
                log.exception("command batch failed")
                self._fail_all(batch, error)

    def _process(self, batch: list[Submission], *, look_up: bool = False,
                 pipelined: bool = False) -> None:
        unique, repeats = _split_repeats(batch)
        look_up = look_up or any(s.command_id in self._recent for s in unique)
        if look_up:
            self._settle_inflight()  # its receipts must be stored before they are looked up
        fresh = self._not_handled(unique) if look_up else unique
        if fresh:
            self._commit(fresh, looked_up=look_up, pipelined=pipelined)
        for s, original in repeats:
            if (s.fingerprint, s.meta.actor) != (original.fingerprint, original.meta.actor):
                _settle(s.future, _reused(s))
            else:
                original.future.add_done_callback(_echo_to(s))

    def _not_handled(self, submissions: list[Submission]) -> list[Submission]:
        """Answer the commands already handled from their stored receipts; the rest."""
        stored = load_receipts(self.app, [s.command_id for s in submissions])
        fresh = []
        for s in submissions:
            if s.command_id in stored:
                _settle(s.future, _replayed(s, stored[s.command_id]))
            else:
                fresh.append(s)
        return fresh

    def _commit(self, batch: list[Submission], *, looked_up: bool = True,
                pipelined: bool = False) -> None:
        """Execute and save a batch. Receipts are not looked up first (a round trip per
        batch): a command id seen before breaks the receipts' primary key, the transaction
        stores nothing, and the batch is redone after looking its ids up."""
        uow = UnitOfWork(self.app, self.defaults)
        self._read_ahead(batch)
        executed = [self._execute(s, uow) for s in batch]
        if any(e.needs_redo for e in executed):
            # The working set holds cached aggregates with unsaved changes: drop them all,
            # so a redo (or the next command) reloads what is really stored.
            if self._settle_inflight(on_top=uow):  # ran on a failed batch's state: redo
                return self._process(batch)
            self._evict(uow)
            down = next((e.error for e in executed
                         if isinstance(e.error, OperationalError | InterfaceError)), None)
            if down is not None:  # the store is unreachable: one by one would wait again
                return self._fail_all(batch, down)
            if len(batch) > 1:
                return self._one_by_one(batch, looked_up)
            error = executed[0].error or RuntimeError(f"command {batch[0].name} failed")
            if isinstance(error, CoordinationError):
                _settle(batch[0].future, _rejected(batch[0], error))
            else:
                _fail(batch[0].future, error)
            return None
        try:
            prepared = self._prepare(uow, executed, looked_up)
        except Exception as error:
            if self._settle_inflight(on_top=uow):
                return self._process(batch)
            self._evict(uow)
            if not isinstance(error, SubjectErased | StreamExists):
                raise
            if len(batch) > 1:  # find the command that holds the erased subject's data
                return self._one_by_one(batch, looked_up)  # or starts an existing stream
            _settle(batch[0].future, _refused(batch[0], error))
            return None
        if self._settle_inflight(on_top=uow):  # the batch before failed: this one ran on
            return self._process(batch)        # its unsaved state, so it is redone too
        if pipelined:
            try:
                future = self._committer.submit(self._store, prepared)
            except RuntimeError:  # stopping: nothing was stored, so nothing stays cached
                self._evict(uow)
                raise
            self._remember(batch)
            future.add_done_callback(self._wake_on_failure)
            self._inflight = (prepared, future)
            return None
        try:
            self._store(prepared)
        except Exception as error:
            self._after_failed_store(prepared, error)
            return None
        self._remember(batch)
        return None

    def _read_ahead(self, batch: list[Submission]) -> None:
        """Read the aggregates the batch names that are not cached, in one round trip (an
        optimisation: if it fails, each is read when first used, as without it)."""
        ids: set[UUID] = set()
        for s in batch:
            streams = getattr(s.payload, "streams", None)
            if streams is not None:
                ids.update(streams())
            with contextlib.suppress(ValueError):  # a volunteer acting: their stream too
                ids.add(UUID(s.meta.actor))
        try:
            self.read_ahead += self.app.cache_streams(ids)
        except Exception:
            log.warning("reading a batch's aggregates ahead failed; each is read when used",
                        exc_info=True)

    def _wake_on_failure(self, future: Future[None]) -> None:
        if future.exception() is not None:
            self._queue.put(WAKE)

    def _settle_inflight(self, *, on_top: UnitOfWork | None = None) -> bool:
        """Wait for the batch in flight; redo it if it failed, after dropping the cached
        aggregates `on_top` changed on top of its unsaved state. True if it failed."""
        inflight, self._inflight = self._inflight, None
        if inflight is None:
            return False
        prepared, future = inflight
        try:
            future.result()
        except Exception as error:
            if on_top is not None:
                self._evict(on_top)
            try:
                self._after_failed_store(prepared, error)
            except Exception as redo_error:  # e.g. the store is down: answer, do not hang
                log.exception("redoing a batch that failed in the store failed")
                self._evict(prepared.uow)
                self._fail_all(prepared.batch, redo_error)
            return True
        return False

    def _after_failed_store(self, prepared: Prepared, error: Exception) -> None:
        """Nothing of the batch was stored: redo it on what is really stored, or answer."""
        batch, looked_up = prepared.batch, prepared.looked_up
        self._evict(prepared.uow)
        for s in batch:
            self._recent.pop(s.command_id, None)
        if isinstance(error, IntegrityError):
            self.conflicts += 1
            if not looked_up:  # a retried command id, or another writer's stream change
                return self._process(batch, look_up=True)
            if len(batch) > 1:
                return self._one_by_one(batch)
            sub = batch[0]
            _settle(sub.future, Rejected(
                command_id=sub.command_id, http_status=409, rule="ConcurrentWrite",
                detail="another writer changed this stream at the same time, or it exists "
                       "already; reload and retry"))
            return None
        if isinstance(error, OperationalError | InterfaceError):  # the store is unreachable:
            self._fail_all(batch, error)  # one by one, each would wait for it again
            return None
        if isinstance(error, PersistenceError):  # nothing was stored; the store may recover
            if len(batch) > 1:
                log.warning("batch failed in the store (%s); redoing command by command",
                            type(error).__name__)
                return self._one_by_one(batch)
            _fail(batch[0].future, error)
            return None
        log.error("storing a command batch failed", exc_info=error)
        self._fail_all(batch, error)
        return None

    @staticmethod
    def _fail_all(batch: list[Submission], error: Exception) -> None:
        for s in batch:
            if not s.future.done():
                _fail(s.future, error)

    def _remember(self, batch: list[Submission]) -> None:
        recent = self._recent
        for s in batch:
            recent[s.command_id] = None
        while len(recent) > RECENT_IDS:
            recent.popitem(last=False)

    def _one_by_one(self, batch: list[Submission], looked_up: bool = True) -> None:
        for s in batch:
            if not s.future.done():
                self._commit([s], looked_up=looked_up)

    def _execute(self, s: Submission, uow: UnitOfWork) -> Executed:
        before = uow.pending_counts()
        try:
            uow.credential_roles = s.credential_roles
            stream_id = s.handler(s.payload, uow, s.meta)
            if s.expected_version is not None:
                self._check_version(uow, stream_id, s.expected_version, before)
            return Executed(s, stream_id=stream_id)
        except CoordinationError as error:
            if uow.changed_since(before):  # a rule failed after events were triggered
                if isinstance(error, VersionConflict):  # the caller's stale view: normal
                    log.info("command %s expected another version; redoing it alone", s.name)
                else:  # a handler that checks a rule too late: a bug to fix
                    log.error("command %s raised after triggering events; redoing alone",
                              s.name)
                return Executed(s, error=error)
            return Executed(s, outcome=_rejected(s, error))
        except Exception as error:  # a bug: isolate it to this command alone
            log.exception("command %s failed unexpectedly", s.name)
            return Executed(s, error=error)

    @staticmethod
    def _check_version(uow: UnitOfWork, stream_id: UUID, expected: int,
                       before: dict[UUID, int]) -> None:
        aggregate = uow.working.get(stream_id)
        if aggregate is None:
            return
        current = aggregate.version - (len(aggregate.pending_events) - before.get(stream_id, 0))
        if current != expected:
            error = VersionConflict(f"stream {stream_id} is at version {current}, "
                                    f"not the expected {expected}")
            error.extra = {"current_version": current}  # type: ignore[attr-defined]
            raise error

    def _prepare(self, uow: UnitOfWork, executed: list[Executed], looked_up: bool) -> Prepared:
        """Outcomes, receipts and encoded (sealed) events of an executed batch. The touched
        aggregates go into the cache now, so the next batch builds on their new state."""
        receipts = []
        for e in executed:
            if e.outcome is None and e.stream_id is not None:
                agg = uow.working.get(e.stream_id)
                events = [type(ev).__name__ for ev in agg.pending_events
                          if _command_of(ev) == e.submission.command_id] if agg else []
                e.outcome = Accepted(command_id=e.submission.command_id, stream_id=e.stream_id,
                                     version=_version_after(agg, e.submission.command_id),
                                     events=events)
            assert e.outcome is not None
            receipts.append((e.submission.command_id, _receipt(e.submission, e.outcome)))
        touched = uow.touched()
        times = uow.event_times()
        subjects = uow.personal_subjects()
        if not looked_up:  # a redo after a failed insert looks every key up instead
            hinted = set().union(*(e.submission.subjects for e in executed)) & subjects
            uow.new_keys = self.app.keys.reserve(hinted)
        else:  # the look-ups below store keys at once: none for a command bound to fail
            self._refuse_existing(uow, executed)
        self.app.keys.prefetch(subjects)  # the keys not cached yet, in one statement
        collected: ProcessingEvent[UUID] = ProcessingEvent()
        for each in touched:  # as collect_events does, without its isinstance checks against
            collected.events.extend(each.collect_events())  # runtime Protocols (a visible
            collected.aggregates[each.id] = each            # share of the writer's CPU)
        collected.saved_kwargs.update(receipts=receipts, event_times=times,
                                      new_keys=uow.new_keys, erased_keys=uow.erased_keys,
                                      blind_index=uow.blind_index)
        stored = [self.app.mapper.to_stored_event(event) for event in collected.events]
        cache = self.app.repository.cache
        if cache is not None:
            for aggregate_id, aggregate in collected.aggregates.items():
                cache.put(aggregate_id, aggregate)
        return Prepared(uow, executed, collected, stored, looked_up,
                        self._snapshots_due(collected))

    def _snapshots_due(self, collected: ProcessingEvent[UUID]) -> SnapshotsDue:
        """Encoded here, on the writer's thread, before the next batch changes the cached
        aggregates (a pipelined batch is stored on the commit thread meanwhile)."""
        if self.app.snapshots is None:
            return SnapshotsDue()
        try:
            return self.app.snapshots_due(collected)
        except Exception:
            log.exception("encoding snapshots failed (they are an optimisation; the events "
                          "stand)")
            return SnapshotsDue()

    def _refuse_existing(self, uow: UnitOfWork, executed: list[Executed]) -> None:
        """Raise StreamExists if the batch starts a stream the store holds already, IdTaken
        if a stream it starts is a data subject already or a new person it names is a
        stream. Only on a redo: the first try lets the insert's unique keys find these (a
        new stream's events, a new subject's key), at no cost."""
        started = [a.id for a in uow.touched() if a.pending_events[0].originator_version == 1]
        recorder, keys = self.app.recorder, self.app.keys
        existing = [i for i in started if recorder.select_events(i, limit=1)]
        if existing:
            raise StreamExists(existing)
        people = set().union(*(e.submission.subjects for e in executed)) - set(started)
        taken = ([i for i in started if keys.known(i)]
                 + [i for i in people if recorder.select_events(i, limit=1)])
        if taken:
            raise IdTaken(taken)

    def _store(self, prepared: Prepared) -> None:
        """The batch's one round trip; then answer its callers (on the commit thread when
        pipelined). Raises only if nothing was stored."""
        events = prepared.events
        ids = self.app.recorder.insert_events(prepared.stored, **events.saved_kwargs) or []
        positions: dict[tuple[UUID, int], int] = {}
        last_of_command: dict[UUID | None, int] = {}
        """The last position of each command's events, whichever streams they went to: a
        command changing two streams (seats held on a transport for a case) is read back
        whole by waiting for it, whichever stream its answer names."""
        for event, position in zip(events.events, ids, strict=False):
            positions[(event.originator_id, event.originator_version)] = position
            command_id = _command_of(event)
            last_of_command[command_id] = max(position, last_of_command.get(command_id, 0))
        self.batches += 1
        self.commands += len(prepared.executed)
        keys = self.app.keys
        if prepared.uow.new_keys:  # stored with the events: they may reveal now
            keys.confirm(s for s, _, _ in prepared.uow.new_keys)
        for subject_id in prepared.uow.erased_keys:  # deleted with the events
            keys.forget_cached(subject_id)
        for e in prepared.executed:
            outcome = e.outcome
            if isinstance(outcome, Accepted):
                outcome.position = max(
                    positions.get((outcome.stream_id, outcome.version)) or 0,
                    last_of_command.get(outcome.command_id, 0)) or None
            _settle(e.submission.future, outcome)  # type: ignore[arg-type]
        if prepared.snapshots:
            try:  # after the commit: a snapshot never stands for events that were not stored
                self.app.store_snapshots(prepared.snapshots)
            except Exception:
                log.exception("storing snapshots failed (they are an optimisation; events "
                              "stand)")
        self._retire(prepared)
        for listener in self.commit_listeners:
            try:
                listener()
            except Exception:
                log.exception("a commit listener failed")

    def _retire(self, prepared: Prepared) -> None:
        """Closed cases and withdrawn resources leave the aggregate cache once stored, so a
        writer that runs for months holds what is live rather than the latest N of
        everything (a later command on one, a follow-up after arrival, reads it back in its
        batch's one read-ahead). Only while the cached object is still at the version this
        batch stored: one that a later batch changed meanwhile (pipelined, perhaps not
        stored yet) stays, and leaves after that batch."""
        cache = self.app.repository.cache
        if cache is None:
            return
        versions = {e.originator_id: e.originator_version for e in prepared.events.events}
        for aggregate_id, aggregate in prepared.events.aggregates.items():
            if self.retired(aggregate) and aggregate.version == versions.get(aggregate_id):
                with contextlib.suppress(KeyError):
                    cache.get(aggregate_id, evict=True)

    def _evict(self, uow: UnitOfWork) -> None:
        for subject_id, _, _ in uow.new_keys:  # not stored: looked up next time
            self.app.keys.forget_cached(subject_id)
        uow.new_keys = []
        cache = self.app.repository.cache
        if cache is not None:
            for aggregate_id in uow.working:
                with contextlib.suppress(KeyError):
                    cache.get(aggregate_id, evict=True)
        heads = getattr(self.app.recorder, "heads", None)
        if heads is not None:
            heads.clear()


def is_retired(aggregate: Any) -> bool:
    """A closed case or a withdrawn resource: what the writer's cache need not keep."""
    if isinstance(aggregate, Case):
        return not aggregate.is_active
    if isinstance(aggregate, Resource):
        return aggregate.is_withdrawn
    return False


T = TypeVar("T")


def _with_queued(items: queue.Queue[T | None], first: T, limit: int) -> list[T]:
    """`first` and whatever else is queued now (up to `limit` in all); a stop marker found
    on the way is put back for the next round."""
    taken = [first]
    while len(taken) < limit:
        try:
            item = items.get_nowait()
        except queue.Empty:
            break
        if item is None:
            items.put(None)
            break
        taken.append(item)
    return taken


def _start(batch: Sequence[Submission]) -> None:
    # A caller that gave up (cancelled its future) gets no answer; its command still runs
    # if taken, because a retry with the same id must find the original outcome.
    for s in batch:
        s.future.set_running_or_notify_cancel()


def _command_of(event: object) -> UUID | None:
    meta = getattr(event, "meta", None)
    return meta.command_id if isinstance(meta, Meta) else None


def _version_after(aggregate: Any, command_id: UUID) -> int:
    """The stream's version after this command's own events (later ones in the batch excluded)."""
    if aggregate is None:
        return 0
    versions = [ev.originator_version for ev in aggregate.pending_events
                if _command_of(ev) == command_id]
    return int(versions[-1]) if versions else int(aggregate.version)


def _split_repeats(batch: list[Submission]) -> tuple[list[Submission],
                                                     list[tuple[Submission, Submission]]]:
    seen: dict[UUID, Submission] = {}
    repeats = []
    for s in batch:
        if s.command_id in seen:
            repeats.append((s, seen[s.command_id]))
        else:
            seen[s.command_id] = s
    return list(seen.values()), repeats


def _rejected(s: Submission, error: CoordinationError) -> Rejected:
    return Rejected(command_id=s.command_id, http_status=error.http_status, rule=error.rule,
                    detail=str(error), extra=getattr(error, "extra", {}))


def _refused(s: Submission, error: SubjectErased | StreamExists) -> Rejected:
    if isinstance(error, SubjectErased):
        return Rejected(command_id=s.command_id, http_status=409, rule="SubjectErased",
                        detail=str(error), extra={"subject_id": str(error.subject_id)})
    return Rejected(command_id=s.command_id, http_status=409, rule="AlreadyExists",
                    detail=str(error))


def _reused(s: Submission) -> Rejected:
    return Rejected(command_id=s.command_id, http_status=422, rule="CommandIdReused",
                    detail="this command id was already used for a different command or by "
                           "another sender")


def _settle(future: Future[Outcome], outcome: Outcome) -> None:
    if not future.cancelled():
        future.set_result(outcome)


def _fail(future: Future[Outcome], error: BaseException) -> None:
    if not future.cancelled():
        future.set_exception(error)


def _echo_to(repeat: Submission) -> Callable[[Future[Outcome]], None]:
    def echo(original: Future[Outcome]) -> None:
        if original.cancelled():
            _fail(repeat.future, RuntimeError("the first copy of this command was abandoned"))
            return
        error = original.exception()
        if error is not None:
            _fail(repeat.future, error)
            return
        _settle(repeat.future, original.result().model_copy(update={"duplicate": True}))

    return echo


def _receipt(s: Submission, outcome: Outcome) -> bytes:
    data = outcome.model_dump(mode="json")
    data["fingerprint"] = s.fingerprint
    data["actor"] = s.meta.actor
    return orjson.dumps(data)


def _replayed(s: Submission, stored: dict[str, Any]) -> Outcome:
    """The stored outcome, told again to a retry: only to the same sender with the same
    command. Someone else using the id learns nothing of it (receipts stored before the
    sender was kept name none, and are told to whoever repeats the command exactly)."""
    fingerprint = stored.pop("fingerprint", None)
    actor = stored.pop("actor", None)
    if fingerprint is not None and fingerprint != s.fingerprint:
        return _reused(s)
    if actor is not None and actor != s.meta.actor:
        return _reused(s)
    stored["duplicate"] = True
    if stored.get("status") == "accepted":
        return Accepted.model_validate(stored)
    return Rejected.model_validate(stored)


def load_receipts(app: CorridorApplication, command_ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    """Stored outcomes of already-handled commands, with store positions filled in."""
    if not command_ids:
        return {}
    found: dict[UUID, dict[str, Any]] = {}
    recorder: Any = app.recorder
    for command_id, outcome, position in recorder.select_receipts(command_ids):
        data = orjson.loads(outcome)
        if data.get("status") == "accepted":
            data["position"] = position
        found[command_id] = data
    return found
