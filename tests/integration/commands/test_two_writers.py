"""Two service processes' worth of writers on one PostgreSQL database, hammering the same
streams at once: no accepted command is lost or doubled, and the hash chain stays whole."""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from uuid import UUID

import psycopg
import pytest
from command_runtime import command, postgres_settings, register, send, stored_events

from services.bootstrap import Runtime, build_runtime
from services.runtime.outcomes import Accepted, Rejected
from services.settings import Settings
from services.storage.recorders import GENESIS, chain_hash

THREADS_PER_RUNTIME = 4
COMMANDS_PER_THREAD = 40
MAX_RETRIES = 50


@dataclass
class Hammering:
    """What the callers were told."""

    accepted: dict[UUID, tuple[UUID, int]] = field(default_factory=dict)
    """command id -> (volunteer, minutes) of every accepted log_training."""
    conflicts: int = 0
    refused: list[Rejected] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    """Errors callers got instead of an outcome (an HTTP caller would see a 500)."""
    lock: threading.Lock = field(default_factory=threading.Lock)


def hammer(runtimes: list[Runtime], volunteers: list[UUID]) -> Hammering:
    """Every thread logs training on random volunteers through its runtime, retrying a
    command that lost a race (409 ConcurrentWrite) with the same command id."""
    seen = Hammering()
    start = threading.Barrier(len(runtimes) * THREADS_PER_RUNTIME)

    def caller(runtime: Runtime, seed: int) -> None:
        pick = random.Random(seed)
        start.wait()
        for _ in range(COMMANDS_PER_THREAD):
            volunteer_id, minutes = pick.choice(volunteers), pick.randint(1, 30)
            first = command(runtime, "volunteers.log_training", volunteer_id=volunteer_id,
                            minutes=minutes, topic="drill")
            for _attempt in range(MAX_RETRIES):
                try:
                    outcome = send(runtime, command(
                        runtime, "volunteers.log_training", command_id=first.command_id,
                        volunteer_id=volunteer_id, minutes=minutes, topic="drill"))
                except Exception as error:  # reported by the test, like a 500 to a caller
                    with seen.lock:
                        seen.failed.append(f"{type(error).__name__}: {error}")
                    return
                if not (isinstance(outcome, Rejected) and outcome.rule == "ConcurrentWrite"):
                    break
                with seen.lock:
                    seen.conflicts += 1
            with seen.lock:
                if isinstance(outcome, Accepted):
                    seen.accepted[outcome.command_id] = (volunteer_id, minutes)
                else:
                    seen.refused.append(outcome)

    callers = [(r, n) for r in runtimes for n in range(THREADS_PER_RUNTIME)]
    with ThreadPoolExecutor(max_workers=len(callers)) as pool:
        for done in [pool.submit(caller, r, hash((id(r), n))) for r, n in callers]:
            done.result()
    return seen


@pytest.fixture
def settings(fresh_pg_database: str) -> Settings:
    return postgres_settings(fresh_pg_database)


@pytest.fixture
def two_runtimes(settings: Settings) -> Iterator[list[Runtime]]:
    first, second = build_runtime(settings), build_runtime(settings)
    try:
        yield [first, second]
    finally:
        first.close()
        second.close()


@pytest.fixture
def volunteers(two_runtimes: list[Runtime]) -> list[UUID]:
    """Three volunteers, cached at version 1 by both runtimes."""
    first, second = two_runtimes
    registered = [register(first) for _ in range(3)]
    for volunteer_id in registered:
        second.app.repository.get(volunteer_id)
    return registered


@pytest.mark.postgres
def test_racing_writers_lose_no_accepted_command_and_double_none(
        two_runtimes: list[Runtime], volunteers: list[UUID], settings: Settings) -> None:
    seen = hammer(two_runtimes, volunteers)

    observer = build_runtime(settings, start_writer=False)
    try:
        events = stored_events(observer)
        trained = {v: observer.app.repository.get(v).training_minutes for v in volunteers}
    finally:
        observer.app.close()  # its writer never started
    assert seen.failed == []
    assert seen.refused == []
    assert len(seen.accepted) == 2 * THREADS_PER_RUNTIME * COMMANDS_PER_THREAD
    raced = seen.conflicts + sum(r.writer.conflicts for r in two_runtimes)
    assert raced > 0, "the writers never raced, so this test proved nothing"
    logged = Counter(e.meta.command_id for e in events if type(e).__name__ == "TrainingLogged")
    assert logged == Counter(seen.accepted.keys())
    for volunteer_id in volunteers:
        versions = [e.originator_version for e in events if e.originator_id == volunteer_id]
        assert versions == list(range(1, len(versions) + 1))
        cleared = [e for e in events
                   if e.originator_id == volunteer_id and type(e).__name__ == "VolunteerCleared"]
        assert len(cleared) == 1
    expected: dict[UUID, int] = defaultdict(int)
    for volunteer_id, minutes in seen.accepted.values():
        expected[volunteer_id] += minutes
    assert trained == dict(expected)


@pytest.mark.postgres
def test_racing_writers_keep_every_streams_hash_chain_whole(
        two_runtimes: list[Runtime], volunteers: list[UUID], fresh_pg_database: str) -> None:
    seen = hammer(two_runtimes, volunteers)

    with psycopg.connect(fresh_pg_database) as conn:
        recorded = {(row[0], row[1]): bytes(row[2]) for row in conn.execute(
            "SELECT originator_id, originator_version, hash FROM event_chain")}
    recorder = two_runtimes[0].app.recorder
    assert seen.accepted, "nothing was written, so this test proved nothing"
    for volunteer_id in volunteers:
        previous = GENESIS
        for stored in recorder.select_events(volunteer_id):
            previous = chain_hash(previous, stored)
            assert recorded[(volunteer_id, stored.originator_version)] == previous
