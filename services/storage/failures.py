"""What a failed write to the event store says about the store, wherever it is read: in the
process that wrote (the API's error mapping) or in an HTTP worker that hears of it from the
writer process over its socket (services.runtime.ipc)."""

from __future__ import annotations

import errno
import sqlite3

import psycopg.errors
from eventsourcing.persistence import PersistenceError


class StoreFull(PersistenceError):
    """The writer process found the store's disk full (told over its socket)."""


def store_full(error: BaseException) -> bool:
    """The store's disk is full: SQLite's SQLITE_FULL, PostgreSQL's disk_full (53100) or an
    ENOSPC anywhere in the error's chain (the drivers' errors are wrapped by eventsourcing),
    or the writer process said so (StoreFull)."""
    seen: set[int] = set()
    found: BaseException | None = error
    while found is not None and id(found) not in seen:
        seen.add(id(found))
        if isinstance(found, StoreFull) or \
                getattr(found, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or \
                isinstance(found, psycopg.errors.DiskFull) or \
                (isinstance(found, OSError) and found.errno == errno.ENOSPC):
            return True
        found = found.__cause__ or found.__context__
    return False
