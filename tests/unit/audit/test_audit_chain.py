"""The chain check names exactly the event that was altered; anchors digest ranges."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import StoredEvent

from services.audit.chain import AnchorDigest, ChainChecker, ChainRow, anchor_digest
from services.storage.recorders import GENESIS, chain_hash

CASE = UUID(int=1)
RESOURCE = UUID(int=2)


def stored(stream: UUID, version: int, text: str = "") -> StoredEvent:
    return StoredEvent(originator_id=stream, originator_version=version,
                       topic="tests:Thing.Happened", state=(text or f"{stream}-{version}").encode())


def chained(events: list[StoredEvent]) -> list[ChainRow]:
    """Rows as the recorder writes them: positions in order, hashes linked per stream."""
    heads: dict[UUID, bytes] = {}
    rows = []
    for position, event in enumerate(events, start=1):
        stream = UUID(str(event.originator_id))
        digest = chain_hash(heads.get(stream, GENESIS), event)
        heads[stream] = digest
        rows.append(ChainRow(position=position, event=event, recorded=digest))
    return rows


def interleaved() -> list[ChainRow]:
    return chained([stored(CASE, 1), stored(RESOURCE, 1), stored(CASE, 2), stored(CASE, 3),
                    stored(RESOURCE, 2), stored(CASE, 4)])


def check(rows: list[ChainRow]) -> ChainChecker:
    checker = ChainChecker()
    for row in rows:
        checker.check(row)
    return checker


def altered(row: ChainRow, text: str) -> ChainRow:
    event = row.event
    return ChainRow(row.position, StoredEvent(originator_id=event.originator_id,
                                              originator_version=event.originator_version,
                                              topic=event.topic, state=text.encode()),
                    row.recorded)


def test_an_intact_history_has_no_breaks() -> None:
    checker = check(interleaved())

    assert checker.breaks == []
    assert (checker.events_checked, checker.streams_checked) == (6, 2)


def test_a_changed_byte_is_named_with_stream_version_position_and_both_hashes() -> None:
    rows = interleaved()
    original = rows[2]
    rows[2] = altered(original, "changed")

    checker = check(rows)

    [broken] = checker.breaks  # only the altered event: its successors still link to it
    assert (broken.kind, broken.stream_id, broken.version, broken.position) == (
        "altered", CASE, 2, 3)
    assert broken.expected == original.recorded.hex()  # type: ignore[union-attr]
    assert broken.found == chain_hash(rows[0].recorded or b"", rows[2].event).hex()
    assert checker.first_break == broken


def test_a_rewritten_chain_row_breaks_it_and_its_successor() -> None:
    rows = interleaved()
    rows[2] = ChainRow(rows[2].position, rows[2].event, bytes(32))

    checker = check(rows)

    assert [(b.kind, b.version) for b in checker.breaks] == [("altered", 2), ("altered", 3)]


def test_a_missing_event_is_a_gap_in_the_stream() -> None:
    rows = interleaved()
    del rows[3]  # case version 3

    [gap] = check(rows).breaks

    assert (gap.kind, gap.stream_id, gap.version, gap.found) == ("missing", CASE, 3, "version 4")


def test_an_event_without_a_chain_row_is_unchained() -> None:
    rows = interleaved()
    rows[4] = ChainRow(rows[4].position, rows[4].event, None)

    [unchained] = check(rows).breaks

    assert (unchained.kind, unchained.stream_id, unchained.version) == ("unchained", RESOURCE, 2)


def test_a_chain_row_without_its_event_is_orphaned() -> None:
    checker = ChainChecker()
    checker.orphan(CASE, 5, b"\x01" * 32)

    assert checker.first_break is not None
    assert (checker.first_break.kind, checker.first_break.position) == ("orphaned", None)


def test_breaks_beyond_the_limit_are_counted_as_truncated() -> None:
    rows = [altered(r, "x") for r in interleaved()]
    checker = ChainChecker(max_breaks=2)
    for row in rows:
        checker.check(row)

    assert len(checker.breaks) == 2
    assert checker.truncated


def test_the_recomputed_hash_is_the_full_chain_from_genesis() -> None:
    rows = interleaved()
    checker = ChainChecker()

    recomputed = [checker.check(row) for row in rows]

    assert recomputed == [r.recorded for r in rows]


def test_an_anchor_digest_depends_on_every_position_and_hash_in_its_range() -> None:
    pairs: list[tuple[int, bytes | None]] = [(1, b"\x01" * 32), (2, b"\x02" * 32),
                                             (4, b"\x04" * 32)]
    digest = anchor_digest(1, 4, pairs)

    assert digest == anchor_digest(1, 4, list(pairs))
    assert digest != anchor_digest(1, 4, [pairs[0], (2, b"\x09" * 32), pairs[2]])
    assert digest != anchor_digest(1, 4, [pairs[0], pairs[2]])  # an event removed
    assert digest != anchor_digest(1, 5, pairs)  # another range
    assert len(digest) == 64


def test_an_anchor_digest_covers_its_range_inclusively() -> None:
    digest = AnchorDigest(3, 5)

    assert [p for p in range(1, 8) if digest.covers(p)] == [3, 4, 5]
