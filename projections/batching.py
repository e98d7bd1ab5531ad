"""Order a batch of changes into as few SQL statements as possible, without changing results.

Tables are independent, so each table's changes form their own list. Within a table, only
changes to the same row must keep their order, so each change goes to the first "layer"
after the previous change to its row; a change that matches rows by other columns (an
Update or Delete without the full key) is a barrier that orders against everything. In
each layer, changes of one shape share one statement, sent with executemany.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from projections.changes import Change, Delete, Insert, Shape, Update, shape
from projections.schema import Table

Group = tuple[Shape, list[Change]]


def row_key(change: Change, key: tuple[str, ...]) -> tuple[Any, ...] | None:
    """The primary key of the one row a change touches, or None if it may touch several.
    (Written for speed: it runs for every change an in-process projection commits, and
    generator expressions made it a third of the time spent planning the SQL.)"""
    if isinstance(change, (Update, Delete)):
        match = change.match
        if match.keys() != set(key):
            return None
        row = tuple([match[k] for k in key])
        return None if None in row else row
    values = change.values if isinstance(change, Insert) else change.key
    if len(key) == 1:
        return (values.get(key[0]),)
    return tuple([values.get(k) for k in key])


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
    by_table: dict[str, list[Change]] = {}
    for change in changes:
        by_table.setdefault(change.table, []).append(change)
    groups: list[Group] = []
    for name, table_changes in by_table.items():
        for layer in _layers(table_changes, tables[name].key):
            by_shape: dict[Shape, list[Change]] = {}
            for change in layer:
                by_shape.setdefault(shape(change), []).append(change)
            groups.extend(by_shape.items())
    return groups
