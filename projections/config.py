"""Where read models live and where events are read from, as plain (picklable) values.

The embedded default keeps read models in their own SQLite file beside the event store
(data/readmodels.sqlite); with PostgreSQL they live in the event store's database and
schema, as rm_<table>_g<generation> tables plus the projection_* bookkeeping tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from projections.pg_store import PostgresStore
from projections.sources import PostgresEventSource, SQLiteEventSource
from projections.sqlite_store import SQLiteStore
from projections.store import ReadModelStore


@dataclass(frozen=True)
class StoreConfig:
    """The read-model database: PostgreSQL (dsn, schema) or SQLite (file path)."""

    dialect: str
    location: str
    schema: str = "public"
    shared: bool = False
    """SQLite: other processes read the read models too (they learn of board changes
    through the file, projections.sqlite_store); PostgreSQL always tells them (NOTIFY)."""

    def open(self) -> ReadModelStore:
        """A store object (call `start()` before use)."""
        if self.dialect == "postgres":
            return PostgresStore(self.location, self.schema)
        return SQLiteStore(Path(self.location), shared=self.shared)


@dataclass(frozen=True)
class SourceConfig:
    """The event store's table, read directly by rebuilds."""

    dialect: str
    location: str
    table: str

    def open(self) -> PostgresEventSource | SQLiteEventSource:
        if self.dialect == "postgres":
            return PostgresEventSource(self.location, self.table)
        return SQLiteEventSource(Path(self.location), self.table)
