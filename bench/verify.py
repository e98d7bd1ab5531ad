"""After a run: is every acknowledged command's event in the store, at the position the
API reported? And how many commands shared each commit (group commit at work)?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from bench.loadgen import Ack

EVENTS_TABLE = "corridor_events"  # eventsourcing names it after the application ("corridor")


@dataclass(frozen=True)
class AckCheck:
    acknowledged: int
    found: int
    position_mismatches: int

    @property
    def missing(self) -> int:
        return self.acknowledged - self.found

    def as_json(self) -> dict[str, int]:
        return {"acknowledged": self.acknowledged, "found_in_store": self.found,
                "missing": self.missing, "position_mismatches": self.position_mismatches}


async def check_acks(dsn: str, acks: Sequence[Ack]) -> AckCheck:
    """Look up every acknowledged (stream, version) in the events table."""
    unique = {(stream, version): position for stream, version, position in acks}
    streams = [s for s, _ in unique]
    versions = [v for _, v in unique]
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            f"SELECT a.id, a.v, e.notification_id FROM unnest($1::uuid[], $2::bigint[]) "
            f"AS a(id, v) JOIN {EVENTS_TABLE} e ON e.originator_id = a.id "
            "AND e.originator_version = a.v", streams, versions)
    finally:
        await conn.close()
    mismatches = sum(1 for r in rows
                     if wrong_position(unique[(r["id"], r["v"])], r["notification_id"]))
    return AckCheck(acknowledged=len(unique), found=len(rows), position_mismatches=mismatches)


def wrong_position(reported: int | None, stored: int) -> bool:
    """An answer's position must not lie before its event's: reading at it must show the
    command. It may lie after: a command changing two streams (seats held on a transport
    for a case) answers the position of its last event, whichever stream it names."""
    return reported is not None and reported < stored


async def max_position(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        value = await conn.fetchval(f"SELECT max(notification_id) FROM {EVENTS_TABLE}")
    finally:
        await conn.close()
    return int(value or 0)


async def commits_between(dsn: str, after: int, upto: int) -> tuple[int, int]:
    """(events, distinct writing transactions) for positions in (after, upto]."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            f"SELECT count(*) AS events, count(DISTINCT xmin::text) AS commits "
            f"FROM {EVENTS_TABLE} WHERE notification_id > $1 AND notification_id <= $2",
            after, upto)
    finally:
        await conn.close()
    assert row is not None
    return int(row["events"]), int(row["commits"])
