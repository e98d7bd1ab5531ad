"""How long an as-of query takes on a long case, and whether it grows with the store.

`measure_as_of(settings, events_per_case=1000, background_events=N)` writes into the store
the settings name (use a scratch store): N background events on other streams, then one case
with `events_per_case` events, all through the writer, then times as-of queries by version
and by time. The answer is a dict of milliseconds (p50, p95, max) and what was measured.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from domain.base import Meta
from services.audit.render import Disclosure
from services.audit.replay import Replay
from services.bootstrap import Runtime, build_runtime
from services.commands import CATALOG
from services.runtime.outcomes import Accepted, Outcome
from services.runtime.writer import Submission
from services.settings import Settings

Command = tuple[str, str, dict[str, Any]]
"""(command name, actor, body fields without command_id)."""


class Scenario:
    """Drives real commands through the writer with business times it controls."""

    def __init__(self, runtime: Runtime, start: datetime | None = None,
                 step: timedelta = timedelta(seconds=1)) -> None:
        self.runtime = runtime
        self.clock = start or datetime(2022, 3, 1, 8, 0, tzinfo=UTC)
        self.step = step

    def tick(self) -> datetime:
        self.clock += self.step
        return self.clock

    def submission(self, name: str, actor: str, fields: dict[str, Any]) -> Submission:
        spec = CATALOG[name]
        body = spec.body(command_id=uuid4(), **fields)
        meta = Meta(actor=actor, at=self.tick(), command_id=body.command_id,
                    correlation_id=body.command_id)
        return Submission(command_id=body.command_id, name=name, payload=body, meta=meta,
                          handler=spec.handler)

    def run(self, name: str, actor: str, **fields: Any) -> Accepted:
        """One command, committed; raises if it was rejected."""
        [outcome] = self.run_all([(name, actor, fields)])
        return outcome

    def run_all(self, commands: Iterable[Command], batch: int = 250) -> list[Accepted]:
        """Many commands, group-committed `batch` at a time; raises on any rejection."""
        accepted: list[Accepted] = []
        pending = [self.submission(n, a, f) for n, a, f in commands]
        for start in range(0, len(pending), batch):
            outcomes = self.runtime.writer.execute_now(pending[start:start + batch])
            accepted.extend(_accepted(outcomes))
        return accepted

    # --- the network's people and things ---------------------------------------------------

    def volunteer(self, name: str, roles: Sequence[str] = ("volunteer",)) -> UUID:
        """A registered volunteer, trained for casework."""
        volunteer_id = uuid4()
        self.run("volunteers.register", "admin", volunteer_id=volunteer_id, display_name=name,
                 roles=list(roles), contact=f"@{name.lower()}")
        self.run("volunteers.log_training", "admin", volunteer_id=volunteer_id, minutes=300,
                 topic="casework basics")
        return volunteer_id

    def verified_resource(self, reporter: UUID, checker: UUID, kind: str = "route",
                          region: str = "Kharkiv oblast") -> UUID:
        resource_id = uuid4()
        self.run("resources.report", str(reporter), resource_id=resource_id, kind=kind,
                 region=region, place="north exit", details="checked daily",
                 contact={"name": "Petro", "phone": "+380000000"})
        self.run("resources.verify", str(checker), resource_id=resource_id)
        return resource_id

    def open_case(self, name: str = "Iryna") -> tuple[UUID, UUID]:
        """A new case (its id and its person's id), opened by the intake service."""
        case_id, person_id = uuid4(), uuid4()
        self.run("cases.open", "intake", case_id=case_id, person_id=person_id, intake={
            "safe_now": False, "region": "Kharkiv oblast", "destination": "Lviv",
            "contact_channel": "telegram", "adults": 1, "children_ages": [4],
            "name": name, "contact_handle": f"@{name.lower()}", "health_details": "asthma"})
        return case_id, person_id


def _accepted(outcomes: Sequence[Outcome]) -> list[Accepted]:
    for outcome in outcomes:
        if not isinstance(outcome, Accepted):
            raise RuntimeError(f"command rejected: {outcome.rule}: {outcome.detail}")
    return list(outcomes)  # type: ignore[arg-type]


def long_case(scenario: Scenario, volunteer: UUID, resource: UUID, events: int) -> UUID:
    """A case with `events` events: advice (some relying on a resource) and notes."""
    case_id, _ = scenario.open_case()
    scenario.run("cases.take", str(volunteer), case_id=case_id)
    commands: list[Command] = []
    for i in range(events - 2):
        if i % 25 == 0:
            commands.append(("cases.add_note", str(volunteer), {"case_id": case_id,
                                                               "text": f"call {i} went well"}))
        else:
            commands.append(("cases.give_advice", str(volunteer), {
                "case_id": case_id, "text": f"advice {i}: wait for the convoy",
                "resource_ids": [resource] if i % 10 == 0 else []}))
    scenario.run_all(commands)
    return case_id


def background(scenario: Scenario, events: int, volunteers: int = 50) -> None:
    """`events` events on other streams (training sessions spread over many volunteers)."""
    if events <= 0:
        return
    ids = [scenario.volunteer(f"Helper{i}") for i in range(min(volunteers, events // 2 or 1))]
    left = events - 2 * len(ids)
    sessions = (("volunteers.log_training", "admin",
                 {"volunteer_id": ids[i % len(ids)], "minutes": 30, "topic": f"refresher {i}"})
                for i in range(max(left, 0)))
    scenario.run_all(sessions, batch=1000)


def _timed(call: Callable[[], object], repeats: int) -> dict[str, float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 3),
            "p95_ms": round(times[int(len(times) * 0.95) - 1], 3),
            "max_ms": round(times[-1], 3)}


def measure_as_of(settings: Settings, events_per_case: int = 1000,
                  background_events: int = 0, queries: int = 200,
                  seed: int = 8) -> dict[str, Any]:
    """Time as-of queries (by version and by time) on a case with `events_per_case` events
    in a store holding `background_events` other events. Writes into the settings' store."""
    runtime = build_runtime(settings, start_writer=False)
    try:
        scenario = Scenario(runtime)
        background(scenario, background_events)
        worker = scenario.volunteer("Olena")
        resource = scenario.verified_resource(worker, scenario.volunteer("Taras",
                                                                         ["fact_checker"]))
        first = scenario.clock
        case_id = long_case(scenario, worker, resource, events_per_case)
        return _measure(runtime, case_id, first, scenario.clock, queries, seed)
    finally:
        runtime.app.close()


def _measure(runtime: Runtime, case_id: UUID, first: datetime, last: datetime, queries: int,
             seed: int) -> dict[str, Any]:
    replay = Replay(runtime.app)
    def shown() -> Disclosure:  # one per query, as one per request in the service
        return Disclosure(True, runtime.app.sealer.revealer(), lambda _: False)

    rng = random.Random(seed)
    top = replay.as_of_version(case_id, 10**9, shown()).version
    span = (last - first).total_seconds()

    def by_version() -> object:
        return replay.as_of_version(case_id, rng.randint(1, top), shown())

    def by_time() -> object:
        return replay.as_of_time(case_id, first + timedelta(seconds=rng.uniform(0, span)),
                                 shown())

    by_version()  # warm the data key cache, as a running service would have it
    return {"store": runtime.settings.store, "events_in_case": top,
            "events_in_store": replay.reader.max_position(),
            "snapshot_interval": runtime.settings.snapshot_interval, "queries": queries,
            "as_of_version": _timed(by_version, queries), "as_of_time": _timed(by_time, queries)}
