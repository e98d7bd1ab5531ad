"""Order a batch of changes into as few SQL statements as possible, without changing results.

Tables are independent, so each table's changes form their own list. Within a table, a
change to a row is first folded into an earlier one of its kind to the same row where the
two make one change and nothing between them sets the same columns (two Upserts, two
Increments or two Latests of one column): a busy volunteer's "last activity", raised by each
of their events, is one statement, not one per event. Only changes to the same row must
keep their order, so each change goes to the first "layer" after the previous change to its
row; a change that may touch several rows (an Update or Delete whose match lacks part of the
key) is a barrier that orders against everything. In each layer, changes of one shape share
one statement, sent with executemany.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from projections.changes import (
    Change,
    Delete,
    Increment,
    Insert,
    Latest,
    Shape,
    Update,
    Upsert,
    later,
    shape,
)
from projections.schema import Table

Group = tuple[Shape, list[Change]]


def row_key(change: Change, key: tuple[str, ...]) -> tuple[Any, ...] | None:
    """The primary key of the one row a change touches, or None if it may touch several.
    (Written for speed: it runs for every change an in-process projection commits, and
    generator expressions made it a third of the time spent planning the SQL.)"""
    if isinstance(change, (Update, Delete)):
        match = change.match
        if not match.keys() >= set(key):  # more columns only narrow it to that row or none
            return None
        if isinstance(change, Update) and not change.values.keys().isdisjoint(key):
            return None  # it moves the row to another key
        row = tuple([match[k] for k in key])
        return None if None in row else row
    values = change.values if isinstance(change, Insert) else change.key
    if len(key) == 1:
        return (values.get(key[0]),)
    return tuple([values.get(k) for k in key])


def folded(changes: list[Change], key: tuple[str, ...]) -> list[Change]:
    """The changes with each Upsert, Latest or Increment folded into an earlier one of the
    same kind to its row (and column) where nothing between them touches the columns they
    set: those commute, whichever creates the row. Nothing folds across a barrier or across
    an Insert, Update or Delete of the row; applying the result gives the same rows."""
    out: list[Change] = []
    open_: dict[tuple[Any, ...], list[int]] = {}  # per row: indexes in `out` that commute
    for change in changes:
        row = row_key(change, key)
        if row is None:
            open_.clear()
            out.append(change)
            continue
        columns = _sets(change)
        if columns is None:  # an Insert, Update or Delete of the row: orders against all
            open_[row] = []
            out.append(change)
            continue
        members = open_.setdefault(row, [])
        target = next((i for i in members if fold(out[i], change) is not None), None)
        others = [i for i in members if i != target]
        if any(not columns.isdisjoint(_sets(out[i]) or ()) for i in others):
            open_[row] = [len(out)]
            out.append(change)
        elif target is not None:
            out[target] = fold(out[target], change) or change
        else:
            members.append(len(out))
            out.append(change)
    return out


def _sets(change: Change) -> frozenset[str] | None:
    """The columns an Upsert, Latest or Increment sets (None for the other changes)."""
    if isinstance(change, Upsert):
        return frozenset(change.values)
    if isinstance(change, Latest | Increment):
        return frozenset((change.column,))
    return None


def fold(first: Change, then: Change) -> Change | None:
    """One change doing what `first` then `then` (to the same row) do, or None."""
    if isinstance(first, Upsert) and isinstance(then, Upsert):
        return Upsert(first.table, first.key, {**first.values, **then.values})
    if isinstance(first, Latest) and isinstance(then, Latest) and first.column == then.column:
        return Latest(first.table, first.key, first.column, later(first.value, then.value))
    if (isinstance(first, Increment) and isinstance(then, Increment)
            and first.column == then.column):
        return Increment(first.table, first.key, first.column, first.delta + then.delta)
    return None


def in_key_order(changes: list[Change], key: tuple[str, ...]) -> list[Change]:
    """A group's changes (distinct rows) in the order of their rows' keys: two processes
    changing the same rows (projection workers of different partitions raising one
    volunteer's last activity) then lock them in the same order, where the order the events
    came in made them deadlock, each waiting a second for PostgreSQL to abort one."""
    if len(changes) < 2:
        return changes
    return sorted(changes, key=lambda change: _sortable(row_key(change, key)))


def _sortable(row: tuple[Any, ...] | None) -> tuple[str, ...]:
    return () if row is None else tuple("" if v is None else str(v) for v in row)


def _layers(changes: list[Change], key: tuple[str, ...]) -> list[list[Change]]:
    layers: list[list[Change]] = []
    last_layer: dict[tuple[Any, ...], int] = {}
    floor = 0  # every change after a barrier goes after it
    for change in changes:
        row = row_key(change, key)
        if row is None:
            layer = len(layers)
            floor = layer + 1
        else:
            layer = max(last_layer.get(row, -1) + 1, floor)
            last_layer[row] = layer
        while len(layers) <= layer:
            layers.append([])
        layers[layer].append(change)
    return layers


def plan(changes: list[Change], tables: Mapping[str, Table]) -> list[Group]:
    """Statement groups to run in order; same results as applying `changes` one by one."""
    return [group for layer in plan_layers(changes, tables) for group in layer]


def plan_layers(changes: list[Change], tables: Mapping[str, Table]) -> list[list[Group]]:
    """The plan as layers to run in order: within a layer no two changes touch one row and
    a change that may touch several rows is alone in its table's part, so the groups of a
    layer may run in any order, or as one statement (what PostgreSQL's commit does)."""
    by_table: dict[str, list[Change]] = {}
    for change in changes:
        by_table.setdefault(change.table, []).append(change)
    layers: list[list[Group]] = []
    for name, table_changes in sorted(by_table.items()):  # tables in one order everywhere
        key = tables[name].key
        for index, layer in enumerate(_layers(folded(table_changes, key), key)):
            by_shape: dict[Shape, list[Change]] = {}
            for change in layer:
                by_shape.setdefault(shape(change), []).append(change)
            while len(layers) <= index:
                layers.append([])
            layers[index].extend((group_shape, in_key_order(group, key))
                                 for group_shape, group in sorted(by_shape.items(),
                                                                  key=lambda item: item[0]))
    return layers
