"""What the projection workers' catch-up is checked against: the store's events projected in
memory (nothing lost, nothing applied twice) and the order in which each stream's audit rows
were written (per-stream order, row by row)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from bench.verify import EVENTS_TABLE
from projections.audit_trail import AUDIT
from projections.catalog import PROJECTIONS
from projections.generations import live_of
from projections.memory import MemoryTables
from projections.records import EventRecord, decode_stored
from projections.schema import normalised, physical
from projections.store import ReadModelStore

Snapshot = dict[str, list[tuple[Any, ...]]]
READ_BATCH = 20_000


async def store_records(dsn: str) -> list[EventRecord]:
    """Every stored event, decoded as the projections read it, in store order."""
    conn = await asyncpg.connect(dsn)
    records: list[EventRecord] = []
    try:
        position = 0
        while True:
            rows = await conn.fetch(
                f"SELECT notification_id, originator_id, originator_version, topic, state "
                f"FROM {EVENTS_TABLE} WHERE notification_id > $1 ORDER BY notification_id "
                "LIMIT $2", position, READ_BATCH)
            if not rows:
                return records
            records += [decode_stored(r[0], r[1], r[2], r[3], r[4]) for r in rows]
            position = rows[-1][0]
    finally:
        await conn.close()


def expected(records: Sequence[EventRecord]) -> Snapshot:
    """Every read model's tables with each event applied exactly once, in store order."""
    snapshot: Snapshot = {}
    for projection in PROJECTIONS:
        memory = MemoryTables(projection.tables)
        for record in records:
            memory.apply(projection.project(record))
        for table in projection.tables:
            snapshot[table.name] = normalised(table, memory.rows(table.name))
    return snapshot


async def actual(store: ReadModelStore) -> Snapshot:
    """What the live generation of every read model holds."""
    live = live_of(await store.generations())
    snapshot: Snapshot = {}
    for projection in PROJECTIONS:
        generation = live[projection.name].generation
        for table in projection.tables:
            rows = await store.fetch(f"SELECT * FROM {physical(table.name, generation)}")
            snapshot[table.name] = normalised(table, rows)
    return snapshot


def differences(found: Snapshot, wanted: Snapshot) -> dict[str, dict[str, int]]:
    """Tables whose rows differ: rows only found, only wanted (a lost or doubled change
    shows as one of each)."""
    diff = {}
    for name in sorted(set(found) | set(wanted)):
        have, want = found.get(name, []), wanted.get(name, [])
        if have != want:
            have_set, want_set = set(have), set(want)
            diff[name] = {"rows": len(have), "expected_rows": len(want),
                          "unexpected": len(have_set - want_set),
                          "missing": len(want_set - have_set)}
    return diff


async def out_of_order_rows(store: ReadModelStore) -> tuple[int, int]:
    """(audit rows, rows written in a transaction older than the one that wrote the stream's
    previous version). Each worker applies its batches one transaction after another, and a
    partition changes hands only after its last owner's commit, so every stream's versions
    must have been written by transactions in the versions' order (xmin, the writing
    transaction's id, never decreases along a stream)."""
    live = live_of(await store.generations())
    table = physical(AUDIT.name, live["audit_trail"].generation)
    rows = await store.fetch(
        "SELECT count(*) AS n, count(*) FILTER (WHERE tx < previous) AS behind FROM ("
        "SELECT xmin::text::bigint AS tx, lag(xmin::text::bigint) OVER (PARTITION BY "
        f"stream_id ORDER BY version) AS previous FROM {table}) AS written")
    return int(rows[0]["n"]), int(rows[0]["behind"] or 0)
