"""What both read-model writers (PostgreSQL, SQLite) offer, and the SQL they share."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Protocol

from projections.batching import Group, plan, plan_layers
from projections.catalog import Projection
from projections.changes import parameters
from projections.schema import (
    PG_TYPES,
    Table,
    create_statements,
    drop_statement,
    index_statements,
    physical,
)
from projections.sql import array_statement, renumbered, shape_columns, statement
from projections.tracking import (
    Generation,
    Mark,
    Position,
    PositionConflict,
    Target,
    Touched,
    Work,
)

Statement = tuple[str, list[list[Any]]]
"""SQL text and the argument lists to run it with (executemany when there are several)."""

BoardListener = Callable[[Touched], None]


class ReadModelStore(Protocol):
    """A database holding read models, their generations and positions."""

    dialect: str
    before_commit: Callable[[], None] | None
    """Test hook: runs inside the transaction after the changes, before COMMIT."""

    async def start(self) -> None: ...
    async def close(self) -> None: ...
    async def generations(self) -> list[Generation]: ...
    async def positions(self) -> list[Position]: ...
    async def create_generation(self, projection: Projection, generation: int, state: str,
                                position: int, *, deferred: bool = False) -> None: ...
    async def index_generation(self, projection: Projection, generation: int) -> None:
        """Add the keys and indexes a `deferred` generation was created without."""
    async def drop_generation(self, projection: Projection, generation: int) -> None: ...
    async def init_tracking(self, target: Target, source: str, parts: Iterable[int],
                            position: int) -> None: ...
    async def commit(self, works: Sequence[Work], *, switch: Sequence[Target] = (),
                     touched: Touched | None = None) -> None: ...
    async def bulk_load(self, target: Target, table: Table,
                        rows: Sequence[tuple[Any, ...]]) -> None:
        """Insert full rows, as tuples in the table's column order (COPY on PostgreSQL)."""
    def bulk_loader(self) -> BulkLoader:
        """A loader for a rebuild's streamed rows (in the background where it can be)."""
    async def fetch(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]: ...
    async def listen_board(self, listener: BoardListener) -> Callable[[], None]:
        """Call `listener` with the board rows every committed transaction changed."""


class BulkLoader(Protocol):
    """Takes chunks of full rows during a rebuild; `finish` waits until all are stored."""

    async def load(self, target: Target, table: Table,
                   rows: Sequence[tuple[Any, ...]]) -> None: ...
    async def finish(self) -> None: ...


class DirectLoader:
    """Loads each chunk before returning (SQLite: one writer at a time anyway)."""

    def __init__(self, store: ReadModelStore) -> None:
        self.store = store

    async def load(self, target: Target, table: Table,
                   rows: Sequence[tuple[Any, ...]]) -> None:
        await self.store.bulk_load(target, table, rows)

    async def finish(self) -> None:
        return None


def generation_statements(projection: Projection, generation: int, dialect: str, *,
                          deferred: bool = False) -> list[str]:
    """CREATE statements for every table of one generation of a read model."""
    return [s for t in projection.tables
            for s in create_statements(t, generation, dialect, deferred=deferred)]


def generation_index_statements(projection: Projection, generation: int,
                                dialect: str) -> list[str]:
    """Keys and indexes for a generation created with deferred indexes."""
    return [s for t in projection.tables for s in index_statements(t, generation, dialect)]


def drop_statements(projection: Projection, generation: int) -> list[str]:
    """DROP statements for every table of one generation of a read model."""
    return [drop_statement(t, generation) for t in projection.tables]


def change_statements(work: Work, dialect: str,
                      convert: Callable[[Any], Any] | None = None) -> list[Statement]:
    """The statements that apply a work's changes, grouped for executemany."""
    tables = {t.name: t for t in work.target.projection.tables}
    return [_group_statement(group, tables, work.target.generation, dialect, convert)
            for group in plan(work.changes, tables)]


def _group_statement(group: Group, tables: Mapping[str, Table], generation: int,
                     dialect: str, convert: Callable[[Any], Any] | None = None) -> Statement:
    group_shape, changes = group
    table = tables[group_shape[1]]
    into = physical(table.name, generation)
    args = [parameters(c) for c in changes]
    if dialect == "postgres" and len(args) > 1 and group_shape[0] in ARRAY_SHAPES:
        sql = array_statement(group_shape, into, table.key,
                              _pg_types(table, shape_columns(group_shape)))
        if sql is not None:
            return sql, [[list(column) for column in zip(*args, strict=True)]]
    sql = statement(group_shape, into, table.key, dialect)
    if convert is not None:
        args = [[convert(v) for v in row] for row in args]
    return sql, args


MAX_COMBINED_PARAMETERS = 30_000
"""PostgreSQL takes at most 65,535 parameters in one statement; well below it."""


def combined_statements(works: Sequence[Work]) -> list[Statement]:
    """PostgreSQL: the statements that apply all the works' changes, with every statement
    run once of a plan layer (of every table of every work) joined into one statement of
    data-modifying WITH queries. Within a layer no two statements touch one row (see
    projections.batching.plan_layers) and tables are independent, so running them in one
    statement (one snapshot, one round trip) gives what running them in turn gives. A
    read-model commit was about forty round trips, each a wait on the server."""
    layers: list[list[Statement]] = []
    for work in works:
        tables = {t.name: t for t in work.target.projection.tables}
        for index, groups in enumerate(plan_layers(work.changes, tables)):
            while len(layers) <= index:
                layers.append([])
            layers[index].extend(_group_statement(group, tables, work.target.generation,
                                                  "postgres") for group in groups)
    out: list[Statement] = []
    for statements in layers:
        out.extend(_joined([s for s in statements if len(s[1]) == 1]))
        out.extend(s for s in statements if len(s[1]) > 1)  # executemany: rows of one shape
    return out


def _joined(statements: list[Statement]) -> list[Statement]:
    """Statements run once each, as few statements as the parameter limit allows."""
    out: list[Statement] = []
    parts: list[str] = []
    args: list[Any] = []
    for sql, [row] in statements:
        if parts and len(args) + len(row) > MAX_COMBINED_PARAMETERS:
            out.append(_with_queries(parts, args))
            parts, args = [], []
        parts.append(renumbered(sql, len(args)))
        args.extend(row)
    if parts:
        out.append(_with_queries(parts, args))
    return out


def _with_queries(parts: list[str], args: list[Any]) -> Statement:
    if len(parts) == 1:
        return parts[0], [args]
    body = ", ".join(f"s{i} AS ({sql})" for i, sql in enumerate(parts))
    return f"WITH {body} SELECT 1", [args]


ARRAY_SHAPES = frozenset({"insert", "upsert"})


@lru_cache(maxsize=1024)
def _pg_types(table: Table, columns: tuple[str, ...]) -> tuple[str, ...]:
    """The PostgreSQL types of some of a table's columns, in the order given."""
    kinds = {c.name: PG_TYPES[c.kind] for c in table.columns}
    return tuple(kinds[c] for c in columns)


def advance_args(work: Work, mark: Mark, now: Any) -> tuple[Any, ...]:
    """Arguments of the conditional ADVANCE statement for one mark."""
    t = work.target
    return (mark.position, mark.store_position, now, t.name, t.generation, mark.source,
            mark.part, mark.expected)


def conflict(work: Work, mark: Mark) -> PositionConflict:
    """The error for a mark whose position another runner already moved."""
    return PositionConflict(f"{work.target.name} g{work.target.generation} "
                            f"{mark.source}/{mark.part} is no longer at {mark.expected}")
