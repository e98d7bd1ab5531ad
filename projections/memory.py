"""Read-model tables in memory, with the writers' exact semantics.

Rebuilds fold millions of changes here (one dict operation each, no SQL) and then copy
the final rows out in bulk; unit tests use it as the reference writer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any

from projections.changes import (
    Change,
    Delete,
    Increment,
    Insert,
    Latest,
    Update,
    Upsert,
    later,
)
from projections.schema import Table

Key = tuple[Any, ...]


class MemoryTable:
    """Rows by primary key, plus secondary indexes built on first use of a match."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.rows: dict[Key, dict[str, Any]] = {}
        self._defaults = table.defaults()
        self._width = len(table.columns)
        self._indexes: dict[tuple[str, ...], dict[Key, set[Key]]] = {}
        self._key: Callable[[Mapping[str, Any]], Key] = _getter(table.key)
        self.record: Callable[[Mapping[str, Any]], tuple[Any, ...]] = _getter(
            table.column_names)
        """A full row as a tuple in column order (for COPY)."""

    def key_of(self, values: Mapping[str, Any]) -> Key:
        return self._key(values)

    def insert(self, values: Mapping[str, Any]) -> None:
        key = self._key(values)
        if key not in self.rows:
            # An append-only row naming every column is never changed later, so it is kept
            # as it is, without a copy (rebuilds insert millions of audit rows).
            keep = self.table.append_only and len(values) == self._width and type(values) is dict
            self._add(key, values if keep else {**self._defaults, **values})  # type: ignore[arg-type]

    def upsert(self, key_values: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        key = self.key_of(key_values)
        row = self.rows.get(key)
        if row is None:
            self._add(key, {**self._defaults, **key_values, **values})
        else:
            self._set(key, row, values)

    def increment(self, key_values: Mapping[str, Any], column: str, delta: float) -> None:
        key = self.key_of(key_values)
        row = self.rows.get(key)
        if row is None:
            self._add(key, {**self._defaults, **key_values, column: delta})
        else:
            self._set(key, row, {column: (row[column] or 0) + delta})

    def latest(self, key_values: Mapping[str, Any], column: str, value: Any) -> None:
        key = self.key_of(key_values)
        row = self.rows.get(key)
        if row is None:
            self._add(key, {**self._defaults, **key_values, column: value})
        elif later(row[column], value) is not row[column]:
            self._set(key, row, {column: value})

    def update(self, match: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        for key in self.matching(match):
            self._set(key, self.rows[key], values)

    def delete(self, match: Mapping[str, Any]) -> None:
        for key in self.matching(match):
            row = self.rows.pop(key)
            for columns, index in self._indexes.items():
                _discard(index, tuple(row[c] for c in columns), key)

    def matching(self, match: Mapping[str, Any]) -> list[Key]:
        """Keys of the rows whose columns equal `match` (None equals NULL)."""
        if all(k in match for k in self.table.key):
            key = self.key_of(match)
            row = self.rows.get(key)
            return [key] if row is not None and _matches(row, match) else []
        columns = tuple(sorted(match))
        index = self._indexes.get(columns)
        if index is None:
            index = self._build_index(columns)
        return list(index.get(tuple(match[c] for c in columns), ()))

    def _build_index(self, columns: tuple[str, ...]) -> dict[Key, set[Key]]:
        index: dict[Key, set[Key]] = {}
        for key, row in self.rows.items():
            index.setdefault(tuple(row[c] for c in columns), set()).add(key)
        self._indexes[columns] = index
        return index

    def _add(self, key: Key, row: dict[str, Any]) -> None:
        self.rows[key] = row
        for columns, index in self._indexes.items():
            index.setdefault(tuple(row[c] for c in columns), set()).add(key)

    def _set(self, key: Key, row: dict[str, Any], values: Mapping[str, Any]) -> None:
        if not self._indexes:  # the common case in a rebuild: no index to keep in step
            row.update(values)
            return
        touched = [(cols, ix) for cols, ix in self._indexes.items() if any(c in values
                                                                           for c in cols)]
        for columns, index in touched:
            _discard(index, tuple(row[c] for c in columns), key)
        row.update(values)
        for columns, index in touched:
            index.setdefault(tuple(row[c] for c in columns), set()).add(key)


def _getter(columns: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """A fast (C-level) extractor of some columns as a tuple."""
    get = itemgetter(*columns)
    if len(columns) == 1:
        return lambda values: (get(values),)
    return get


def _matches(row: Mapping[str, Any], match: Mapping[str, Any]) -> bool:
    return all(row.get(c) == v for c, v in match.items())


def _discard(index: dict[Key, set[Key]], value: Key, key: Key) -> None:
    keys = index.get(value)
    if keys is not None:
        keys.discard(key)
        if not keys:
            del index[value]


Keep = Callable[[Increment | Latest], bool]
"""Whether an Increment or Latest is applied here (a partitioned rebuild sets some aside)."""


class MemoryTables:
    """All tables of some read models, applying changes like a database would; with
    `keep`, only the Increments and Latests it says yes to."""

    def __init__(self, tables: Iterable[Table], keep: Keep | None = None) -> None:
        self.tables = {t.name: MemoryTable(t) for t in tables}
        self._apply = _APPLY if keep is None else {**_APPLY, **_kept(keep)}

    def apply(self, changes: Sequence[Change]) -> None:
        tables, apply = self.tables, self._apply
        for change in changes:
            apply[type(change)](tables[change.table], change)

    def rows(self, name: str) -> list[dict[str, Any]]:
        """The table's rows, ordered by primary key (for comparisons in tests)."""
        table = self.tables[name]
        return [table.rows[k] for k in sorted(table.rows, key=_sortable)]

    def drain(self, name: str) -> Iterator[dict[str, Any]]:
        """Remove and yield every row (append-only tables are streamed out in chunks)."""
        table = self.tables[name]
        rows, table.rows = table.rows, {}
        table._indexes.clear()
        yield from rows.values()

    def drain_records(self, name: str) -> list[tuple[Any, ...]]:
        """Remove every row and return them as tuples in column order (for COPY)."""
        record = self.tables[name].record
        return [record(row) for row in self.drain(name)]


_APPLY: dict[type, Callable[[MemoryTable, Any], None]] = {
    Insert: lambda t, c: t.insert(c.values),
    Upsert: lambda t, c: t.upsert(c.key, c.values),
    Update: lambda t, c: t.update(c.match, c.values),
    Increment: lambda t, c: t.increment(c.key, c.column, c.delta),
    Latest: lambda t, c: t.latest(c.key, c.column, c.value),
    Delete: lambda t, c: t.delete(c.match),
}


def _kept(keep: Keep) -> dict[type, Callable[[MemoryTable, Any], None]]:
    def increment(table: MemoryTable, change: Increment) -> None:
        if keep(change):
            table.increment(change.key, change.column, change.delta)

    def latest(table: MemoryTable, change: Latest) -> None:
        if keep(change):
            table.latest(change.key, change.column, change.value)
    return {Increment: increment, Latest: latest}


def _sortable(key: Key) -> tuple[Any, ...]:
    return tuple((v is None, "" if v is None else v) for v in key)
