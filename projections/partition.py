"""Streams dealt out between rebuild processes, and the changes that cross between them.

A rebuild in N processes gives every process every read model and a share of the streams
(by the last byte of the stream id), so each event is read and decoded once, by the one
process that owns its stream. Every row belongs to a stream too: its table's owner column
(the first key column) names it.

- Insert, Upsert, Update and Delete touch only rows of the event's own stream: their order
  matters, and only the stream's own process sees all of that stream's events, in order.
  A projection that does otherwise cannot be rebuilt in parts; the rebuild stops with
  `CrossStreamChange` naming it (one process would have built it, wrongly or not, only by
  luck of where the streams fell).
- Increment and Latest may touch another stream's row (a volunteer's last activity, set by
  case events): a sum and a maximum do not depend on order. The process that owns that row
  applies them as they come; every other process folds them into one change per row and
  column (`Crossing`), and the parent applies those once every process has loaded its rows.
  A column fed this way must not also be set by an Upsert or Update of its own stream's
  events, whose order against the folded change would be lost.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

from projections.changes import Change, Increment, Latest, later, row_of
from projections.records import EventRecord
from projections.schema import Table
from projections.values import stream_key

BYTE = 0xFF


class CrossStreamChange(Exception):
    """A projection changed, in an order-dependent way, a row of a stream other than the
    event's own: the rebuild cannot split streams between processes for it."""


@dataclass(frozen=True)
class Partition:
    """Process `index` of `count`: the streams whose id's last byte is `index` modulo `count`."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"partition {self.index} of {self.count} does not exist")

    def holds(self, stream_id: UUID) -> bool:
        """Whether this process owns the stream (read from the store as a UUID). The
        PostgreSQL source asks the same in SQL: get_byte(uuid_send(id), 15) % count."""
        return (stream_id.int & BYTE) % self.count == self.index

    def holds_text(self, stream_id: str) -> bool:
        """Whether this process owns the stream named by a row (canonical UUID text)."""
        return int(stream_id[-2:], 16) % self.count == self.index


class Crossing:
    """Increments and Latests to other processes' rows, folded to one per row and column."""

    def __init__(self) -> None:
        self._folded: dict[tuple[str, tuple[tuple[str, object], ...], str, type], Change] = {}

    def __len__(self) -> int:
        return len(self._folded)

    def add(self, change: Increment | Latest) -> None:
        slot = (change.table, tuple(change.key.items()), change.column, type(change))
        held = self._folded.get(slot)
        if held is None:
            self._folded[slot] = (
                Increment(change.table, dict(change.key), change.column, change.delta)
                if isinstance(change, Increment)
                else Latest(change.table, dict(change.key), change.column, change.value))
        elif isinstance(held, Increment) and isinstance(change, Increment):
            held.delta += change.delta
        elif isinstance(held, Latest) and isinstance(change, Latest):
            held.value = later(held.value, change.value)

    def extend(self, changes: Iterable[Change]) -> None:
        for change in changes:
            if not isinstance(change, Increment | Latest):
                raise TypeError(f"only Increment and Latest cross processes, not {change!r}")
            self.add(change)

    def changes(self) -> list[Change]:
        return list(self._folded.values())


class Router:
    """Where one process's Increments and Latests go: into its own memory tables when the
    row is of its streams, else set aside (`crossing`). `MemoryTables(keep=router.here)`
    asks it only for those two kinds of change, so the millions of others pay nothing. That
    the others stay on their own stream is the projection's contract, which `own_rows_only`
    checks and the projection tests run on every event type.
    """

    def __init__(self, name: str, tables: Iterable[Table], partition: Partition) -> None:
        self.name, self.partition = name, partition
        self.owners = {t.name: t.owner for t in tables}
        self.crossing = Crossing()

    def here(self, change: Increment | Latest) -> bool:
        """Whether this process applies the change; if not, it is set aside."""
        owner = change.key.get(self.owners[change.table])
        if type(owner) is not str:
            raise CrossStreamChange(f"{self.name}: {type(change).__name__} on {change.table} "
                                    f"names no owner ({self.owners[change.table]})")
        if self.partition.holds_text(owner):
            return True
        self.crossing.add(change)
        return False


def own_rows_only(projection_name: str, tables: Iterable[Table], record: EventRecord,
                  changes: Sequence[Change]) -> None:
    """Raise CrossStreamChange if an Insert, Upsert, Update or Delete of `record` touches a
    row of a stream other than the record's own (see the module's docstring)."""
    owners = {t.name: t.owner for t in tables}
    own = stream_key(record)
    for change in changes:
        if isinstance(change, Increment | Latest):
            continue
        owner = row_of(change).get(owners[change.table])
        if owner != own:
            raise CrossStreamChange(
                f"{projection_name}: {type(change).__name__} on {change.table} from "
                f"{record.type} at position {record.position} touches the row of "
                f"{owners[change.table]}={owner!r}, not of its own stream {own}; only "
                "Increment and Latest may")
