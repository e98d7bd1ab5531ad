"""Baselines measured in the same run as the figures they stand beside.

- plain eventsourcing: the same domain commands through a stock eventsourcing Application
  (PostgreSQL, no corridor recorder, no command writer, no HTTP): one thread, one save and
  one commit per command, as a naive event store would do it;
- raw asyncpg single-row commits: INSERT + COMMIT of one event-sized row per statement from
  32 connections, the ceiling of any store that commits each command on its own;
- raw asyncpg batched insert (COPY): the ceiling for writing read-model rows in bulk.
"""

from __future__ import annotations

import asyncio
import os
import time
from array import array
from collections import Counter
from typing import Any, cast
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import asyncpg
from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder

from bench.mix import Command, Workload, World
from bench.stats import Summary, summarize
from domain.base import CoordinationError, Meta
from projections.migrations import migrate
from services.clock import now
from services.commands import CATALOG, CommandSpec
from services.runtime.unit_of_work import UnitOfWork
from services.settings import Settings
from services.storage.application import CorridorApplication, MetaAsDict, PersonalDataSealed
from services.storage.blind_index import BlindIndex
from services.storage.keystore import PostgresKeyStorage
from services.storage.migrations import STORE, PsycopgSession
from services.storage.sealing import KeyRing, Sealer, decode_master_key

EVENT_ROW_BYTES = 400  # about the size of a stored case event's state


class PlainApplication(Application[UUID]):
    """A stock eventsourcing Application with corridor's transcodings and nothing else."""

    name = "plain"

    def __init__(self, env: dict[str, str], master_key: str) -> None:
        self._personal = PersonalDataSealed()
        super().__init__(env=env)
        datastore = self.factory.datastore  # type: ignore[attr-defined]
        with datastore.get_connection() as conn:  # corridor's tables, data_keys among them
            migrate(PsycopgSession(conn, datastore.schema), STORE)
        storage = PostgresKeyStorage(datastore)
        keys = KeyRing(storage, decode_master_key(master_key))
        self._personal.sealer = Sealer(keys)
        self.blind_index = BlindIndex(keys, datastore, postgres=True,  # the handlers of a new
                                      region=Settings().phone_region)  # case compute its hashes

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(MetaAsDict())
        transcoder.register(self._personal)


def plain_env(dsn: str, *, cached: bool) -> dict[str, str]:
    url = urlsplit(dsn)
    env = {"PERSISTENCE_MODULE": "eventsourcing.postgres",
           "POSTGRES_DBNAME": url.path.lstrip("/"), "POSTGRES_HOST": url.hostname or "",
           "POSTGRES_PORT": str(url.port or 5432), "POSTGRES_USER": url.username or "",
           "POSTGRES_PASSWORD": url.password or ""}
    if cached:
        env["AGGREGATE_CACHE_MAXSIZE"] = "20000"
        env["AGGREGATE_CACHE_FASTFORWARD"] = "n"
    return env


class InProcessExecutor:
    """Runs Commands through the catalog's handlers on an application, one save each."""

    def __init__(self, app: Application[UUID]) -> None:
        self.app = app
        self.by_path: dict[str, CommandSpec] = {spec.path: spec for spec in CATALOG.values()}

    def execute(self, command: Command) -> None:
        spec = self.by_path[command.path]
        body = spec.body.model_validate(command.body)
        meta = Meta(actor=command.actor, at=now(), command_id=body.command_id,
                    correlation_id=body.command_id)
        uow = UnitOfWork(cast(CorridorApplication, self.app))
        spec.handler(body, uow, meta)
        self.app.save(*uow.touched())


def run_plain_loop(dsn: str, master_key: str, duration: float, *,
                   cached: bool) -> dict[str, Any]:
    """The mix for `duration` seconds through PlainApplication in one thread (blocking)."""
    import services.commands.catalog  # noqa: F401  (registers the commands)

    app = PlainApplication(plain_env(dsn, cached=cached), master_key)
    try:
        executor = InProcessExecutor(app)
        world = World.new(1)
        for phase in world.setup_phases():
            for command in phase:
                executor.execute(command)
        workload = Workload(world)
        state = workload.client(0)
        latencies: array[float] = array("d")
        kinds: Counter[str] = Counter()
        rejected = 0
        clock = time.perf_counter
        start = clock()
        while clock() - start < duration:
            command = workload.next_command(state)
            sent = clock()
            try:
                executor.execute(command)
            except CoordinationError:
                rejected += 1
                continue
            latencies.append(clock() - sent)
            workload.acknowledged(state, command)
            kinds[command.kind] += 1
        summary = summarize(latencies, clock() - start)
    finally:
        app.close()
    return {**summary_json(summary), "rejected": rejected, "mix": dict(sorted(kinds.items())),
            "aggregate_cache": cached}


def summary_json(summary: Summary) -> dict[str, Any]:
    return {"count": summary.count, "seconds": round(summary.seconds, 3),
            "per_s": round(summary.rate, 1), "p50_ms": round(summary.p50 * 1000, 3),
            "p99_ms": round(summary.p99 * 1000, 3)}


RAW_TABLE = ("CREATE TABLE IF NOT EXISTS raw_events (notification_id bigserial UNIQUE, "
             "originator_id uuid NOT NULL, originator_version bigint NOT NULL, topic text, "
             "state bytea, PRIMARY KEY (originator_id, originator_version))")


async def raw_single_row_commits(dsn: str, duration: float,
                                 connections: int = 32) -> dict[str, Any]:
    """INSERT + COMMIT of one event-sized row per statement, from `connections` clients."""
    setup = await asyncpg.connect(dsn)
    await setup.execute(RAW_TABLE)
    await setup.close()
    pool = [await asyncpg.connect(dsn) for _ in range(connections)]
    latencies: array[float] = array("d")
    state = os.urandom(EVENT_ROW_BYTES)
    clock = time.perf_counter
    stop_at = clock() + duration

    async def client(conn: asyncpg.Connection) -> None:
        insert = await conn.prepare("INSERT INTO raw_events (originator_id, originator_version,"
                                    " topic, state) VALUES ($1, 1, 'domain.case:Case.Opened', $2)")
        while clock() < stop_at:
            sent = clock()
            await insert.fetch(uuid4(), state)  # autocommit: one transaction per row
            latencies.append(clock() - sent)

    start = clock()
    try:
        await asyncio.gather(*(client(c) for c in pool))
    finally:
        await asyncio.gather(*(c.close() for c in pool))
    return {**summary_json(summarize(latencies, clock() - start)), "connections": connections}


async def raw_copy_rate(dsn: str, rows: int, batch: int = 10_000) -> dict[str, Any]:
    """Rows per second written with COPY (copy_records_to_table) in batches, one connection."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(RAW_TABLE.replace("raw_events", "raw_copy"))
        state = os.urandom(EVENT_ROW_BYTES)
        seconds, written = 0.0, 0
        while written < rows:
            chunk = [(uuid4(), 1, "domain.case:Case.Opened", state)
                     for _ in range(min(batch, rows - written))]
            start = time.perf_counter()  # only the write is timed, not making the rows
            await conn.copy_records_to_table(
                "raw_copy", records=chunk,
                columns=["originator_id", "originator_version", "topic", "state"])
            seconds += time.perf_counter() - start
            written += len(chunk)
    finally:
        await conn.close()
    return {"rows": written, "seconds": round(seconds, 3), "per_s": round(written / seconds, 1),
            "batch": batch}
