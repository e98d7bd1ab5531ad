"""Three simulated hours of a network's day (`corridor simulate`'s day, 1,000 times real time)
played against a real `corridor serve` process, then the invariants checked: no case the
simulator opened is missing from the store or the board, every read model equals a fresh
rebuild from the events, the hash chain verifies, and no name, phone, address, health detail
or note the simulator sent lies in plaintext at rest (or, with Kafka, in the topics).

Two deployments: the embedded default (SQLite, one process) and PostgreSQL with Kafka
(`serve --writer-process`, the relay and the command consumer in its writer process; part of
the intake over the Kafka command topic). Both run on a told clock (CORRIDOR_CLOCK=told), so
the day's verifications run out as its hours pass."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import psycopg
import pytest
from aiokafka import AIOKafkaConsumer
from pydantic import SecretStr
from test_serve_workers import free_port

from projections.catalog import PROJECTIONS
from projections.generations import live_targets
from projections.pg_store import PostgresStore
from projections.sqlite_store import SQLiteStore
from projections.store import ReadModelStore
from services.audit.verify import verify_store
from services.settings import Settings
from services.simulate.day import Day, play
from services.simulate.http import HttpServer
from services.simulate.kafka import KafkaCommands
from services.simulate.run import issuer_for
from services.simulate.stories.cast import Scenario
from services.simulate.world import World
from services.storage.application import CorridorApplication
from services.storage.readmodels import READ_MODELS_FILE
from services.storage.sealing import decode_master_key, new_master_key
from services.storage.secrets import master_key

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "projections"))
from projection_checks import actual, all_records, differences, expected

HOURS = 3.0
SECRET = "simulated-day-secret-0123456789abcdef"


@dataclass
class PlayedDay:
    """A day played against a server that has been stopped since, and what was seen."""

    world: World
    settings: Settings
    on_board: set[UUID]
    last_opened: datetime
    """The business time of the last case the board shows opened."""
    published: bytes = b""
    sent_over_kafka: Counter[str] = field(default_factory=Counter)
    """Commands sent over the Kafka command topic, by the simulator's kind."""
    stored_bytes: bytes = field(default=b"", repr=False)


def corridor(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([str(Path(sys.executable).with_name("corridor")), *args],
                                env=env, stdout=out, stderr=subprocess.STDOUT)


def ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"not ready:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()


async def play_day(base: str, settings: Settings,
                   kafka_share: float) -> tuple[World, Counter[str]]:
    """The network's notes, and how many commands of each kind went over the Kafka command
    topic."""
    server = HttpServer(base, issuer_for(settings))
    try:
        if kafka_share:
            server.kafka = await KafkaCommands.start(settings, kafka_share, seed=11)
        day = Day(Scenario(seed=11, requests_per_day=400), hours=HOURS, speed=1000)
        world = await play(day, server)
        return world, server.kafka.sent_by_kind if server.kafka is not None else Counter()
    finally:
        await server.close()


def settled(base: str, headers: dict[str, str]) -> None:
    """Until every read model has applied the store's head and the head stands still
    (the policies' follow-ups of the day's last commands are stored too)."""
    last, deadline = -1, time.monotonic() + 60
    while time.monotonic() < deadline:
        status = httpx.get(f"{base}/projections/status", headers=headers, timeout=10).json()
        head = max(s["head"] for s in status)
        if head == last and all(s["position"] >= head for s in status):
            return
        last = head
        time.sleep(1.0)
    raise AssertionError(f"read models did not settle: {status}")


def board_rows(base: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Every case on the board, open or closed, page by page."""
    found: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = httpx.get(f"{base}/board", headers=headers, timeout=30, params={
            "status": ["unassigned", "assigned", "closed"], "limit": 200,
            "offset": offset}).json()
        found += page["cases"]
        offset += 200
        if offset >= page["total"]:
            return found


def played_on(settings: Settings, args: list[str], env: dict[str, str], log: Path,
              kafka_share: float = 0.0) -> PlayedDay:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = corridor(["serve", *args, "--port", str(port)], env, log)
    try:
        ready(base, process, log)
        world, over_kafka = asyncio.run(play_day(base, settings, kafka_share))
        supervisor = next(m for m in world.members.values() if "supervisor" in m.roles)
        token = issuer_for(settings).issue(str(supervisor.id), ["supervisor"])
        headers = {"Authorization": f"Bearer {token}"}
        settled(base, headers)
        rows = board_rows(base, headers)
    finally:
        stop(process)
    return PlayedDay(world=world, settings=settings,
                     on_board={UUID(r["case_id"]) for r in rows},
                     last_opened=max(datetime.fromisoformat(r["opened_at"]) for r in rows),
                     sent_over_kafka=over_kafka)


@pytest.fixture(scope="class")
def sqlite_day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlayedDay]:
    folder = tmp_path_factory.mktemp("simulated-day")
    data = folder / "data"
    env = {**os.environ, "CORRIDOR_STORE": "sqlite", "CORRIDOR_DATA_DIR": str(data),
           "CORRIDOR_CLOCK": "told", "CORRIDOR_KAFKA_BOOTSTRAP": ""}
    settings = Settings(store="sqlite", data_dir=data, kafka_bootstrap=None)
    day = played_on(settings, [], env, folder / "serve.log")
    day.stored_bytes = b"".join(p.read_bytes() for p in data.glob("*") if p.is_file())
    yield day


@pytest.fixture(scope="class")
def class_pg_database(pg_dsn: str) -> Iterator[str]:
    """A fresh database for the class (the day is played once, then checked many ways)."""
    name = f"t_{uuid4().hex}"
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_dsn.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                          "datname = %s AND pid <> pg_backend_pid() AND usename = current_user",
                          (name,))
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.fixture(scope="class")
def postgres_kafka_day(class_pg_database: str, kafka_bootstrap: str,
                       tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlayedDay]:
    folder = tmp_path_factory.mktemp("simulated-day-pg")
    prefix = f"t{uuid4().hex[:12]}."
    key = new_master_key()
    env = {**os.environ, "CORRIDOR_STORE": "postgres", "CORRIDOR_PG_DSN": class_pg_database,
           "CORRIDOR_MASTER_KEY": key, "CORRIDOR_AUTH_SECRET": SECRET,
           "CORRIDOR_KAFKA_BOOTSTRAP": kafka_bootstrap, "CORRIDOR_KAFKA_TOPIC_PREFIX": prefix,
           "CORRIDOR_CLOCK": "told"}
    settings = Settings(store="postgres", pg_dsn=class_pg_database, master_key=SecretStr(key),
                        auth_secret=SecretStr(SECRET), kafka_bootstrap=kafka_bootstrap,
                        kafka_topic_prefix=prefix)
    day = played_on(settings, ["--writer-process"], env, folder / "serve.log",
                    kafka_share=0.5)
    day.stored_bytes = postgres_bytes(class_pg_database)
    day.published = asyncio.run(topic_bytes(settings, [settings.topic("events"),
                                                      settings.topic("command-replies")]))
    yield day


def postgres_bytes(dsn: str) -> bytes:
    """Every row of every table (events, snapshots, keys, receipts, read models)."""
    with psycopg.connect(dsn) as conn:
        tables = conn.execute(
            "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) "
            "FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND "
            "table_schema NOT IN ('pg_catalog', 'information_schema')").fetchall()
        rows = [row for (table,) in tables
                for row in conn.execute(f"SELECT * FROM {table}").fetchall()]
    return b"\n".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
                      for row in rows for v in row)


async def topic_bytes(settings: Settings, topics: list[str]) -> bytes:
    """Every key, value and header on the topics, read from the start until quiet."""
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=settings.kafka_bootstrap,
                                group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    try:
        seen: list[bytes] = []
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 3.0:
            batches = await consumer.getmany(timeout_ms=500)
            for messages in batches.values():
                for m in messages:
                    seen += [m.key or b"", m.value or b"", *(v for _, v in m.headers)]
            if batches:
                quiet_since = time.monotonic()
        return b"\n".join(seen)
    finally:
        await consumer.stop()


def open_app(settings: Settings) -> CorridorApplication:
    if settings.store == "sqlite":
        return CorridorApplication(settings, master_key(settings))
    assert settings.master_key is not None
    return CorridorApplication(settings, decode_master_key(
        settings.master_key.get_secret_value()))


async def read_model_store(settings: Settings) -> ReadModelStore:
    store: ReadModelStore = (SQLiteStore(settings.data_dir / READ_MODELS_FILE)
                             if settings.store == "sqlite" else PostgresStore(str(settings.pg_dsn)))
    await store.start()
    return store


async def rebuild_differences(settings: Settings, app: CorridorApplication,
                              ) -> dict[str, Any]:
    """Tables whose rows differ from a fresh projection of the events each has applied."""
    records = all_records(app)
    store = await read_model_store(settings)
    try:
        found: dict[str, Any] = {}
        for target in await live_targets(store, PROJECTIONS):
            projection = target.target.projection
            applied = [r for r in records if r.position <= target.position]
            assert target.position == records[-1].position, projection.name
            found |= differences(expected([projection], applied),
                                 await actual(store, [projection]))
        return found
    finally:
        await store.close()


def stream_exists(app: CorridorApplication, stream_id: UUID) -> bool:
    return bool(list(app.events.get(stream_id, lte=1)))


class SimulatedDayInvariants:
    day: PlayedDay

    def test_the_day_was_busy_and_its_hours_passed_on_the_servers_clock(self) -> None:
        world = self.day.world
        assert world.told_clock
        assert sum(c.opened for c in world.cases.values()) > 15
        assert world.tally.sent["take"] + world.tally.sent["assign"] > 10
        assert world.tally.sent["contact"] > 0  # tries to reach people, reached or not
        assert self.day.last_opened >= world.at(120)  # stamped hours after the start

    def test_no_case_the_simulator_opened_is_lost(self) -> None:
        opened = {c.id for c in self.day.world.cases.values() if c.opened}
        app = open_app(self.day.settings)
        try:
            missing = {c for c in opened if not stream_exists(app, c)}
        finally:
            app.close()
        assert missing == set()
        assert opened <= self.day.on_board

    def test_every_read_model_equals_a_fresh_rebuild_from_the_events(self) -> None:
        app = open_app(self.day.settings)
        try:
            assert asyncio.run(rebuild_differences(self.day.settings, app)) == {}
        finally:
            app.close()

    def test_the_hash_chain_verifies(self) -> None:
        app = open_app(self.day.settings)
        try:
            report = verify_store(app)
        finally:
            app.close()
        assert report.ok and report.events_checked > 500

    def test_no_personal_value_the_simulator_sent_is_stored_in_plaintext(self) -> None:
        stored = self.day.stored_bytes
        assert b"Kharkiv" in stored  # the scan reads the stored events and read models
        leaked = sorted(v for v in self.day.world.personal if v.encode() in stored)
        assert len(self.day.world.personal) > 100
        assert leaked == []


class TestOnTheEmbeddedDefault(SimulatedDayInvariants):
    @pytest.fixture(autouse=True)
    def _day(self, sqlite_day: PlayedDay) -> None:
        self.day = sqlite_day


@pytest.mark.postgres
@pytest.mark.kafka
class TestOnPostgresAndKafka(SimulatedDayInvariants):
    @pytest.fixture(autouse=True)
    def _day(self, postgres_kafka_day: PlayedDay) -> None:
        self.day = postgres_kafka_day

    def test_no_personal_value_is_published_in_plaintext(self) -> None:
        published = self.day.published
        some_case = next(iter(self.day.world.cases))
        assert str(some_case).encode() in published  # the scan reads the real messages
        leaked = sorted(v for v in self.day.world.personal if v.encode() in published)
        assert leaked == []

    def test_part_of_the_intake_came_over_the_kafka_command_topic(self) -> None:
        assert self.day.sent_over_kafka["open"] > 0

    def test_partner_services_answered_their_referrals_over_the_kafka_command_topic(
            self) -> None:
        assert self.day.sent_over_kafka["partner_answer"] > 0
        assert self.day.world.tally.events["cases referred to a partner"] > 0

