"""Dropping re-delivered events per stream, for readers of the events topic.

Kafka keeps each stream's events in order in one partition, and the relay re-publishes only
after a fault, always from its last acknowledged position onwards. So per stream, the next
new event is always the last seen version + 1: anything at or below it is a re-delivery, and
anything beyond it is a copy that overtook a lost message and will come again, in order.

All of this holds only for a reader that saw every message of the partition in between: a
reader sought elsewhere (to offsets another member of its group applied up to, or back to
its own stored ones) has not seen what lies between, so a stream's next event there may be
several versions on. Each partition therefore also keeps the offset it expects next, and a
message at any other offset starts the partition afresh, as if it were just assigned.

Such a copy overtakes only within one re-publishing of the relay (a batch it sends again), so
only streams seen lately need remembering: each partition keeps its most recently seen
streams, up to a bound, and a stream forgotten is admitted like one never seen (as after a
restart, the stored positions then say what was applied). Closed cases and retired resources
so leave the table once they fall quiet, and a worker's memory does not grow with the store.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from uuid import UUID

from aiokafka import TopicPartition

STREAMS_PER_PARTITION = 10_000
"""Streams remembered per partition: far more than one re-publishing of the relay names."""


class StreamVersions:
    """The last version admitted per stream, kept per partition (a stream lives in one), for
    the `max_streams` streams of each partition seen most recently.

    A stream not seen before is admitted at any version: a reader that restarts or takes a
    partition over starts in the middle of its streams, and its own stored positions say
    which of those events it applied already.
    """

    def __init__(self, max_streams: int = STREAMS_PER_PARTITION) -> None:
        self.max_streams = max_streams
        self._seen: dict[TopicPartition, OrderedDict[UUID, int]] = {}
        self._next_offset: dict[TopicPartition, int] = {}

    def admit(self, tp: TopicPartition, stream_id: UUID, version: int,
              offset: int | None = None) -> bool:
        """True for the stream's next event (or its first one seen); False otherwise.

        `offset` is the message's offset in `tp`: one other than the offset right after the
        previous message given for `tp` (the reader was sought, or handed a batch fetched
        before a seek) forgets what `tp` knew first. A projection worker's batch fetched
        before a rebalance and applied by another member meanwhile would otherwise leave
        its streams' versions here while the reader goes on from that member's offsets, and
        each such stream's next event there would be dropped as not the next one.
        """
        seen = self._seen.get(tp)
        if offset is not None:
            if seen is not None and self._next_offset.get(tp, offset) != offset:
                seen = None
            self._next_offset[tp] = offset + 1
        if seen is None:
            seen = self._seen[tp] = OrderedDict()
        last = seen.get(stream_id, version - 1)
        if version != last + 1:
            return False
        seen[stream_id] = version
        seen.move_to_end(stream_id)
        if len(seen) > self.max_streams:
            seen.popitem(last=False)
        return True

    def remembered(self) -> int:
        """Streams remembered over all partitions."""
        return sum(len(seen) for seen in self._seen.values())

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """Drop what we know of partitions we lost (another member may have moved them on)."""
        for tp in partitions:
            self._seen.pop(tp, None)
            self._next_offset.pop(tp, None)
