"""Dropping re-delivered events per stream, for readers of the events topic.

Kafka keeps each stream's events in order in one partition, and the relay re-publishes only
after a fault, always from its last acknowledged position onwards. So per stream, the next
new event is always the last seen version + 1: anything at or below it is a re-delivery, and
anything beyond it is a copy that overtook a lost message and will come again, in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from aiokafka import TopicPartition


class StreamVersions:
    """The last version admitted per stream, kept per partition (a stream lives in one).

    A stream not seen before is admitted at any version: a reader that restarts or takes a
    partition over starts in the middle of its streams, and its own stored positions say
    which of those events it applied already.
    """

    def __init__(self) -> None:
        self._seen: dict[TopicPartition, dict[UUID, int]] = {}

    def admit(self, tp: TopicPartition, stream_id: UUID, version: int) -> bool:
        """True for the stream's next event (or its first one seen); False otherwise."""
        seen = self._seen.setdefault(tp, {})
        last = seen.get(stream_id, version - 1)
        if version != last + 1:
            return False
        seen[stream_id] = version
        return True

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """Drop what we know of partitions we lost (another member may have moved them on)."""
        for tp in partitions:
            self._seen.pop(tp, None)
