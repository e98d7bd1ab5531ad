"""Read-only queries the audit needs beyond eventsourcing's API, for SQLite and PostgreSQL.

Stored events joined with their chain rows (store positions included), the version of a
stream as of a time (the `event_chain_as_of` index, services.storage.migrations), and the
streams that have snapshots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from services.audit.chain import ChainRow
from services.storage.application import CorridorApplication
from services.storage.recorders import ChainedPostgresRecorder


@dataclass(frozen=True)
class EventIndex:
    """Where one event of a stream sits in the store, when it was recorded, and its hash."""

    position: int | None
    recorded_at: datetime | None
    hash: bytes | None


def _utc_text(at: datetime) -> str:
    """SQLite keeps recorded_at as ISO text in UTC; compare in the same form."""
    return at.astimezone(UTC).isoformat()


def _parse_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


class StoreReader:
    """SQL over the events, chain and snapshot tables of the application's store."""

    def __init__(self, app: CorridorApplication) -> None:
        self.app = app
        recorder: Any = app.recorder
        self._recorder = recorder
        self._pg = isinstance(recorder, ChainedPostgresRecorder)
        events = recorder.events_table_name
        snapshots: Any = getattr(app.snapshots, "recorder", None)
        snapshot_table = getattr(snapshots, "events_table_name", None)
        if self._pg:
            schema = recorder.datastore.schema
            self._events = f"{schema}.{events}"
            self._chain = f"{schema}.event_chain"
            self._snapshots = f"{schema}.{snapshot_table}" if snapshot_table else None
        else:
            self._events, self._chain = events, "event_chain"
            self._snapshots = snapshot_table

    # --- plumbing --------------------------------------------------------------------------

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        if self._pg:
            with self._recorder.datastore.get_connection() as conn:
                return list(conn.execute(sql.replace("?", "%s"), params).fetchall())
        with self._recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())

    def _id(self, stream_id: UUID) -> Any:
        return stream_id if self._pg else stream_id.hex

    def _uuid(self, value: Any) -> UUID:
        return value if isinstance(value, UUID) else UUID(str(value))

    def _join(self) -> str:
        position = "e.notification_id" if self._pg else "e.rowid"
        return (f"SELECT {position} AS position, e.originator_id, e.originator_version, "
                "e.topic, e.state, c.hash, c.recorded_at "
                f"FROM {self._events} e LEFT JOIN {self._chain} c "
                "ON c.originator_id = e.originator_id "
                "AND c.originator_version = e.originator_version ")

    def _chain_row(self, row: Any) -> ChainRow:
        event = StoredEvent(originator_id=self._uuid(self._get(row, 1, "originator_id")),
                            originator_version=int(self._get(row, 2, "originator_version")),
                            topic=str(self._get(row, 3, "topic")),
                            state=bytes(self._get(row, 4, "state")))
        recorded = self._get(row, 5, "hash")
        return ChainRow(position=int(self._get(row, 0, "position")), event=event,
                        recorded=None if recorded is None else bytes(recorded))

    def _get(self, row: Any, index: int, name: str) -> Any:
        return row[name] if self._pg else row[index]

    def _position(self) -> str:
        return "e.notification_id" if self._pg else "e.rowid"

    # --- whole store -----------------------------------------------------------------------

    def max_position(self) -> int:
        return int(self._recorder.max_notification_id() or 0)

    def scan(self, after: int, limit: int, upto: int | None = None) -> list[ChainRow]:
        """Stored events after a position, in store order, with their chain rows."""
        sql = self._join() + f"WHERE {self._position()} > ? "
        params: list[Any] = [after]
        if upto is not None:
            sql += f"AND {self._position()} <= ? "
            params.append(upto)
        sql += f"ORDER BY {self._position()} LIMIT ?"
        params.append(limit)
        return [self._chain_row(r) for r in self._rows(sql, params)]

    def chain_range(self, from_position: int, to_position: int) -> list[tuple[int, bytes | None]]:
        """(position, recorded chain hash) of every stored event in a range, in order."""
        sql = (f"SELECT {self._position()} AS position, c.hash FROM {self._events} e "
               f"LEFT JOIN {self._chain} c ON c.originator_id = e.originator_id "
               "AND c.originator_version = e.originator_version "
               f"WHERE {self._position()} BETWEEN ? AND ? ORDER BY {self._position()}")
        rows = self._rows(sql, [from_position, to_position])
        return [(int(self._get(r, 0, "position")),
                 None if self._get(r, 1, "hash") is None else bytes(self._get(r, 1, "hash")))
                for r in rows]

    def orphaned_chain_rows(self, limit: int) -> list[tuple[UUID, int, bytes]]:
        """Chain rows whose event is no longer in the store."""
        sql = (f"SELECT c.originator_id, c.originator_version, c.hash FROM {self._chain} c "
               f"LEFT JOIN {self._events} e ON e.originator_id = c.originator_id "
               "AND e.originator_version = c.originator_version "
               "WHERE e.originator_id IS NULL ORDER BY c.originator_id, c.originator_version "
               "LIMIT ?")
        return [(self._uuid(self._get(r, 0, "originator_id")),
                 int(self._get(r, 1, "originator_version")), bytes(self._get(r, 2, "hash")))
                for r in self._rows(sql, [limit])]

    def snapshot_stream_ids(self) -> list[UUID]:
        if self._snapshots is None:
            return []
        rows = self._rows(f"SELECT DISTINCT originator_id FROM {self._snapshots}", [])
        return sorted(self._uuid(self._get(r, 0, "originator_id")) for r in rows)

    # --- one stream ------------------------------------------------------------------------

    def snapshot_version(self, stream_id: UUID, lte: int) -> int | None:
        """The version of the stream's last snapshot at or below `lte` (None: none), read
        from the primary key alone, without the snapshot's state."""
        if self._snapshots is None:
            return None
        sql = (f"SELECT max(originator_version) AS version FROM {self._snapshots} "
               "WHERE originator_id = ? AND originator_version <= ?")
        rows = self._rows(sql, [self._id(stream_id), lte])
        found = self._get(rows[0], 0, "version") if rows else None
        return None if found is None else int(found)


    def stream_rows(self, stream_id: UUID, lte: int | None = None,
                    gt: int = 0) -> list[ChainRow]:
        """A stream's stored events (after version `gt`, up to version `lte`) in version
        order, with positions and chain rows."""
        sql, params = self._join() + "WHERE e.originator_id = ? ", [self._id(stream_id)]
        if gt:
            sql, params = sql + "AND e.originator_version > ? ", [*params, gt]
        if lte is not None:
            sql, params = sql + "AND e.originator_version <= ? ", [*params, lte]
        return [self._chain_row(r)
                for r in self._rows(sql + "ORDER BY e.originator_version", params)]

    def stream_orphans(self, stream_id: UUID, gt: int = 0,
                       lte: int | None = None) -> dict[int, bytes]:
        """A stream's chain rows (in a window of versions) whose event is not in the store:
        one statement, so an event appended meanwhile is not taken for a deleted one."""
        sql = (f"SELECT c.originator_version, c.hash FROM {self._chain} c "
               f"LEFT JOIN {self._events} e ON e.originator_id = c.originator_id "
               "AND e.originator_version = c.originator_version "
               "WHERE c.originator_id = ? AND c.originator_version > ? "
               "AND e.originator_id IS NULL ")
        params: list[Any] = [self._id(stream_id), gt]
        if lte is not None:
            sql, params = sql + "AND c.originator_version <= ? ", [*params, lte]
        return {int(self._get(r, 0, "originator_version")): bytes(self._get(r, 1, "hash"))
                for r in self._rows(sql + "ORDER BY c.originator_version", params)}

    def stream_chain(self, stream_id: UUID) -> dict[int, bytes]:
        """Every chain row recorded for a stream: version -> hash."""
        sql = (f"SELECT originator_version, hash FROM {self._chain} "
               "WHERE originator_id = ? ORDER BY originator_version")
        return {int(self._get(r, 0, "originator_version")): bytes(self._get(r, 1, "hash"))
                for r in self._rows(sql, [self._id(stream_id)])}

    def stream_index(self, stream_id: UUID, gt: int | None = None,
                     lte: int | None = None) -> dict[int, EventIndex]:
        """Position, recorded time and chain hash of a stream's events (version -> index)."""
        sql = (f"SELECT {self._position()} AS position, e.originator_version, c.recorded_at, "
               f"c.hash FROM {self._events} e LEFT JOIN {self._chain} c "
               "ON c.originator_id = e.originator_id "
               "AND c.originator_version = e.originator_version WHERE e.originator_id = ? ")
        params: list[Any] = [self._id(stream_id)]
        if gt is not None:
            sql, params = sql + "AND e.originator_version > ? ", [*params, gt]
        if lte is not None:
            sql, params = sql + "AND e.originator_version <= ? ", [*params, lte]
        index = {}
        for r in self._rows(sql, params):
            hash_ = self._get(r, 3, "hash")
            index[int(self._get(r, 1, "originator_version"))] = EventIndex(
                position=int(self._get(r, 0, "position")),
                recorded_at=_parse_time(self._get(r, 2, "recorded_at")),
                hash=None if hash_ is None else bytes(hash_))
        return index

    def version_at(self, stream_id: UUID, at: datetime) -> int | None:
        """The stream's last version recorded at or before `at` (None: it did not exist yet)."""
        found = self.last_recorded(stream_id, at)
        return found[0] if found else None

    def last_recorded(self, stream_id: UUID, at: datetime) -> tuple[int, datetime | None] | None:
        """(version, recorded_at) of the stream's last event recorded at or before `at`.

        One probe of the (originator_id, recorded_at, originator_version) index: the cost does
        not grow with the stream's length or the store's size.
        """
        sql = (f"SELECT originator_version, recorded_at FROM {self._chain} "
               "WHERE originator_id = ? AND recorded_at <= ? "
               "ORDER BY recorded_at DESC, originator_version DESC LIMIT 1")
        when: Any = at if self._pg else _utc_text(at)
        rows = self._rows(sql, [self._id(stream_id), when])
        if not rows:
            return None
        return (int(self._get(rows[0], 0, "originator_version")),
                _parse_time(self._get(rows[0], 1, "recorded_at")))

    def recorded_at(self, stream_id: UUID, version: int) -> datetime | None:
        sql = (f"SELECT recorded_at FROM {self._chain} WHERE originator_id = ? "
               "AND originator_version = ?")
        rows = self._rows(sql, [self._id(stream_id), version])
        return _parse_time(self._get(rows[0], 0, "recorded_at")) if rows else None

    def first_event(self, stream_id: UUID) -> StoredEvent | None:
        found = self._recorder.select_events(stream_id, lte=1, limit=1)
        return found[0] if found else None
