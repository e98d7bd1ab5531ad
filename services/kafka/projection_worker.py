"""Projection workers in a Kafka consumer group: scale out by partitions, same projections.

Each worker owns some partitions of the events topic (keyed by stream, so a stream's events
stay in order in one partition). Per batch it applies every live read model's changes and
moves, in the same transaction, each partition's offset (projection_tracking: source = topic,
part = partition, position = next offset, store_position = last store position applied).
On assignment it seeks to those stored offsets, never to Kafka's committed ones, so a crash
anywhere before COMMIT replays the batch and a crash after it does not.

Re-published copies are dropped: within a partition events come in store order, so an
event at or below the partition's last applied store position, or below the generation's
"store floor" (what a rebuild already covered), was applied already. StreamVersions
(services.kafka.dedup) drops, per stream, a copy that overtook a lost message (the relay
sends it again, in order, after the lost one). aiokafka calls the rebalance listener from its
own task, so a batch fetched before a rebalance may reach StreamVersions after its partition
was sought elsewhere; it is given each message's offset and starts a partition afresh at
any offset other than the next one, so such a batch never makes it drop the events read
after the seek.

A failure (the database or the broker gone) keeps the worker in its group: it backs off
(projections.backoff), seeks every partition to its stored offsets again and carries on from
there, so nothing is lost or applied twice however long the outage lasts. It gives up only
after `reconnect_give_up_seconds` of failures in a row, when that is set, or on a message it
cannot read; either raises, so `corridor project --from kafka` exits non-zero.

A read model's store position from Kafka is the least of its partitions' (see
projections.generations.store_positions). A partition that receives nothing would hold it at
0 for ever, so `min_position` reads would never answer: every 0.1 s the worker reads the
relay's acknowledged position, then the partitions' end offsets, and moves each partition it
has consumed to its end up to that position (caught_up_works).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from projections.backoff import Backoff
from projections.catalog import PROJECTIONS, Projection
from projections.changes import Change
from projections.generations import ensure_live, live_of
from projections.rebuild import stale
from projections.records import EventRecord
from projections.store import ReadModelStore
from projections.tracking import STORE_SOURCE, Mark, PositionConflict, Target, Work, touched_by
from services.kafka.consumer_base import GroupConsumer
from services.kafka.dedup import StreamVersions
from services.kafka.messages import decode_event
from services.kafka.positions import RelayProgress
from services.kafka.topics import Topics
from services.settings import Settings
from services.storage.readmodels import store_config

log = logging.getLogger("corridor.projections.kafka")

GROUP_ID = "corridor-projections"
NO_OFFSET = -1
PROGRESS_SECONDS = 0.1
"""How often a worker moves the positions of partitions it has consumed to their end."""


def relay_progress(settings: Settings) -> RelayProgress:
    """The events relay's acknowledged position, in the event store of `settings`."""
    return RelayProgress(settings.store, pg_dsn=settings.pg_dsn, schema=settings.pg_schema,
                         sqlite_path=settings.sqlite_path)


class UnreadableEvent(Exception):
    """A message on the events topic is not an event this code understands."""


@dataclass(frozen=True)
class Incoming:
    """One fetched event with where it came from."""

    partition: int
    offset: int
    record: EventRecord


@dataclass
class KafkaTarget:
    """A live generation: its store floor and, per partition, (next offset, store position)."""

    target: Target
    floor: int
    parts: dict[int, tuple[int, int]]


def decode(message: ConsumerRecord[bytes, bytes]) -> Incoming:
    """A fetched message as an event, or UnreadableEvent (the worker stops: never skip)."""
    try:
        record = decode_event(message.value or b"")
    except ValueError as error:
        raise UnreadableEvent(f"{message.topic}[{message.partition}]@{message.offset} is not "
                              f"a corridor event: {error}") from None
    return Incoming(message.partition, message.offset, record)


def kafka_works(targets: Sequence[KafkaTarget], incoming: Sequence[Incoming],
                topic: str) -> list[Work]:
    """Each target's changes for the events it has not applied, and its new offsets."""
    works = []
    for kt in targets:
        project = kt.target.projection.project
        changes: list[Change] = []
        marks: list[Mark] = []
        for part in sorted({i.partition for i in incoming}):
            offset, applied = kt.parts.get(part, (NO_OFFSET, 0))
            mine = [i for i in incoming if i.partition == part and i.offset >= offset]
            if not mine:
                continue
            floor = max(applied, kt.floor)
            fresh = [i.record for i in mine if i.record.position > floor]
            changes.extend(c for r in fresh for c in project(r))
            reached = max([applied, *(r.position for r in fresh)])
            marks.append(Mark(offset, mine[-1].offset + 1, reached, topic, part))
        if marks:
            works.append(Work(kt.target, marks, changes))
    return works


def caught_up_works(targets: Sequence[KafkaTarget], caught_up: dict[int, int], relayed: int,
                    topic: str) -> list[Work]:
    """Moves, with no changes, the store position of every partition a target has consumed
    to its end (`caught_up`: partition -> end offset, read after `relayed`) up to `relayed`:
    every event the relay had Kafka acknowledge by then is in that partition's past, so all
    of those keyed to it are applied. A partition that receives nothing, or only old
    streams, would otherwise hold a read model's position back for ever."""
    works = []
    for kt in targets:
        marks = []
        for part, end in sorted(caught_up.items()):
            offset, applied = kt.parts.get(part, (NO_OFFSET, 0))
            if applied >= relayed:
                continue
            if offset >= end:
                marks.append(Mark(offset, offset, relayed, topic, part))
            elif offset == NO_OFFSET and end == 0:  # an empty partition, never consumed
                marks.append(Mark(NO_OFFSET, 0, relayed, topic, part))
        if marks:
            works.append(Work(kt.target, marks, []))
    return works


async def kafka_targets(store: ReadModelStore, projections: Sequence[Projection],
                        topic: str) -> list[KafkaTarget]:
    """Live generations with their store floors and partition positions."""
    live = live_of(await store.generations())
    positions = await store.positions()
    found = []
    for projection in projections:
        generation = live.get(projection.name)
        if generation is None:
            continue
        own = [p for p in positions
               if (p.projection, p.generation) == (projection.name, generation.generation)]
        floor = max((p.position for p in own if p.source == STORE_SOURCE), default=0)
        parts = {p.part: (p.position, p.store_position or 0) for p in own if p.source == topic}
        found.append(KafkaTarget(Target(projection, generation.generation), floor, parts))
    return found


class KafkaWorker:
    """Applies the events topic to the live read models, exactly once per event."""

    def __init__(self, store: ReadModelStore, settings: Settings,
                 projections: Sequence[Projection] = PROJECTIONS, *, group_id: str = GROUP_ID,
                 batch_size: int = 1000, progress: RelayProgress | None = None,
                 progress_seconds: float = PROGRESS_SECONDS,
                 backoff: Backoff | None = None) -> None:
        self.store, self.projections = store, tuple(projections)
        self.topic = Topics.of(settings).events
        self.batch_size = batch_size
        self.progress = progress or relay_progress(settings)
        self.progress_seconds = progress_seconds
        self.backoff = backoff or Backoff("projection worker", log)
        self._progress_at = 0.0
        self.versions = StreamVersions()
        self.applied = 0
        self._targets: tuple[tuple[str, int], ...] = ()
        self.consumer = GroupConsumer(settings, group_id, [self.topic],
                                      client_id=f"corridor-{group_id}",
                                      on_assigned=self.seek_stored, on_revoked=self._forget)

    async def _forget(self, partitions: frozenset[TopicPartition]) -> None:
        self.versions.forget(partitions)

    async def seek_stored(self, partitions: frozenset[TopicPartition]) -> None:
        """Seek partitions to the smallest stored offset among the live generations."""
        self.versions.forget(partitions)
        targets = await kafka_targets(self.store, self.projections, self.topic)
        self._targets = tuple((t.target.name, t.target.generation) for t in targets)
        for t in targets:
            await self.store.init_tracking(t.target, self.topic,
                                           [tp.partition for tp in partitions], NO_OFFSET)
        for tp in partitions:
            stored = [t.parts.get(tp.partition, (NO_OFFSET, 0))[0] for t in targets]
            offset = min(stored, default=NO_OFFSET)
            if offset == NO_OFFSET:
                await self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, offset)

    async def step(self, timeout: float = 0.5) -> int:
        """Fetch and apply one batch; returns the number of events fetched."""
        fetched = await self.consumer.fetch(self.batch_size, timeout)
        incoming = [decode(m) for m in fetched.messages]
        if not incoming:
            return 0
        targets = await kafka_targets(self.store, self.projections, self.topic)
        if tuple((t.target.name, t.target.generation) for t in targets) != self._targets:
            # A rebuild switched generations: the new one starts from its copied offsets.
            self.consumer.resync()
            return 0
        admitted = [i for i in incoming if self.versions.admit(
            TopicPartition(self.topic, i.partition), i.record.stream_id, i.record.version,
            i.offset)]
        works = kafka_works(targets, admitted, self.topic)
        await self.store.commit(works, touched=touched_by(works))
        self.applied += len(admitted)
        return len(incoming)

    async def catch_up_positions(self) -> int:
        """Move the store position of the partitions consumed to their end up to what the
        relay has had acknowledged (see caught_up_works); how many partitions moved."""
        relayed = await self.progress.read()  # before the end offsets: see caught_up_works
        assigned = self.consumer.assignment()
        targets = await kafka_targets(self.store, self.projections, self.topic)
        behind = {tp for tp in assigned if any(
            kt.parts.get(tp.partition, (NO_OFFSET, 0))[1] < relayed for kt in targets)}
        if not behind or tuple((t.target.name, t.target.generation)
                               for t in targets) != self._targets:
            return 0
        ends = await self.consumer.end_offsets(list(behind))
        caught_up = {tp.partition: end for tp, end in ends.items()
                     if await self.consumer.position(tp) >= end}
        works = caught_up_works(targets, caught_up, relayed, self.topic)
        if works:
            await self.store.commit(works, touched=touched_by(works))
        return sum(len(w.marks) for w in works)

    async def _maybe_catch_up_positions(self) -> None:
        now = time.monotonic()
        if now - self._progress_at >= self.progress_seconds:
            self._progress_at = now
            await self.catch_up_positions()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set, backing off and resuming from the stored offsets
        after any failure; raises UnreadableEvent, or GaveUp if the backoff gives up."""
        try:
            while not stop.is_set():
                try:
                    if not self.consumer.running:
                        await self.consumer.start()
                    await self.step()
                    await self._maybe_catch_up_positions()
                    self.backoff.succeeded()
                except UnreadableEvent:
                    raise  # a message this code cannot read: stop rather than skip it
                except PositionConflict as conflict:
                    # Another member moved these partitions on (we lost them in a rebalance).
                    log.warning("%s; re-seeking to the stored offsets", conflict)
                    self.consumer.resync()
                except Exception as error:
                    # The seek is the next attempt's first step, so a database still down
                    # is one more failure to back off from, not the end of the worker.
                    self.consumer.resync()
                    await self.backoff.pause(error, stop)
        finally:
            await self.consumer.stop()
            await self.progress.close()


async def run_kafka_worker(settings: Settings, stop: asyncio.Event | None = None, *,
                           group_id: str = GROUP_ID) -> None:
    """Run one projection worker until `stop` is set (start as many as there are partitions);
    one started while its database is down waits for it like a running one."""
    stop = stop or asyncio.Event()
    backoff = Backoff("projection worker", log,
                      give_up_after=settings.reconnect_give_up_seconds)
    store = store_config(settings).open()
    try:
        if await _start_store(store, backoff, stop):
            worker = KafkaWorker(store, settings, PROJECTIONS, group_id=group_id,
                                 backoff=backoff)
            await worker.run(stop)
    finally:
        await store.close()


STALE_RECHECK_SECONDS = 10.0


async def _wait_for_rebuild(store: ReadModelStore, stop: asyncio.Event) -> bool:
    """Apply nothing to a read model another release built (its tables are not what this
    code writes): the workers of a group would all rebuild at once, so they wait, saying
    why, for the one `corridor rebuild` (or the store follower) that switches it. False if
    stopped first."""
    while outdated := await stale(store, PROJECTIONS):
        log.error("read models built by another release: %s; waiting for `corridor "
                  "rebuild -p %s` to switch them", ", ".join(p.name for p in outdated),
                  " -p ".join(p.name for p in outdated))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), STALE_RECHECK_SECONDS)
        if stop.is_set():
            return False
    return True


async def _start_store(store: ReadModelStore, backoff: Backoff, stop: asyncio.Event) -> bool:
    """Open the read-model store and make every read model live; False if stopped first."""
    while not stop.is_set():
        try:
            await store.start()
            await ensure_live(store, PROJECTIONS)
            return await _wait_for_rebuild(store, stop)
        except Exception as error:
            with contextlib.suppress(Exception):  # a half-started store: start afresh
                await store.close()
            await backoff.pause(error, stop)
    return False
