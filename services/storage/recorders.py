"""Event store recorders: eventsourcing's, plus a per-stream hash chain and command receipts
written in the same transaction as the events.

The hash chain makes tampering evident: each event's hash covers its predecessor's hash and
its own stored bytes. Command receipts make commands idempotent across restarts and across
the HTTP and Kafka paths: a command id is recorded exactly once, atomically with its events.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import retry
from psycopg.sql import SQL, Composed, Identifier

from services.storage.blind_index import pg_store_entries, sqlite_store_entries
from services.storage.keystore import (
    pg_erase_keys,
    pg_store_new_keys,
    sqlite_erase_keys,
    sqlite_store_new_keys,
)

GENESIS = bytes(32)
Head = tuple[int, bytes]
Key = UUID | str
"""A stream id as eventsourcing hands it over."""


def chain_hash(previous: bytes, event: StoredEvent) -> bytes:
    """The hash of one stored event, linked to the hash of the one before it in its stream."""
    digest = hashlib.sha256(previous)
    originator = event.originator_id
    digest.update(originator.bytes if isinstance(originator, UUID) else str(originator).encode())
    digest.update(event.originator_version.to_bytes(8, "big"))
    digest.update(event.topic.encode())
    digest.update(b"\0")
    digest.update(event.state)
    return digest.digest()


def link(events: Sequence[StoredEvent], heads: dict[Key, Head]) -> list[tuple[StoredEvent, bytes]]:
    """Chain hashes for new events given each stream's current head (version, hash)."""
    current = dict(heads)
    linked = []
    for event in events:
        version, previous = current.get(event.originator_id, (0, GENESIS))
        if event.originator_version != version + 1:
            # A gap or overlap: the insert will fail on its primary key; hash as if genesis.
            previous = GENESIS if event.originator_version == 1 else previous
        digest = chain_hash(previous, event)
        current[event.originator_id] = (event.originator_version, digest)
        linked.append((event, digest))
    return linked


class HeadCache:
    """Last (version, hash) per stream, so a busy writer needs no extra read per batch."""

    def __init__(self, maxsize: int = 50_000) -> None:
        """`maxsize` streams (about 16 MB when full). A stream whose head was dropped costs
        its next batch a look-up, and a round trip of its own inside the insert's pipeline,
        so a cache smaller than the streams in use slows every batch down."""
        self._heads: OrderedDict[Key, Head] = OrderedDict()
        self._maxsize = maxsize

    def known(self, events: Iterable[StoredEvent]) -> tuple[dict[Key, Head], set[Key]]:
        heads: dict[Key, Head] = {}
        missing: set[Key] = set()
        for event in events:
            sid = event.originator_id
            if sid in heads or sid in missing or event.originator_version == 1:
                continue
            head = self._heads.get(sid)
            if head is not None and head[0] == event.originator_version - 1:
                heads[sid] = head
            else:
                missing.add(sid)
        return heads, missing

    def update(self, linked: Sequence[tuple[StoredEvent, bytes]]) -> None:
        for event, digest in linked:
            self._heads[event.originator_id] = (event.originator_version, digest)
            self._heads.move_to_end(event.originator_id)
        while len(self._heads) > self._maxsize:
            self._heads.popitem(last=False)

    def clear(self) -> None:
        self._heads.clear()

    @property
    def maxsize(self) -> int:
        return self._maxsize

    def bound(self, maxsize: int) -> None:
        """Keep at most `maxsize` streams from now on (the least recently written go)."""
        self._maxsize = maxsize
        while len(self._heads) > maxsize:
            self._heads.popitem(last=False)


def first_versions(events: Iterable[StoredEvent], missing: set[Key]) -> dict[Key, int]:
    firsts: dict[Key, int] = {}
    for event in events:
        if event.originator_id in missing:
            firsts.setdefault(event.originator_id, event.originator_version)
    return firsts


def _times(kwargs: dict[str, Any], events: Sequence[StoredEvent]) -> list[datetime | None]:
    times: dict[tuple[Key, int], datetime] = kwargs.get("event_times") or {}
    return [times.get((e.originator_id, e.originator_version)) for e in events]


def binary_insert(recorder: PostgresAggregateRecorder, *, returning: bool) -> Composed:
    """eventsourcing's insert of stored events, with the rows sent as four binary arrays
    instead of one array of a composite type in text form: psycopg escapes text bytea byte by
    byte in Python, where binary is one copy, and the escaping would hold the writer's GIL
    for most of each commit."""
    statement = SQL(
        "INSERT INTO {schema}.{table} AS t (originator_id, originator_version, topic, state)"
        " SELECT * FROM unnest(%b::{id_type}[], %b::bigint[], %b::text[], %b::bytea[])"
    ).format(schema=Identifier(recorder.datastore.schema),
             table=Identifier(recorder.events_table_name),
             id_type=Identifier(recorder.datastore.originator_id_type))
    return statement + SQL(" RETURNING notification_id") if returning else statement


def binary_columns(events: Sequence[StoredEvent]) -> tuple[list[Any], ...]:
    return ([e.originator_id for e in events], [e.originator_version for e in events],
            [e.topic for e in events], [e.state for e in events])


class BinarySnapshotRecorder(PostgresAggregateRecorder):
    """The snapshot store's recorder, inserting like the events (see `binary_insert`)."""

    def __init__(self, datastore: Any, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.insert_events_statement = binary_insert(self, returning=False)

    def _insert_stored_events(self, curs: Any, stored_events: Sequence[StoredEvent],
                              **kwargs: Any) -> None:
        curs.execute(self.insert_events_statement, binary_columns(stored_events))


class ChainedPostgresRecorder(PostgresApplicationRecorder):
    """PostgreSQL recorder that also writes hash-chain rows and command receipts atomically."""

    def __init__(self, datastore: Any, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.heads = HeadCache()
        # event_chain and command_receipts: services.storage.migrations
        self.insert_events_statement = binary_insert(self, returning=True)

    def _insert_stored_events(self, curs: Any, stored_events: Sequence[StoredEvent],
                              **kwargs: Any) -> None:
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(self.insert_events_statement, binary_columns(stored_events))

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        out: list[tuple[StoredEvent, bytes]] = []
        ids = self._insert_in_one_round_trip(stored_events, _linked=out, **kwargs)
        self.heads.update(out)
        return ids

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _insert_in_one_round_trip(self, stored_events: Sequence[StoredEvent],
                                  **kwargs: Any) -> Any:
        """eventsourcing's insert, with COMMIT sent in the same pipeline sync as the inserts:
        one round trip per batch instead of two or three (the writer waits on each, and under
        load every round trip also waits for a wake-up on busy cores). A statement that
        fails turns the transaction's COMMIT into nothing: the connection is then closed, so
        the pool replaces it and no half-known prepared statement survives on it."""
        if self.datastore.enable_db_functions:
            return super().insert_events(stored_events, **kwargs)
        failure: Exception | None = None
        ids: list[int] | None = None
        with self.datastore.get_connection() as conn:
            with conn.pipeline() as pipeline:
                try:
                    with conn.cursor() as curs:
                        curs.execute("BEGIN")
                        self._insert_events(curs, stored_events, **kwargs)
                    with conn.cursor() as curs:
                        if stored_events:
                            self._insert_stored_events(curs, stored_events, **kwargs)
                        conn.execute("COMMIT")
                        pipeline.sync()
                        if stored_events:
                            ids = list(self._fetch_ids_after_insert_events(curs, stored_events)
                                       or [])
                except Exception as error:  # re-raised outside the pipeline, as eventsourcing
                    failure = error
            if failure is not None:
                conn.close()
                raise failure
        return ids

    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> None:
        heads, missing = self.heads.known(stored_events)
        if missing:
            firsts = first_versions(stored_events, missing)
            curs.execute(
                f"SELECT c.originator_id, c.originator_version, c.hash "
                f"FROM {self.datastore.schema}.event_chain c "
                "JOIN unnest(%b::uuid[], %b::bigint[]) AS w(id, v) "
                "ON c.originator_id = w.id AND c.originator_version = w.v",
                (list(firsts), [v - 1 for v in firsts.values()]), prepare=False,
            )
            for row in curs.fetchall():
                heads[row["originator_id"]] = (row["originator_version"], bytes(row["hash"]))
        linked = link(stored_events, heads)
        schema = self.datastore.schema
        if linked:  # one statement per table, not one per row: PostgreSQL's per-statement
            # cost was most of the batch's time in the store
            times = _times(kwargs, stored_events)
            curs.execute(
                f"INSERT INTO {schema}.event_chain (originator_id, originator_version, hash, "
                "recorded_at) SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::bytea[], "
                "%b::timestamptz[])",
                ([e.originator_id for e, _ in linked], [e.originator_version for e, _ in linked],
                 [h for _, h in linked], times))
        receipts: Sequence[tuple[UUID, bytes]] = kwargs.get("receipts") or ()
        if receipts:
            curs.execute(
                f"INSERT INTO {schema}.command_receipts (command_id, outcome) "
                "SELECT * FROM unnest(%b::uuid[], %b::bytea[])",
                ([c for c, _ in receipts], [o for _, o in receipts]))
        if kwargs.get("new_keys"):  # keys made for this batch's new people
            pg_store_new_keys(curs, schema, kwargs["new_keys"])
        if kwargs.get("blind_index"):  # a new case's keyed hashes, with its opening
            pg_store_entries(curs, schema, kwargs["blind_index"])
        if kwargs.get("erased_keys"):  # erasure holds exactly when its event is stored
            pg_erase_keys(curs, schema, kwargs["erased_keys"])
        kwargs["_linked"].extend(linked)

    def select_streams(self, stream_ids: list[UUID], snapshots_table: str,
                       ) -> list[tuple[bool, StoredEvent]]:
        """What rebuilds each of these streams, in one round trip: its latest snapshot (if
        any) and the events after it, as (is a snapshot, stored event), stream by stream,
        the snapshot first. Streams that do not exist give nothing."""
        schema, events = self.datastore.schema, self.events_table_name
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                f"WITH snap AS (SELECT DISTINCT ON (originator_id) originator_id, "
                f"originator_version, topic, state FROM {schema}.{snapshots_table} "
                "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version DESC) "
                "SELECT true AS snapshot, originator_id, originator_version, topic, state "
                "FROM snap UNION ALL SELECT false, e.originator_id, e.originator_version, "
                f"e.topic, e.state FROM {schema}.{events} e LEFT JOIN snap s "
                "ON s.originator_id = e.originator_id WHERE e.originator_id = ANY(%s) "
                "AND e.originator_version > coalesce(s.originator_version, 0) "
                "ORDER BY originator_id, snapshot DESC, originator_version",
                (stream_ids, stream_ids)).fetchall()
        return [(r["snapshot"], StoredEvent(originator_id=r["originator_id"],
                                            originator_version=r["originator_version"],
                                            topic=r["topic"], state=bytes(r["state"])))
                for r in rows]

    def select_receipts(self, command_ids: list[UUID]) -> list[tuple[UUID, bytes, int | None]]:
        """(command id, stored outcome, position of the outcome's write) for known ids."""
        schema, events = self.datastore.schema, self.events_table_name
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                f"SELECT r.command_id, r.outcome, e.notification_id "
                f"FROM {schema}.command_receipts r LEFT JOIN {schema}.{events} e "
                "ON e.originator_id = (convert_from(r.outcome, 'UTF8')::jsonb->>'stream_id')::uuid"
                " AND e.originator_version = "
                "(convert_from(r.outcome, 'UTF8')::jsonb->>'version')::bigint "
                "WHERE r.command_id = ANY(%s)", (command_ids,)).fetchall()
        return [(r["command_id"], bytes(r["outcome"]), r["notification_id"]) for r in rows]


class ChainedSQLiteRecorder(SQLiteApplicationRecorder):
    """SQLite recorder (the embedded default) with the same chain and receipts."""

    def __init__(self, datastore: Any, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name)
        self.heads = HeadCache()

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        out: list[tuple[StoredEvent, bytes]] = []
        ids = super().insert_events(stored_events, _linked=out, **kwargs)
        self.heads.update(out)
        return ids

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        ids = super()._insert_events(c, stored_events, **kwargs)
        heads, missing = self.heads.known(stored_events)
        for sid, version in first_versions(stored_events, missing).items():
            c.execute("SELECT hash FROM event_chain WHERE originator_id=? AND "
                      "originator_version=?", (UUID(str(sid)).hex, version - 1))
            row = c.fetchone()
            if row is not None:
                heads[sid] = (version - 1, bytes(row[0]))
        linked = link(stored_events, heads)
        c.executemany(
            "INSERT INTO event_chain (originator_id, originator_version, hash, recorded_at) "
            "VALUES (?, ?, ?, ?)",
            [(UUID(str(e.originator_id)).hex, e.originator_version, h,
              t.astimezone(UTC).isoformat() if t else None)
             for (e, h), t in zip(linked, _times(kwargs, stored_events), strict=True)],
        )
        receipts: Sequence[tuple[UUID, bytes]] = kwargs.get("receipts") or ()
        c.executemany("INSERT INTO command_receipts (command_id, outcome) VALUES (?, ?)",
                      [(cid.hex, outcome) for cid, outcome in receipts])
        if kwargs.get("new_keys"):
            sqlite_store_new_keys(c, kwargs["new_keys"])
        if kwargs.get("blind_index"):
            sqlite_store_entries(c, kwargs["blind_index"])
        if kwargs.get("erased_keys"):
            sqlite_erase_keys(c, kwargs["erased_keys"])
        kwargs["_linked"].extend(linked)
        return ids

    def select_receipts(self, command_ids: list[UUID]) -> list[tuple[UUID, bytes, int | None]]:
        """(command id, stored outcome, position of the outcome's write) for known ids."""
        marks = ",".join("?" * len(command_ids))
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT r.command_id, r.outcome, e.rowid FROM command_receipts r "
                      f"LEFT JOIN {self.events_table_name} e ON e.originator_id = "
                      "replace(json_extract(r.outcome, '$.stream_id'), '-', '') "
                      "AND e.originator_version = json_extract(r.outcome, '$.version') "
                      f"WHERE r.command_id IN ({marks})", [i.hex for i in command_ids])
            return [(UUID(r[0]), bytes(r[1]), r[2]) for r in c.fetchall()]
