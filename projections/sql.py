"""SQL text for each change shape, in PostgreSQL ($1) or SQLite (?) placeholder style."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from projections.changes import Shape


def placeholders(dialect: str) -> Callable[[], str]:
    """A generator of the next placeholder for the dialect."""
    if dialect == "sqlite":
        return lambda: "?"
    counter = itertools.count(1)
    return lambda: f"${next(counter)}"


def numbered(sql: str, dialect: str) -> str:
    """Turn '?' placeholders into '$n' for PostgreSQL (queries are written with '?')."""
    if dialect == "sqlite":
        return sql
    parts = sql.split("?")
    return "".join(p + (f"${i}" if i < len(parts) else "") for i, p in enumerate(parts, 1))


_PARAMETER = re.compile(r"\$(\d+)")


@lru_cache(maxsize=4096)
def renumbered(sql: str, offset: int) -> str:
    """PostgreSQL SQL with every `$n` placeholder moved up by `offset` (to join statements
    into one; the SQL here names no `$` but its placeholders)."""
    if offset == 0:
        return sql
    return _PARAMETER.sub(lambda m: f"${int(m.group(1)) + offset}", sql)


def _where(equal: tuple[str, ...], null: tuple[str, ...], mark: Callable[[], str]) -> str:
    terms = [f"{c} = {mark()}" for c in equal] + [f"{c} IS NULL" for c in null]
    return " AND ".join(terms) if terms else "TRUE"


@lru_cache(maxsize=1024)
def statement(shape: Shape, table: str, key: tuple[str, ...], dialect: str) -> str:
    """The SQL for one shape against a physical table whose primary key is `key`."""
    op, _, match, null, columns = shape
    mark = placeholders(dialect)
    if op == "insert":
        marks = ", ".join(mark() for _ in columns)
        return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
                f"ON CONFLICT ({', '.join(key)}) DO NOTHING")
    if op == "upsert":
        cols = (*match, *columns)
        marks = ", ".join(mark() for _ in cols)
        action = ("DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in columns)
                  if columns else "DO NOTHING")
        return (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks}) "
                f"ON CONFLICT ({', '.join(match)}) {action}")
    if op == "increment":
        (column,) = columns
        cols = (*match, column)
        marks = ", ".join(mark() for _ in cols)
        return (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks}) "
                f"ON CONFLICT ({', '.join(match)}) DO UPDATE SET "
                f"{column} = COALESCE({table}.{column}, 0) + excluded.{column}")
    if op == "latest":
        (column,) = columns
        cols = (*match, column)
        marks = ", ".join(mark() for _ in cols)
        later = (f"GREATEST({table}.{column}, excluded.{column})" if dialect == "postgres"
                 else f"MAX(COALESCE({table}.{column}, excluded.{column}), excluded.{column})")
        return (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks}) "
                f"ON CONFLICT ({', '.join(match)}) DO UPDATE SET {column} = {later}")
    if op == "update":
        sets = ", ".join(f"{c} = {mark()}" for c in columns)
        return f"UPDATE {table} SET {sets} WHERE {_where(match, null, mark)}"
    if op == "delete":
        return f"DELETE FROM {table} WHERE {_where(match, null, mark)}"
    raise ValueError(f"unknown change operation {op}")


@lru_cache(maxsize=1024)
def array_statement(shape: Shape, table: str, key: tuple[str, ...],
                    types: tuple[str, ...]) -> str | None:
    """PostgreSQL: the insert or upsert of many rows as one statement over column arrays
    (`types` are the PostgreSQL types of the shape's columns, in order), or None for other
    shapes. One statement per group instead of one per row: the row-by-row executemany was
    a tenth of the in-process API's CPU. Safe because a group never holds two changes to
    one row (see projections.batching), which ON CONFLICT DO UPDATE would refuse."""
    op, _, match, _, columns = shape
    if op == "insert":
        cols, action = columns, f"ON CONFLICT ({', '.join(key)}) DO NOTHING"
    elif op == "upsert":
        cols = (*match, *columns)
        action = (f"ON CONFLICT ({', '.join(match)}) " +
                  ("DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in columns)
                   if columns else "DO NOTHING"))
    else:
        return None
    arrays = ", ".join(f"${i}::{t}[]" for i, t in enumerate(types, 1))
    return f"INSERT INTO {table} ({', '.join(cols)}) SELECT * FROM unnest({arrays}) {action}"


def shape_columns(shape: Shape) -> tuple[str, ...]:
    """The columns a shape's parameters fill, in parameter order (insert and upsert)."""
    op, _, match, _, columns = shape
    return columns if op == "insert" else (*match, *columns)


def sqlite_time(value: datetime) -> str:
    """SQLite keeps times as fixed-width UTC text, so text order is time order."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def sqlite_value(value: Any) -> Any:
    """A Python value as SQLite stores it."""
    if isinstance(value, datetime):
        return sqlite_time(value)
    return value


def sqlite_row(values: Mapping[str, Any]) -> dict[str, Any]:
    """A row's values as SQLite stores them."""
    return {k: sqlite_value(v) for k, v in values.items()}
