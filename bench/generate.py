"""Fill a store with many realistic events fast, for the rebuild and replay measurements.

Templates come from the real thing: the command mix runs through corridor's writer, so the
volunteers, resources and cases it leaves are genuine stored events (sealed personal data,
hash chain). The cases are then copied with fresh ids (case, person, command and flag ids;
volunteers and resources stay shared, as in a real network) and written with COPY, with
their hash-chain rows recomputed, until the store holds the number of events asked for.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from eventsourcing.persistence import StoredEvent
from pydantic import SecretStr

from bench.mix import Command, Workload, World
from bench.verify import EVENTS_TABLE
from domain.base import Meta
from services.bootstrap import build_runtime
from services.clock import now
from services.commands import CATALOG
from services.runtime.writer import Submission
from services.settings import Settings
from services.storage.recorders import GENESIS, chain_hash

HEX = re.compile(rb"[0-9a-f]{32}")
CASE_TOPIC = b"domain.case:Case"
COPY_ROWS = 20_000
Row = tuple[UUID, int, str, bytes]


@dataclass(frozen=True)
class TemplateEvent:
    """One stored case event, its state cut where ids go (so a copy is one join)."""

    stream: int
    version: int
    topic: str
    pieces: tuple[bytes, ...]
    slots: tuple[int, ...]
    recorded_at: datetime | None


@dataclass
class Template:
    """Case events to copy; a copy draws `ids` fresh ids, stream k's id is slot stream_slots[k]."""

    events: list[TemplateEvent]
    stream_slots: list[int]
    ids: int

    @property
    def size(self) -> int:
        return len(self.events)


def settings_for(dsn: str, master_key: str) -> Settings:
    return Settings(store="postgres", pg_dsn=dsn, master_key=SecretStr(master_key),
                    auth_secret=SecretStr("bench-not-used"), reactions_in_process=False,
                    projections_in_process=False)


def run_mix(settings: Settings, commands: int, clients: int = 16, batch: int = 64) -> None:
    """Create the world and run `commands` of the mix through the writer (blocking)."""
    runtime = build_runtime(settings, start_writer=False)
    try:
        world = World.new(clients)
        for phase in world.setup_phases():
            _execute(runtime.writer, phase)
        workload = Workload(world, seed=11)
        states = [workload.client(i) for i in range(clients)]
        done = 0
        while done < commands:
            sent = [(s, workload.next_command(s)) for s in states[: min(batch, commands - done)]]
            for (state, command), ok in zip(sent, _execute(runtime.writer, [c for _, c in sent]),
                                            strict=True):
                if ok:
                    workload.acknowledged(state, command)
            done += len(sent)
    finally:
        runtime.app.close()


def _execute(writer: Any, commands: list[Command]) -> list[bool]:
    by_path = {spec.path: spec for spec in CATALOG.values()}
    submissions = []
    for command in commands:
        spec = by_path[command.path]
        body = spec.body.model_validate(command.body)
        meta = Meta(actor=command.actor, at=now(), command_id=body.command_id,
                    correlation_id=body.command_id)
        submissions.append(Submission(command_id=body.command_id, name=spec.name, payload=body,
                                      meta=meta, handler=spec.handler))
    outcomes = writer.execute_now(submissions)
    return [getattr(o, "status", "") == "accepted" for o in outcomes]


async def load_template(dsn: str) -> Template:
    """The case events in the store, in store order, cut at every replaceable id."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            f"SELECT e.originator_id, e.originator_version, e.topic, e.state, c.recorded_at "
            f"FROM {EVENTS_TABLE} e LEFT JOIN event_chain c ON c.originator_id = e.originator_id"
            " AND c.originator_version = e.originator_version ORDER BY e.notification_id")
    finally:
        await conn.close()
    shared = {r["originator_id"].hex.encode() for r in rows
              if not r["topic"].encode().startswith(CASE_TOPIC)}
    streams: dict[UUID, int] = {}
    stream_slots: list[int] = []
    ids: dict[bytes, int] = {}
    events = []
    for r in rows:
        if not r["topic"].encode().startswith(CASE_TOPIC):
            continue
        if r["originator_id"] not in streams:
            streams[r["originator_id"]] = len(stream_slots)
            stream_slots.append(ids.setdefault(r["originator_id"].hex.encode(), len(ids)))
        pieces, slots = _cut(bytes(r["state"]), shared, ids)
        events.append(TemplateEvent(streams[r["originator_id"]], r["originator_version"],
                                    r["topic"], pieces, slots, r["recorded_at"]))
    return Template(events=events, stream_slots=stream_slots, ids=len(ids))


def _cut(state: bytes, shared: set[bytes], ids: dict[bytes, int]) -> tuple[tuple[bytes, ...],
                                                                          tuple[int, ...]]:
    pieces, slots, start = [], [], 0
    for match in HEX.finditer(state):
        token = match.group(0)
        if token in shared:
            continue
        pieces.append(state[start:match.start()])
        slots.append(ids.setdefault(token, len(ids)))
        start = match.end()
    pieces.append(state[start:])
    return tuple(pieces), tuple(slots)


def copies(template: Template, events: int) -> Iterator[tuple[list[Row], list[tuple[Any, ...]]]]:
    """Rows for the events table and the chain table, one template copy at a time."""
    written = 0
    while written < events:
        # Random 128-bit ids straight from os.urandom: uuid4() per id would cost more than
        # the rest of the copy together.
        raw = os.urandom(16 * template.ids)
        hexes = [raw[i:i + 16].hex().encode() for i in range(0, len(raw), 16)]
        fresh = {slot: UUID(bytes=raw[16 * slot:16 * slot + 16])
                 for slot in template.stream_slots}
        heads: dict[int, bytes] = {}
        rows: list[Row] = []
        chain: list[tuple[Any, ...]] = []
        for event in template.events[: events - written]:
            state = _join(event, hexes)
            stream_id = fresh[template.stream_slots[event.stream]]
            stored = StoredEvent(originator_id=stream_id, originator_version=event.version,
                                 topic=event.topic, state=state)
            digest = chain_hash(heads.get(event.stream, GENESIS), stored)
            heads[event.stream] = digest
            rows.append((stream_id, event.version, event.topic, state))
            chain.append((stream_id, event.version, digest, event.recorded_at))
        written += len(rows)
        yield rows, chain


def _join(event: TemplateEvent, hexes: list[bytes]) -> bytes:
    if not event.slots:
        return event.pieces[0]
    parts = [event.pieces[0]]
    for slot, piece in zip(event.slots, event.pieces[1:], strict=True):
        parts.append(hexes[slot])
        parts.append(piece)
    return b"".join(parts)


async def write_copies(dsn: str, template: Template, events: int) -> float:
    """COPY `events` events made from the template into the store; returns the seconds."""
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        for rows, chain in copies(template, events):
            for start in range(0, len(rows), COPY_ROWS):
                await conn.copy_records_to_table(
                    EVENTS_TABLE, records=rows[start:start + COPY_ROWS],
                    columns=["originator_id", "originator_version", "topic", "state"])
                await conn.copy_records_to_table(
                    "event_chain", records=chain[start:start + COPY_ROWS],
                    columns=["originator_id", "originator_version", "hash", "recorded_at"])
        await conn.execute(f"ANALYZE {EVENTS_TABLE}")
        await conn.execute("ANALYZE event_chain")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def count_events(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {EVENTS_TABLE}"))
    finally:
        await conn.close()


async def fill_store(dsn: str, master_key: str, events: int) -> dict[str, Any]:
    """Make the store hold about `events` events; returns what was done and how fast."""
    settings = settings_for(dsn, master_key)
    started = time.perf_counter()
    template_commands = min(4000, max(200, events // 50))
    await asyncio.to_thread(run_mix, settings, template_commands)
    template_seconds = time.perf_counter() - started
    template = await load_template(dsn)
    have = await count_events(dsn)
    copy_seconds = await write_copies(dsn, template, max(0, events - have))
    total = await count_events(dsn)
    return {"events_in_store": total, "template_commands": template_commands,
            "template_case_events": template.size, "template_seconds": round(template_seconds, 2),
            "copied_events": total - have, "copy_seconds": round(copy_seconds, 2),
            "copy_events_per_s": round((total - have) / copy_seconds, 1) if copy_seconds else None}
