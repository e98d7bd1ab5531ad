"""Read-model tables declared once in Python, created in PostgreSQL or SQLite per generation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """A column's type, mapped to each database's own."""

    TEXT = "text"
    ID = "id"
    """A UUID, as canonical text in rows (uuid in PostgreSQL: 16 bytes, quick to index)."""
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    TIME = "time"


TEXT, ID, INT, FLOAT, BOOL, TIME = (Kind.TEXT, Kind.ID, Kind.INT, Kind.FLOAT, Kind.BOOL,
                                    Kind.TIME)

PG_TYPES = {Kind.TEXT: "text", Kind.ID: "uuid", Kind.INT: "bigint", Kind.FLOAT: "double precision",
            Kind.BOOL: "boolean", Kind.TIME: "timestamptz"}
SQLITE_TYPES = {Kind.TEXT: "TEXT", Kind.ID: "TEXT", Kind.INT: "INTEGER", Kind.FLOAT: "REAL",
                Kind.BOOL: "INTEGER", Kind.TIME: "TEXT"}


@dataclass(frozen=True)
class Column:
    """One column; `default` fills it when a change does not name it."""

    name: str
    kind: Kind
    default: Any = None


@dataclass(frozen=True)
class Table:
    """A read-model table: columns, primary key and secondary indexes."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = ()
    append_only: bool = False
    """Rows are only ever inserted (the rebuild may stream them out in chunks)."""
    column_names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "column_names", tuple(c.name for c in self.columns))
        missing = [k for k in self.key if k not in self.column_names]
        if missing:
            raise ValueError(f"{self.name}: key columns {missing} are not columns")

    @property
    def owner(self) -> str:
        """The column naming the stream a row belongs to: the first key column. A rebuild
        in several processes splits streams between them by it (projections.partition)."""
        return self.key[0]

    def defaults(self) -> dict[str, Any]:
        """A row of defaults (None where there is none)."""
        return {c.name: c.default for c in self.columns}


def comparable(kind: Kind, value: Any) -> Any:
    """A stored value as one store or the other reads it back, made equal across them:
    ids as text, times as UTC datetimes, booleans as bool."""
    if value is None:
        return None
    if kind is Kind.ID:
        return str(value)
    if kind is Kind.TIME:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        return moment.astimezone(UTC)
    if kind is Kind.BOOL:
        return bool(value)
    return value


def normalised(table: Table, rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Rows of a table as comparable tuples, sorted: to check two stores (or a store and
    a projection in memory) hold the same rows."""
    out = [tuple(comparable(c.kind, r[c.name]) for c in table.columns) for r in rows]
    return sorted(out, key=lambda row: tuple((v is None, str(v)) for v in row))


def physical(name: str, generation: int) -> str:
    """The real table name of a logical table in one generation (blue/green rebuilds)."""
    return f"rm_{name}_g{generation}"


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"unsupported default {value!r}")


def _sqlite_literal(value: Any) -> str:
    return str(int(value)) if isinstance(value, bool) else _literal(value)


def create_statements(table: Table, generation: int | None, dialect: str, *,
                      deferred: bool = False) -> list[str]:
    """CREATE TABLE and CREATE INDEX statements for one generation of a table
    (generation None: the table under its own name, for the bookkeeping tables).

    `deferred`: on PostgreSQL, leave out the primary key and indexes, so a rebuild's COPY
    appends to a bare heap; `index_statements` adds them once the rows are in.
    """
    name = table.name if generation is None else physical(table.name, generation)
    types = PG_TYPES if dialect == "postgres" else SQLITE_TYPES
    literal = _literal if dialect == "postgres" else _sqlite_literal
    columns = [f"{c.name} {types[c.kind]}"
               + ("" if c.default is None else f" DEFAULT {literal(c.default)}")
               for c in table.columns]
    later = deferred and dialect == "postgres"
    if not later:
        columns.append(f"PRIMARY KEY ({', '.join(table.key)})")
    create = f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(columns)})"
    return [create] if later else [create, *_secondary(table, name)]


def index_statements(table: Table, generation: int, dialect: str) -> list[str]:
    """The key and indexes `create_statements(..., deferred=True)` left out.

    The key becomes a unique index (what ON CONFLICT needs) rather than a PRIMARY KEY
    constraint: ALTER TABLE would lock out the other index builds running beside it.
    """
    if dialect != "postgres":
        return []
    name = physical(table.name, generation)
    return [f"CREATE UNIQUE INDEX IF NOT EXISTS {name}_key ON {name} ({', '.join(table.key)})",
            *_secondary(table, name)]


def _secondary(table: Table, name: str) -> list[str]:
    return [f"CREATE INDEX IF NOT EXISTS {name}_{'_'.join(index)}_idx ON {name} "
            f"({', '.join(index)})" for index in table.indexes]


def drop_statement(table: Table, generation: int) -> str:
    """DROP TABLE for one generation of a table."""
    return f"DROP TABLE IF EXISTS {physical(table.name, generation)}"
