"""Dependencies failing under load: PostgreSQL stopped 10 s and 40 s, the Kafka broker stopped
30 s (each a throwaway server of this suite's own, stopped and started again on the same port
and data), the embedded SQLite store's disk full (a size-limited tmpfs), and a slow database
(latency added by a TCP proxy of ours on loopback)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from fault_case import Case, assert_checks, assert_no_text_5xx, check, run
from fault_checks import Target
from fault_load import Attempt, Load, attempts_between, past_bound, stalled_during
from fault_rig import Api, Proc, ThrowawayServers, base_env, free_port
from outage_proxy import OutageProxy

from services.settings import Settings
from services.storage.sealing import new_master_key

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.kafka]
# issue 25: a command gets its answer within a bounded wait ("a few seconds, configurable"):
# CORRIDOR_COMMAND_WAIT_SECONDS, left at its default here; 0.5 s more for the HTTP round trip
BOUNDED_WAIT = float(Settings.model_fields["command_wait_seconds"].default)
RECOVERY = 3.0  # issue 25: commands succeed <= 3 s after the database accepts connections
DETECTION = 5.0  # readiness may take this long to notice a dependency gone


@pytest.fixture(scope="module")
def own_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ThrowawayServers,
                                                                              str]]:
    servers = ThrowawayServers(tmp_path_factory.mktemp("own-postgres"))
    try:
        yield servers, servers.start_postgres()
    finally:
        servers.stop_all()


@pytest.fixture(scope="module")
def own_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ThrowawayServers,
                                                                           str]]:
    servers = ThrowawayServers(tmp_path_factory.mktemp("own-kafka"))
    try:
        yield servers, servers.start_kafka()
    finally:
        servers.stop_all()


async def new_database(dsn: str) -> str:
    name = f"f_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def production_case(dsn: str, kafka: str, prefix: str, tmp: Path, *,
                    api_dsn: str | None = None) -> Case:
    """`serve --writer-process` (its writer process relays to Kafka) and a Kafka projection
    worker, as deploy/compose.yaml runs them."""
    key = new_master_key()
    env = base_env("postgres", dsn=dsn, master_key=key, kafka=kafka, prefix=prefix,
                   projections_in_process=False)
    api = Api(["serve", "--writer-process"], {**env, "CORRIDOR_PG_DSN": api_dsn or dsn},
              tmp / "api.log", free_port())
    worker = Proc("projection worker", ["project", "--from", "kafka"], env, tmp / "worker.log")
    return Case(api, Target("postgres", key, dsn=dsn), [worker], kafka=kafka,
                topic=Settings(kafka_topic_prefix=prefix).topic("events"))


@contextlib.asynccontextmanager
async def started(case: Case, figures: dict[str, Any]) -> AsyncIterator[Case]:
    try:
        case.api.start()
        figures["started_ready_s"] = round(await case.api.wait_ready(), 2)
        for process in case.others:
            process.start()
        yield case
    finally:
        case.stop()


def answers(attempts: list[Attempt], since: float | None = None,
            load: Load | None = None) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    for attempt in attempts:
        key = f"{attempt.status} {attempt.content_type.split(';')[0]}".strip()
        statuses[key] = statuses.get(key, 0) + 1
    return {"answers": statuses,
            "longest_wait_s": round(max((a.seconds for a in attempts), default=0), 2),
            "with_retry_after": sum(a.retry_after is not None for a in attempts),
            "200_duplicate": sum(_retry_answered_from_a_receipt(a) for a in attempts),
            **({"past_bounded_wait (sent s after the fault, waited s, suite stalled s)": [
                (round(a.at - since, 1), round(a.seconds, 1),
                 round(stalled_during(load, a), 1) if load is not None else None)
                for a in attempts if a.seconds > BOUNDED_WAIT + 0.5]}
               if since is not None else {})}


def during(load: Load, start: float, end: float) -> tuple[list[Attempt], list[Attempt]]:
    return attempts_between(load, start, end), [r for r in load.reads if start <= r.at < end]


def assert_503_problems_within_the_bounded_wait(load: Load, commands: list[Attempt],
                                                reads: list[Attempt]) -> None:
    assert commands, "no command was sent during the outage"
    slow = past_bound(load, commands, BOUNDED_WAIT)
    assert not slow, f"{len(slow)} commands waited past {BOUNDED_WAIT} s (waited, of which " \
                     f"the suite itself stalled): {slow[:5]}"
    for kind, attempts in (("command", commands), ("read", reads)):
        # a command's 200 within the bounded wait is a true answer (the database came back in
        # time, or a retry was answered from its receipt): the exactly-once check finds it
        # stored. A read while the store is down must be the 503.
        wrong = [(a.status, a.content_type, a.error[:60]) for a in attempts
                 if not (kind == "command" and a.status == 200) and (
                     a.status != 503 or "application/problem+json" not in a.content_type
                     or a.retry_after is None)]
        assert not wrong, f"{len(wrong)} of {len(attempts)} {kind}s during the outage " \
                          f"got neither 200 nor a 503 problem with Retry-After: {wrong[:3]}"


def _retry_answered_from_a_receipt(attempt: Attempt) -> bool:
    return attempt.status == 200 and bool((attempt.answer or {}).get("duplicate"))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("outage_seconds", [10, 40])
async def test_postgres_stopped_commands_get_503_and_recover_within_3s(
        own_postgres, kafka_bootstrap, kafka_topic_prefix, tmp_path, figures,
        outage_seconds):
    figures.title = f"PostgreSQL stopped {outage_seconds} s"
    servers, server_dsn = own_postgres
    dsn = await new_database(server_dsn)
    case = production_case(dsn, kafka_bootstrap, kafka_topic_prefix, tmp_path)
    window: dict[str, float] = {}

    async def outage() -> float:
        window["start"] = time.monotonic()
        mode = await asyncio.to_thread(servers.stop_postgres)
        window["stopped"] = time.monotonic()
        await asyncio.sleep(outage_seconds)
        window["end"] = time.monotonic()
        await asyncio.to_thread(servers.restart_postgres)
        figures["injected"] = f"{mode} shutdown (signal to the postmaster), " \
                              f"{outage_seconds} s down, pg_ctl start (same port and data)"
        return time.monotonic()  # the database accepts connections again

    async with started(case, figures):
        load, back = await run(case, figures, outage)
        commands, reads = during(load, window["stopped"], window["end"])
        figures["commands_during_outage"] = answers(commands, window["stopped"], load)
        figures["reads_during_outage"] = answers(reads, window["stopped"])
        figures["readiness_during_outage"] = sorted({
            status for at, status, _ in load.readiness
            if window["stopped"] + DETECTION <= at < window["end"]})
        await check(case, figures, load, back)
    assert_503_problems_within_the_bounded_wait(load, commands, reads)
    assert 200 not in figures["readiness_during_outage"], "ready while the store was down"
    recovered = figures["time_to_first_acknowledged_s"]
    assert recovered is not None and recovered <= RECOVERY, \
        f"commands succeeded {recovered} s after PostgreSQL was back (target {RECOVERY} s)"
    assert_no_text_5xx(load)
    assert_checks(case, figures)


@pytest.mark.timeout(300)
async def test_broker_stopped_30s_commands_go_on_and_the_relay_drains(
        own_kafka, fresh_pg_database, kafka_topic_prefix, tmp_path, figures):
    figures.title = "Kafka broker stopped 30 s"
    servers, bootstrap = own_kafka
    case = production_case(fresh_pg_database, bootstrap, kafka_topic_prefix, tmp_path)
    window: dict[str, float] = {}

    async def outage() -> float:
        await asyncio.to_thread(servers.stop_kafka)
        window["stopped"] = time.monotonic()
        await asyncio.sleep(30)
        window["end"] = time.monotonic()  # from here the broker may answer again
        await asyncio.to_thread(servers.restart_kafka)
        figures["injected"] = "SIGTERM to the broker, 30 s, the same broker started again"
        return time.monotonic()

    async with started(case, figures):
        load, back = await run(case, figures, outage)
        commands, _ = during(load, window["stopped"], window["end"])
        figures["commands_during_outage"] = answers(commands)
        acknowledged = sum(a.status == 200 for a in commands)
        figures["acknowledged_during_outage"] = acknowledged
        probes = [(status, body.get("status") if isinstance(body, dict) else body)
                  for at, status, body in load.readiness
                  if window["stopped"] + DETECTION <= at < window["end"]]
        figures["readiness_during_outage"] = sorted({f"{s} {b}" for s, b in probes})
        figures["ready_200_seconds_after_stop"] = [
            round(at - window["stopped"], 1) for at, status, body in load.readiness
            if window["stopped"] <= at < window["end"] and status == 200
            and isinstance(body, dict) and body.get("status") == "ready"]
        await check(case, figures, load, back)
    assert acknowledged > 0, "no command was acknowledged while only the broker was down"
    assert_no_text_5xx(load)
    assert_checks(case, figures)
    lies = [p for p in probes if p == (200, "ready")]
    assert not lies, f"readiness said 200 'ready' {len(lies)} times with the broker down"
    assert any(body == "degraded" for _, body in probes), \
        f"readiness never said 'degraded': {figures['readiness_during_outage']}"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(disk)],
                             capture_output=True, text=True, check=False)
    assert mounted.returncode == 0, \
        f"a size-limited tmpfs is needed for the disk-full case: {mounted.stderr}"
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> int:
    """Write a filler file until the disk is full; its size in bytes."""
    written = 0
    with contextlib.suppress(OSError), (disk / "filler").open("wb") as out:
        chunk = b"\0" * 65536
        while True:
            out.write(chunk)
            out.flush()
            written += len(chunk)
    return written


@pytest.mark.timeout(240)
@pytest.mark.parametrize("serve", [["serve", "--writer-process"], ["serve", "--one-process"]],
                         ids=["writer-process", "one-process"])
async def test_sqlite_disk_full_answers_problems_and_recovers(small_disk, tmp_path, figures,
                                                              serve):
    figures.title = f"the embedded SQLite store's disk full (`corridor {' '.join(serve)}`)"
    key = new_master_key()
    env = base_env("sqlite", data_dir=small_disk / "data", master_key=key)
    api = Api(serve, env, tmp_path / "api.log", free_port())
    case = Case(api, Target("sqlite", key, data_dir=small_disk / "data"))
    window: dict[str, float] = {}

    async def disk_full() -> float:
        filled = await asyncio.to_thread(fill, small_disk)
        window["full"] = time.monotonic()
        await asyncio.sleep(8)
        (small_disk / "filler").unlink()
        window["freed"] = time.monotonic()
        figures["injected"] = f"tmpfs of 48 MB filled by a {filled // 1_000_000} MB file " \
                              f"for 8 s, then the file deleted"
        return window["freed"]

    async with started(case, figures):
        load, freed = await run(case, figures, disk_full)
        commands, reads = during(load, window["full"], freed)
        figures["commands_while_full"] = answers(commands, window["full"])
        figures["reads_while_full"] = answers(reads)
        await check(case, figures, load, freed)
    slow = past_bound(load, commands, BOUNDED_WAIT)
    assert not slow, f"commands waited past {BOUNDED_WAIT} s on a full disk: {slow[:5]}"
    unclear = [(a.status, a.error[:80]) for a in commands if a.status != 200 and not (
        a.status == 503 and "store_full" in a.error and a.retry_after is not None)]
    assert not unclear, f"refusals on a full disk that do not say so: {unclear[:3]}"
    assert any(a.status == 503 for a in commands), "no command was refused: the disk never " \
                                                    "filled for the store"
    assert_no_text_5xx(load)
    assert figures["time_to_first_acknowledged_s"] is not None, "no command succeeded after"
    assert_checks(case, figures)


@pytest.mark.timeout(240)
async def test_a_slow_database_slows_answers_but_loses_nothing(
        fresh_pg_database, kafka_bootstrap, kafka_topic_prefix, tmp_path, figures):
    figures.title = "slow database (+20 ms per packet each way through a proxy)"
    proxy = OutageProxy(fresh_pg_database)
    await proxy.up()
    case = production_case(fresh_pg_database, kafka_bootstrap, kafka_topic_prefix, tmp_path,
                           api_dsn=proxy.dsn)
    case.others = []  # the API's own read models (through the proxy too)
    case.api.env["CORRIDOR_PROJECTIONS_IN_PROCESS"] = "true"
    window: dict[str, float] = {}

    async def slow() -> float:
        proxy.delay_seconds = 0.02
        window["slow"] = time.monotonic()
        await asyncio.sleep(10)
        proxy.delay_seconds = 0.0
        figures["injected"] = "20 ms added to every chunk both ways for 10 s"
        return time.monotonic()

    try:
        async with started(case, figures):
            load, ended = await run(case, figures, slow)
            commands, reads = during(load, window["slow"], ended)
            figures["commands_while_slow"] = answers(commands)
            figures["reads_while_slow"] = answers(reads)
            await check(case, figures, load, ended)
    finally:
        await proxy.down()
    unanswered = [a for a in commands if a.status != 200]
    assert not unanswered, f"{len(unanswered)} commands not acknowledged while slow: " \
                           f"{[(a.status, a.error[:60]) for a in unanswered[:3]]}"
    assert_no_text_5xx(load)
    assert_checks(case, figures)
