"""The event-sourced application: eventsourcing's Application on SQLite or PostgreSQL,
with transcodings that seal personal data per person and a hash-chained recorder."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from itertools import groupby
from typing import Any
from uuid import UUID

from eventsourcing.application import (
    Application,
    ProcessingEvent,
    Repository,
    project_aggregate,
)
from eventsourcing.persistence import EventStore, JSONTranscoder, StoredEvent, Transcoding
from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import get_topic

from domain.base import Meta, PersonalData
from projections.migrations import Schema
from services.settings import Settings
from services.storage.blind_index import BlindIndex
from services.storage.keystore import PostgresKeyStorage, SQLiteKeyStorage
from services.storage.migrations import STORE, StoreSchema
from services.storage.recorders import (
    BinarySnapshotRecorder,
    ChainedPostgresRecorder,
    ChainedSQLiteRecorder,
)
from services.storage.sealing import KeyRing, Sealer


class MetaAsDict(Transcoding):
    """Event metadata: actor, business time, command and correlation ids."""

    type = Meta
    name = "meta"

    def encode(self, obj: Meta) -> dict[str, Any]:
        return {"actor": obj.actor, "at": obj.at.isoformat(),
                "command_id": obj.command_id.hex, "correlation_id": obj.correlation_id.hex}

    def decode(self, data: dict[str, Any]) -> Meta:
        return Meta(actor=data["actor"], at=datetime.fromisoformat(data["at"]),
                    command_id=UUID(data["command_id"]),
                    correlation_id=UUID(data["correlation_id"]))


class PersonalDataSealed(Transcoding):
    """Personal data leaves the process only as AES-GCM ciphertext under the subject's key."""

    type = PersonalData
    name = "personal"

    def __init__(self) -> None:
        self.sealer: Sealer | None = None  # bound once the key storage exists

    def encode(self, obj: PersonalData) -> dict[str, Any]:
        if obj.erased:
            return {"subject": obj.subject_id.hex, "erased": True}
        assert self.sealer is not None, "sealer not bound"
        sealed = self.sealer.seal(obj)
        return {"subject": obj.subject_id.hex, "sealed": base64.b64encode(sealed).decode()}

    def decode(self, data: dict[str, Any]) -> PersonalData:
        subject = _subject(data["subject"])
        if data.get("erased"):
            return PersonalData.erased_for(subject)
        return PersonalData(subject_id=subject, sealed=binascii.a2b_base64(data["sealed"]))


@lru_cache(maxsize=4096)
def _subject(hex_id: str) -> UUID:
    """A subject's id from its hex: a case's snapshot names one person in every journal
    entry, so one UUID is made for all of them (UUIDs are immutable, safe to share)."""
    return UUID(hex_id)


MIN_WORKING_SET = 1_000
"""Data keys and chain heads kept at least, even with a tiny aggregate cache."""
RECONNECT_MAX_DELAY = 0.5
"""Longest wait between a pool's tries to replace a lost PostgreSQL connection."""


def _capped_backoff() -> type[Any]:
    from psycopg_pool.base import AttemptWithBackoff

    class CappedBackoff(AttemptWithBackoff):
        """psycopg_pool's backoff, never waiting more than RECONNECT_MAX_DELAY."""

        INITIAL_DELAY = 0.1

        def update_delay(self, now: float) -> None:
            super().update_delay(now)
            self.delay = min(self.delay, RECONNECT_MAX_DELAY)

    return CappedBackoff


def reconnect_quickly() -> None:
    """Make the event store's pool retry a lost connection every half second at most.

    Why: psycopg_pool waits 1, 2, 4, 8, ... s between tries, doubling for as long as the
    database is down, so after an outage of 40 s its next try could come 20 s after the
    database was back, and every command waited for it (issue 25). A refused connection
    costs the database nothing; a command waiting on a pool that does not try costs the
    network its answer. The pool looks its backoff class up in its module on each try."""
    import psycopg_pool.pool

    pool_module: Any = psycopg_pool.pool
    if pool_module.AttemptWithBackoff.INITIAL_DELAY != 0.1:
        pool_module.AttemptWithBackoff = _capped_backoff()


def persistence_env(settings: Settings) -> dict[str, str]:
    """eventsourcing's environment for the chosen store."""
    env = {
        "AGGREGATE_CACHE_MAXSIZE": str(settings.aggregate_cache_size),
        # One writer per process owns its cache; conflicts with other processes are caught
        # by the optimistic-concurrency check at save, so no read per command is needed.
        "AGGREGATE_CACHE_FASTFORWARD": "n",
        # The cache belongs to the writer thread alone (readers use `app.readers`), and the
        # writer evicts whatever a failed batch touched, so copying on every get is waste.
        "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",
        "IS_SNAPSHOTTING_ENABLED": "y",
    }
    if settings.store == "postgres":
        from urllib.parse import urlparse

        if not settings.pg_dsn:
            raise ValueError("CORRIDOR_PG_DSN must be set when CORRIDOR_STORE=postgres")
        url = urlparse(settings.pg_dsn)
        reconnect_quickly()
        env.update({
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "APPLICATION_RECORDER_TOPIC": get_topic(ChainedPostgresRecorder),
            "POSTGRES_DBNAME": url.path.lstrip("/"),
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": url.username or "postgres",
            "POSTGRES_PASSWORD": url.password or "",
            "POSTGRES_SCHEMA": settings.pg_schema,
            "POSTGRES_POOL_SIZE": str(settings.pg_pool_size),
            "POSTGRES_LOCK_TIMEOUT": "10",
            # how long a request waits for a pooled connection: while the database is down
            # the command gets its 503 within its own wait instead of 30 s later
            "POSTGRES_CONNECT_TIMEOUT": str(settings.pg_connect_timeout_seconds),
            "CREATE_TABLE": "yes" if settings.create_tables else "no",
        })
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        env.update({
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "APPLICATION_RECORDER_TOPIC": get_topic(ChainedSQLiteRecorder),
            "SQLITE_DBNAME": str(settings.sqlite_path),
            "SQLITE_LOCK_TIMEOUT": "10",
        })
    return env


@dataclass
class SnapshotsDue:
    """Snapshots a batch brings due: encoded from the aggregates as the batch leaves them,
    and (stream, version) pairs to read back because the batch went past the version."""

    encoded: list[StoredEvent] = field(default_factory=list)
    later: list[tuple[UUID, int]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.encoded or self.later)


class CorridorApplication(Application[UUID]):
    """The one event store of the network: cases, volunteers, resources."""

    name = "corridor"
    store_schema: Schema = STORE
    """The write side's migrations this code runs the store at (services.storage.migrations)."""

    def __init__(self, settings: Settings, master_key: bytes,
                 retired_keys: dict[int, bytes] | None = None) -> None:
        self._personal = PersonalDataSealed()
        from services.storage.aggregates import AGGREGATE_CLASSES

        self.snapshotting_intervals = {  # type: ignore[misc]
            cls: settings.snapshot_interval for cls in AGGREGATE_CLASSES
        }
        env = persistence_env(settings)
        with StoreSchema(settings, self.store_schema).open() as schema:
            super().__init__(env=env)  # eventsourcing's tables first: then ours
            try:
                schema.migrate()
            except BaseException:
                self.close()
                raise
        datastore = self.factory.datastore  # type: ignore[attr-defined]
        storage = (PostgresKeyStorage(datastore) if settings.store == "postgres"
                   else SQLiteKeyStorage(datastore))
        # The writer's working set bounds its caches: the aggregates it keeps, their streams'
        # chain heads and their people's data keys. A fixed 50,000 of each kept growing for
        # half an hour of load after the aggregates had settled (issue 26).
        working_set = max(settings.aggregate_cache_size, MIN_WORKING_SET)
        self.keys = KeyRing(storage, master_key, settings.master_key_version, retired_keys,
                            max_cached=working_set)
        heads = getattr(self.recorder, "heads", None)
        if heads is not None:
            heads.bound(working_set)
        self.sealer = Sealer(self.keys)
        self._personal.sealer = self.sealer
        self.blind_index = BlindIndex(self.keys, datastore, postgres=settings.store == "postgres",
                                      region=settings.phone_region)
        # Readers (case reads, audits, the expiry tick) never share the writer's cached
        # objects: they rebuild from the latest snapshot plus later events.
        self.readers: Repository[UUID] = Repository(self.events, snapshot_store=self.snapshots)

    def cache_streams(self, stream_ids: Iterable[UUID]) -> int:
        """Put the aggregates of these streams that are not cached into the cache, read in
        one round trip (PostgreSQL; the embedded store reads each on first use, as before).
        A batch of commands whose aggregates were evicted then waits for one read instead
        of two per aggregate (its latest snapshot, then the events after it). Returns how
        many were loaded."""
        cache, snapshots = self.repository.cache, self.snapshots
        select = getattr(self.recorder, "select_streams", None)
        table = getattr(snapshots.recorder, "events_table_name", None) if snapshots else None
        if cache is None or select is None or snapshots is None or table is None:
            return 0
        missing = [i for i in stream_ids if i not in cache.cache]
        if not missing:
            return 0
        loaded = 0
        for stream_id, stored in groupby(select(missing, table), key=lambda r: r[1].originator_id):
            aggregate = project_aggregate(None, [
                (snapshots.mapper if snapshot else self.mapper).to_domain_event(event)
                for snapshot, event in stored])
            if aggregate is not None:
                cache.put(stream_id, aggregate)
                loaded += 1
        return loaded

    def snapshots_due(self, processing: ProcessingEvent[UUID]) -> SnapshotsDue:
        """The snapshots a batch brings due: a version that is a multiple of its aggregate's
        interval. Where the batch leaves the aggregate at that version (one event per
        aggregate and batch, as under a network's load), the snapshot is encoded now from
        the aggregate as it is, which is exactly what the batch stores. eventsourcing reads
        each aggregate back from the store after the commit instead, one at a time on the
        writer's path: aggregates reaching the interval together (transports busy with seat
        holds) stalled every command in flight for tens of milliseconds. A version the batch
        went past (many events of one aggregate in one batch) is still read back at that
        version (`later`), so there is a snapshot at every multiple as before."""
        due = SnapshotsDue()
        intervals, store = self.snapshotting_intervals, self.snapshots
        if store is None or not intervals:
            return due
        now: dict[UUID, Any] = {}
        for event in processing.events:
            aggregate = processing.aggregates.get(event.originator_id)
            if aggregate is None:
                continue
            interval = intervals.get(type(aggregate))
            if not interval or event.originator_version % interval:
                continue
            if event.originator_version == aggregate.version:
                now[event.originator_id] = aggregate
            else:
                due.later.append((event.originator_id, event.originator_version))
        for aggregate in now.values():
            snapshot_class = getattr(type(aggregate), "Snapshot", type(self).snapshot_class)
            if snapshot_class is not None:
                due.encoded.append(store.mapper.to_stored_event(snapshot_class.take(aggregate)))
        return due

    def store_snapshots(self, due: SnapshotsDue) -> None:
        """Store the snapshots a batch brought due; only once its events are stored."""
        if self.snapshots is None:
            return
        if due.encoded:
            self.snapshots.recorder.insert_events(due.encoded)
        for stream_id, version in due.later:
            self.take_snapshot(stream_id, version)

    def construct_snapshot_store(self) -> EventStore[UUID]:
        """Snapshots as eventsourcing stores them, but inserted in binary on PostgreSQL."""
        factory = self.factory
        if not isinstance(factory, PostgresFactory):
            return super().construct_snapshot_store()
        recorder = BinarySnapshotRecorder(
            datastore=factory.datastore, events_table_name=f"{self.name.lower()}_snapshots")
        if factory.env_create_table():
            recorder.create_table()
        return factory.event_store(mapper=self.mapper, recorder=recorder)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(MetaAsDict())
        transcoder.register(self._personal)
