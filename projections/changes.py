"""Row changes: what a projection function returns and a writer applies.

Six operations cover every read model without the projection reading the database:
Insert (append, ignored when the key exists), Upsert (insert or overwrite some columns),
Update (set columns on every row matching some columns; None matches NULL),
Increment (add to a counter, creating the row), Latest (raise a column to a value unless
it is already later: "last activity" fed by several streams that may arrive out of order)
and Delete. Consecutive changes of the
same shape share one SQL statement, so a writer sends them together.

Changes are values: a projection builds them and writers only read them. They are not
frozen dataclasses on purpose: a frozen dataclass's __init__ sets each field through
object.__setattr__, which makes building one several times slower, and a rebuild builds
four or five per event, millions in all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Row = Mapping[str, Any]


@dataclass(slots=True)
class Insert:
    """Append a row; a row with the same key already there is kept (idempotent)."""

    table: str
    values: Row


@dataclass(slots=True)
class Upsert:
    """Insert the row, or overwrite only `values` on the row with this key."""

    table: str
    key: Row
    values: Row


@dataclass(slots=True)
class Update:
    """Set `values` on every row whose columns equal `match` (None matches NULL)."""

    table: str
    match: Row
    values: Row


@dataclass(slots=True)
class Increment:
    """Add `delta` to a counter column, creating the row (counter = delta) if missing."""

    table: str
    key: Row
    column: str
    delta: int | float


@dataclass(slots=True)
class Latest:
    """Set `column` to `value` unless it already holds a larger one, creating the row."""

    table: str
    key: Row
    column: str
    value: Any


@dataclass(slots=True)
class Delete:
    """Remove every row whose columns equal `match` (None matches NULL)."""

    table: str
    match: Row


Change = Insert | Upsert | Update | Increment | Latest | Delete

Shape = tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]
"""(operation, table, match columns, NULL-matched columns, value columns)."""


def row_of(change: Change) -> Row:
    """The columns naming the row(s) a change touches: an Insert's values, an Update's or a
    Delete's match, the others' key."""
    if isinstance(change, Insert):
        return change.values
    if isinstance(change, Update | Delete):
        return change.match
    return change.key


def later(held: Any, value: Any) -> Any:
    """Latest's rule, wherever it is folded in Python: None never replaces a value, and
    otherwise the larger one stays (`held` itself when it does)."""
    if value is None:
        return held
    if held is None:
        return value
    return value if value > held else held


def shape(change: Change) -> Shape:
    """What decides the SQL text of a change: equal shapes share one statement."""
    if isinstance(change, Insert):
        return ("insert", change.table, (), (), tuple(change.values))
    if isinstance(change, Upsert):
        return ("upsert", change.table, tuple(change.key), (), tuple(change.values))
    if isinstance(change, Increment):
        return ("increment", change.table, tuple(change.key), (), (change.column,))
    if isinstance(change, Latest):
        return ("latest", change.table, tuple(change.key), (), (change.column,))
    match = change.match
    equal = tuple(k for k, v in match.items() if v is not None)
    null = tuple(k for k, v in match.items() if v is None)
    if isinstance(change, Update):
        return ("update", change.table, equal, null, tuple(change.values))
    return ("delete", change.table, equal, null, ())


def runs(changes: Sequence[Change]) -> Iterator[tuple[Shape, list[Change]]]:
    """Split changes into consecutive runs of one shape, keeping their order."""
    current: list[Change] = []
    current_shape: Shape | None = None
    for change in changes:
        this = shape(change)
        if this != current_shape and current:
            assert current_shape is not None
            yield current_shape, current
            current = []
        current_shape = this
        current.append(change)
    if current:
        assert current_shape is not None
        yield current_shape, current


def parameters(change: Change) -> list[Any]:
    """The change's values in the order its shape's statement binds them."""
    if isinstance(change, Insert):
        return list(change.values.values())
    if isinstance(change, Upsert):
        return [*change.key.values(), *change.values.values()]
    if isinstance(change, Increment):
        return [*change.key.values(), change.delta]
    if isinstance(change, Latest):
        return [*change.key.values(), change.value]
    matched = [v for v in change.match.values() if v is not None]
    if isinstance(change, Update):
        return [*change.values.values(), *matched]
    return matched
