"""Dropping re-deliveries per stream: what a reader of the events topic admits, and why it is
enough."""

from __future__ import annotations

from uuid import UUID, uuid4

from aiokafka import TopicPartition
from hypothesis import given, settings
from hypothesis import strategies as st

from services.kafka.dedup import StreamVersions

P0 = TopicPartition("events", 0)
P1 = TopicPartition("events", 1)


def test_a_stream_seen_for_the_first_time_is_admitted_at_any_version() -> None:
    versions = StreamVersions()
    assert versions.admit(P0, uuid4(), 7)


def test_each_next_version_is_admitted_once() -> None:
    versions, stream = StreamVersions(), uuid4()
    assert [versions.admit(P0, stream, v) for v in (1, 2, 2, 3, 1, 3, 4)] == [
        True, True, False, True, False, False, True]


def test_a_copy_that_overtook_a_lost_message_waits_for_the_replay() -> None:
    versions, stream = StreamVersions(), uuid4()
    # Published 1, 2, (3 lost), 4; the relay then replays from its stored position: 2, 3, 4.
    assert [versions.admit(P0, stream, v) for v in (1, 2, 4, 2, 3, 4)] == [
        True, True, False, False, True, True]


def test_partitions_are_tracked_apart_and_forgotten_when_revoked() -> None:
    versions, stream = StreamVersions(), uuid4()
    versions.admit(P0, stream, 5)
    assert versions.admit(P1, stream, 3)  # another partition knows nothing of it
    assert not versions.admit(P0, stream, 2)
    versions.forget([P0])
    assert versions.admit(P0, stream, 2)  # a new owner starts afresh


def test_a_reader_sought_past_messages_it_never_saw_starts_the_partition_afresh() -> None:
    versions, stream, other = StreamVersions(), uuid4(), uuid4()
    assert versions.admit(P0, stream, 1, 0)
    assert versions.admit(P0, other, 1, 1)
    assert not versions.admit(P0, stream, 1, 2)  # read on in order: still a re-delivery
    # Offsets 3..9 (versions 2..4 of the stream) were applied by another member of the group.
    assert versions.admit(P0, stream, 5, 10)
    assert not versions.admit(P0, stream, 5, 11)
    assert versions.admit(P1, stream, 9, 0)  # partitions are read apart


def test_a_reader_sought_back_starts_the_partition_afresh() -> None:
    versions, stream = StreamVersions(), uuid4()
    assert [versions.admit(P0, stream, v, v - 1) for v in (1, 2, 3)] == [True, True, True]
    # Sought back to its stored offset 1: its stored positions drop what it applied already.
    assert versions.admit(P0, stream, 2, 1)
    assert versions.admit(P0, stream, 3, 2)


def relay_with_faults(log: list[tuple[int, int]], batch: int,
                      faults: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """What lands on the topic when the relay crashes: each fault sends `cut` messages of a
    batch, loses the one at `lost` among them, and the relay restarts from its stored
    position (which only moves after a whole batch was acknowledged)."""
    topic: list[tuple[int, int]] = []
    position, pending = 0, list(faults)
    while position < len(log):
        chunk = log[position:position + batch]
        if pending:
            cut, lost = pending.pop(0)
            topic.extend(m for i, m in enumerate(chunk[:cut]) if i != lost)
            continue
        topic.extend(chunk)
        position += len(chunk)
    return topic


@st.composite
def store_logs(draw: st.DrawFn) -> list[tuple[int, int]]:
    """A notification log: several streams' events interleaved, each stream in order."""
    counts = draw(st.lists(st.integers(1, 8), min_size=1, max_size=5))
    order = draw(st.permutations([s for s, n in enumerate(counts) for _ in range(n)]))
    seen: dict[int, int] = {}
    log = []
    for stream in order:
        seen[stream] = seen.get(stream, 0) + 1
        log.append((stream, seen[stream]))
    return log


def admitted_per_stream(topic: list[tuple[int, int]], versions: StreamVersions
                        ) -> dict[int, list[int]]:
    ids = {s: UUID(int=s + 1) for s, _ in topic}
    admitted: dict[int, list[int]] = {}
    for offset, (stream, version) in enumerate(topic):  # read in order, as a worker does
        if versions.admit(P0, ids[stream], version, offset):
            admitted.setdefault(stream, []).append(version)
    return admitted


def per_stream(log: list[tuple[int, int]]) -> dict[int, list[int]]:
    expected: dict[int, list[int]] = {}
    for stream, version in log:
        expected.setdefault(stream, []).append(version)
    return expected


@settings(max_examples=300, deadline=None)
@given(log=store_logs(), batch=st.integers(1, 6),
       crashes=st.lists(st.integers(0, 6), max_size=6))
def test_a_lenient_reader_sees_each_event_once_in_order_after_relay_crashes(
        log: list[tuple[int, int]], batch: int, crashes: list[int]) -> None:
    # A crash re-publishes; it loses nothing that a later copy could overtake.
    topic = relay_with_faults(log, batch, [(cut, batch) for cut in crashes])
    assert admitted_per_stream(topic, StreamVersions()) == per_stream(log)


def test_a_partition_remembers_only_its_most_recently_seen_streams() -> None:
    versions = StreamVersions(max_streams=100)
    quiet, busy = uuid4(), uuid4()
    versions.admit(P0, quiet, 1)
    busy_version = 1
    versions.admit(P0, busy, busy_version)
    for n in range(1000):  # a thousand cases opened and closed since
        versions.admit(P0, uuid4(), 1)
        if n % 10 == 0:
            busy_version += 1
            assert versions.admit(P0, busy, busy_version)
    assert versions.remembered() == 100
    assert not versions.admit(P0, busy, 2)  # seen lately: a re-delivery is still dropped
    assert versions.admit(P0, quiet, 1)  # long quiet: admitted as never seen
