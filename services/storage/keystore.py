"""Wrapped data keys in the same database as the events (PostgreSQL or SQLite)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from services.storage.blind_index import pg_erase_entries, sqlite_erase_entries
from services.storage.sealing import KeysAfterCreate

NewKey = tuple[UUID, bytes, int]
"""(subject, wrapped key, master key version)."""


def pg_store_new_keys(curs: Any, schema: str, rows: Sequence[NewKey]) -> None:
    """In the caller's transaction: store keys made for subjects believed new. A key that
    exists breaks the primary key; an erased subject's turns NULL and breaks NOT NULL:
    either way the transaction stores nothing."""
    curs.execute(
        f"INSERT INTO {schema}.data_keys (subject_id, wrapped, master_version) "
        "SELECT w.id, CASE WHEN e.subject_id IS NULL THEN w.wrapped END, w.version "
        "FROM unnest(%b::uuid[], %b::bytea[], %b::int[]) AS w(id, wrapped, version) "
        f"LEFT JOIN {schema}.erased_subjects e ON e.subject_id = w.id",
        ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]))


def pg_erase_keys(curs: Any, schema: str, subjects: Sequence[UUID]) -> int:
    """In the caller's transaction: delete the subjects' keys and their blind-index entries
    and mark them erased (no key is made for them again); how many keys were deleted."""
    curs.execute(f"DELETE FROM {schema}.data_keys WHERE subject_id = ANY(%b::uuid[])",
                 (list(subjects),))
    deleted = int(curs.rowcount)
    pg_erase_entries(curs, schema, subjects)
    curs.execute(f"INSERT INTO {schema}.erased_subjects (subject_id) "
                 "SELECT * FROM unnest(%b::uuid[]) ON CONFLICT DO NOTHING", (list(subjects),))
    return deleted


def sqlite_store_new_keys(c: Any, rows: Sequence[NewKey]) -> None:
    """As `pg_store_new_keys`, on the embedded store."""
    c.executemany(
        "INSERT INTO data_keys (subject_id, wrapped, master_version) SELECT ?, CASE "
        "WHEN EXISTS (SELECT 1 FROM erased_subjects WHERE subject_id = ?) THEN NULL "
        "ELSE ? END, ?", [(s.hex, s.hex, wrapped, v) for s, wrapped, v in rows])


def sqlite_erase_keys(c: Any, subjects: Sequence[UUID]) -> int:
    """As `pg_erase_keys`, on the embedded store."""
    deleted = 0
    sqlite_erase_entries(c, subjects)
    for subject in subjects:
        c.execute("DELETE FROM data_keys WHERE subject_id = ?", (subject.hex,))
        deleted += c.sqlite_cursor.rowcount
        c.execute("INSERT OR IGNORE INTO erased_subjects (subject_id) VALUES (?)",
                  (subject.hex,))
    return deleted


class PostgresKeyStorage:
    """data_keys and erased_subjects tables in PostgreSQL, through eventsourcing's pool."""

    def __init__(self, datastore: Any) -> None:
        self._ds = datastore
        s = datastore.schema
        self._t, self._e = f"{s}.data_keys", f"{s}.erased_subjects"  # made by migrations

    def load_wrapped(self, subject_id: UUID) -> tuple[bytes, int] | None:
        with self._ds.get_connection() as conn:
            row = conn.execute(f"SELECT wrapped, master_version FROM {self._t} "
                               "WHERE subject_id = %s", (subject_id,)).fetchone()
        return None if row is None else (bytes(row["wrapped"]), row["master_version"])

    def save_wrapped(self, subject_id: UUID, wrapped: bytes, master_version: int) -> bool:
        with self._ds.get_connection() as conn:
            cur = conn.execute(f"INSERT INTO {self._t} (subject_id, wrapped, master_version) "
                               "VALUES (%s, %s, %s) ON CONFLICT (subject_id) DO NOTHING",
                               (subject_id, wrapped, master_version))
            return bool(cur.rowcount)

    def replace_wrapped(self, subject_id: UUID, wrapped: bytes, master_version: int) -> None:
        with self._ds.get_connection() as conn:
            conn.execute(f"UPDATE {self._t} SET wrapped = %s, master_version = %s "
                         "WHERE subject_id = %s", (wrapped, master_version, subject_id))

    def delete_wrapped(self, subject_id: UUID) -> bool:
        with self._ds.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            return bool(pg_erase_keys(curs, self._ds.schema, [subject_id]))

    def all_wrapped(self) -> list[tuple[UUID, bytes, int]]:
        with self._ds.get_connection() as conn:
            rows = conn.execute(f"SELECT subject_id, wrapped, master_version FROM {self._t}")
            return [(r["subject_id"], bytes(r["wrapped"]), r["master_version"]) for r in rows]

    def create_missing(self, rows: list[tuple[UUID, bytes, int]]) -> KeysAfterCreate:
        """One statement: store the offered keys of subjects that have none and are not
        erased; answer the keys that existed. A key another process stores meanwhile is in
        neither answer (the caller loads it)."""
        with self._ds.get_connection() as conn:
            found = conn.execute(
                f"WITH w(id, wrapped, version) AS (SELECT * FROM unnest(%b::uuid[], "
                f"%b::bytea[], %b::int[])), gone AS (SELECT e.subject_id FROM {self._e} e "
                f"JOIN w ON e.subject_id = w.id), made AS (INSERT INTO {self._t} "
                "(subject_id, wrapped, master_version) SELECT id, wrapped, version FROM w "
                "WHERE id NOT IN (SELECT subject_id FROM gone) ON CONFLICT (subject_id) "
                "DO NOTHING RETURNING subject_id) "
                "SELECT w.id, k.wrapped, k.master_version, m.subject_id IS NOT NULL AS created, "
                f"g.subject_id IS NOT NULL AS erased FROM w LEFT JOIN {self._t} k "
                "ON k.subject_id = w.id LEFT JOIN made m ON m.subject_id = w.id "
                "LEFT JOIN gone g ON g.subject_id = w.id",
                ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])).fetchall()
        return ({r["id"]: (bytes(r["wrapped"]), r["master_version"]) for r in found
                 if r["wrapped"] is not None},
                {r["id"] for r in found if r["created"]}, {r["id"] for r in found if r["erased"]})

    def is_erased(self, subject_id: UUID) -> bool:
        with self._ds.get_connection() as conn:
            row = conn.execute(f"SELECT 1 FROM {self._e} WHERE subject_id = %s",
                               (subject_id,)).fetchone()
        return row is not None


class SQLiteKeyStorage:
    """The same tables in the embedded SQLite database."""

    def __init__(self, datastore: Any) -> None:
        self._ds = datastore  # the tables are made by services.storage.migrations

    def load_wrapped(self, subject_id: UUID) -> tuple[bytes, int] | None:
        with self._ds.transaction(commit=False) as c:
            c.execute("SELECT wrapped, master_version FROM data_keys WHERE subject_id = ?",
                      (subject_id.hex,))
            row = c.fetchone()
        return None if row is None else (bytes(row[0]), int(row[1]))

    def save_wrapped(self, subject_id: UUID, wrapped: bytes, master_version: int) -> bool:
        with self._ds.transaction(commit=True) as c:
            c.execute("INSERT OR IGNORE INTO data_keys (subject_id, wrapped, master_version) "
                      "VALUES (?, ?, ?)", (subject_id.hex, wrapped, master_version))
            return bool(c.sqlite_cursor.rowcount)

    def replace_wrapped(self, subject_id: UUID, wrapped: bytes, master_version: int) -> None:
        with self._ds.transaction(commit=True) as c:
            c.execute("UPDATE data_keys SET wrapped = ?, master_version = ? WHERE subject_id = ?",
                      (wrapped, master_version, subject_id.hex))

    def delete_wrapped(self, subject_id: UUID) -> bool:
        with self._ds.transaction(commit=True) as c:
            return bool(sqlite_erase_keys(c, [subject_id]))

    def all_wrapped(self) -> list[tuple[UUID, bytes, int]]:
        with self._ds.transaction(commit=False) as c:
            c.execute("SELECT subject_id, wrapped, master_version FROM data_keys")
            return [(UUID(r[0]), bytes(r[1]), int(r[2])) for r in c.fetchall()]

    def create_missing(self, rows: list[tuple[UUID, bytes, int]]) -> KeysAfterCreate:
        """Look up, then store what is missing: SQLite is in-process, so the two steps cost
        no round trips (PostgreSQL does it in one statement)."""
        found: dict[UUID, tuple[bytes, int]] = {}
        erased: set[UUID] = set()
        for subject_id, _, _ in rows:
            row = self.load_wrapped(subject_id)
            if row is not None:
                found[subject_id] = row
            elif self.is_erased(subject_id):
                erased.add(subject_id)
        created = {s for s, wrapped, version in rows if s not in found and s not in erased
                   and self.save_wrapped(s, wrapped, version)}
        return found, created, erased

    def is_erased(self, subject_id: UUID) -> bool:
        with self._ds.transaction(commit=False) as c:
            c.execute("SELECT 1 FROM erased_subjects WHERE subject_id = ?", (subject_id.hex,))
            return c.fetchone() is not None
