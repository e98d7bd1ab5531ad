"""One consumer-group member for corridor's Kafka workers: the projection worker and the
command consumer both read through it.

It never commits on its own (aiokafka's auto-commit is off). A caller either commits a
fetched batch once it is processed (`commit`: at least once, the command consumer) or keeps
its offsets in its own database, in the transaction that applies the batch, and seeks to
them whenever partitions are assigned (`on_assigned`: exactly once, the projection worker).

A seek on assignment that fails (its database is down during a rebalance) is not lost:
aiokafka would log the listener's error and read on from Kafka's committed offsets, so the
partitions stay unsettled, and `fetch` returns nothing of them until it has sought them,
raising to the caller's retry loop for as long as that fails. `resync` asks for the same
seek of every assigned partition (after a failed batch, or when the caller's stored offsets
changed under it).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from aiokafka.structs import ConsumerRecord

from services.kafka.clients import bootstrap
from services.settings import Settings

log = logging.getLogger("corridor.kafka.consumer")

PartitionsHook = Callable[[frozenset[TopicPartition]], Awaitable[None]]
"""Told which partitions were assigned (to seek them) or revoked (to forget them)."""
Message: TypeAlias = ConsumerRecord[Any, Any]


@dataclass(frozen=True)
class Fetched:
    """The messages of one fetch, partition by partition in offset order, and the offset to
    read next in each partition they came from (what to commit or store once processed)."""

    messages: list[Message] = field(default_factory=list)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.messages)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: GroupConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._owner.revoked(frozenset(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._owner.assigned(frozenset(assigned))


class GroupConsumer:
    """A member of `group_id` reading `topics`, committing only when told."""

    def __init__(self, settings: Settings, group_id: str, topics: Sequence[str], *,
                 client_id: str, on_assigned: PartitionsHook | None = None,
                 on_revoked: PartitionsHook | None = None,
                 auto_offset_reset: str = "earliest") -> None:
        self.settings, self.group_id, self.topics = settings, group_id, tuple(topics)
        self.client_id, self.auto_offset_reset = client_id, auto_offset_reset
        self._on_assigned, self._on_revoked = on_assigned, on_revoked
        self._client: AIOKafkaConsumer | None = None
        self._unsettled: set[TopicPartition] = set()

    @property
    def running(self) -> bool:
        """Started and not stopped since."""
        return self._client is not None

    async def start(self) -> None:
        """Join the group; partitions are assigned (and seeked) as the first fetches run."""
        client = AIOKafkaConsumer(
            bootstrap_servers=bootstrap(self.settings), group_id=self.group_id,
            enable_auto_commit=False, auto_offset_reset=self.auto_offset_reset,
            client_id=self.client_id)
        client.subscribe(list(self.topics), listener=_Rebalance(self))
        self._client = client  # before start: the listener may be called meanwhile
        try:
            await client.start()
        except BaseException:
            self._client = None
            await client.stop()  # a client that failed to start still holds connections
            raise

    async def stop(self) -> None:
        """Leave the group (what was not committed or stored is read again by the next owner)."""
        client, self._client = self._client, None
        self._unsettled.clear()
        if client is not None:
            await client.stop()

    async def __aenter__(self) -> GroupConsumer:
        await self.start()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.stop()

    async def fetch(self, max_records: int, timeout: float) -> Fetched:
        """The next messages (none after `timeout` seconds); seeks unsettled partitions first."""
        await self._settle()
        fetched = await self.client.getmany(timeout_ms=int(timeout * 1000),
                                            max_records=max_records)
        if self._unsettled:
            # Assigned during this fetch and not sought (the listener's seek failed): what
            # came from them was read from the wrong place. Drop it and seek them now; if
            # that fails too, seek the partitions this fetch read from as well, so that
            # nothing it leaves unreturned is skipped.
            fetched = {tp: ms for tp, ms in fetched.items() if tp not in self._unsettled}
            try:
                await self._settle()
            except BaseException:
                self._unsettled |= fetched.keys()
                raise
        return Fetched(messages=[m for messages in fetched.values() for m in messages],
                       offsets={tp: ms[-1].offset + 1 for tp, ms in fetched.items() if ms})

    async def commit(self, fetched: Fetched) -> None:
        """Commit a processed fetch's offsets, for the partitions this member still owns."""
        owned = self.client.assignment()
        offsets = {tp: o for tp, o in fetched.offsets.items() if tp in owned}
        if not offsets:
            return
        try:
            await self.client.commit(offsets)
        except (CommitFailedError, IllegalStateError) as error:
            # A rebalance took the partitions away; their new owner reads on from the last
            # commit, so this batch is processed again there (at least once).
            log.warning("commit skipped after a rebalance: %s", error)

    def resync(self) -> None:
        """Seek every assigned partition again (by `on_assigned`) before the next fetch."""
        if self._client is not None:
            self._unsettled |= self._client.assignment()

    def assignment(self) -> frozenset[TopicPartition]:
        """The partitions this member owns now."""
        return frozenset(self.client.assignment())

    def seek(self, tp: TopicPartition, offset: int) -> None:
        """Read `tp` from `offset` on (for `on_assigned`)."""
        self.client.seek(tp, offset)

    async def seek_to_beginning(self, tp: TopicPartition) -> None:
        """Read `tp` from its oldest message on (for `on_assigned`)."""
        await self.client.seek_to_beginning(tp)

    async def position(self, tp: TopicPartition) -> int:
        """The offset of the next message this member reads from `tp`."""
        return int(await self.client.position(tp))

    async def end_offsets(self, partitions: Sequence[TopicPartition]
                          ) -> dict[TopicPartition, int]:
        """Each partition's next offset to be written."""
        return dict(await self.client.end_offsets(list(partitions)))

    @property
    def client(self) -> AIOKafkaConsumer:
        if self._client is None:
            raise RuntimeError("the consumer is not started")
        return self._client

    async def assigned(self, partitions: frozenset[TopicPartition]) -> None:
        """From the rebalance listener: seek the new partitions, or leave that to `fetch`."""
        self._unsettled |= partitions
        try:
            await self._settle()
        except Exception as error:  # aiokafka would swallow it and read from committed offsets
            log.warning("could not seek newly assigned partitions (%s: %s); the next fetch "
                        "tries again", type(error).__name__, error)

    async def revoked(self, partitions: frozenset[TopicPartition]) -> None:
        """From the rebalance listener: these may be moved on by another member now."""
        self._unsettled -= partitions
        if self._on_revoked is not None:
            await self._on_revoked(partitions)

    async def _settle(self) -> None:
        pending = frozenset(self._unsettled & self.client.assignment())
        self._unsettled.clear()
        if not pending or self._on_assigned is None:
            return
        try:
            await self._on_assigned(pending)
        except BaseException:
            self._unsettled |= pending
            raise
