"""Runtimes on real stores, and commands handed straight to their writers (no HTTP)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from domain.base import PersonalData
from services.auth import CallerRole, Principal
from services.bootstrap import Runtime, build_runtime
from services.commands import CATALOG
from services.runtime.outcomes import Accepted, Outcome
from services.runtime.writer import Submission
from services.settings import Settings
from services.storage.application import CorridorApplication
from services.storage.sealing import new_master_key

ADMIN = Principal(actor="admin", roles=frozenset({CallerRole.ADMIN}))


def sqlite_settings(data_dir: Path) -> Settings:
    return Settings(store="sqlite", data_dir=data_dir, reactions_in_process=False,
                    kafka_bootstrap=None)


def postgres_settings(dsn: str) -> Settings:
    return Settings(store="postgres", pg_dsn=dsn, master_key=new_master_key(),
                    auth_secret="integration-secret-long-enough-for-hs256",
                    reactions_in_process=False, kafka_bootstrap=None)


def command(runtime: Runtime, name: str, principal: Principal = ADMIN, *,
            command_id: UUID | None = None, **fields: Any) -> Submission:
    """The submission the HTTP endpoint for `name` would hand to the writer."""
    body = CATALOG[name].body.model_validate({"command_id": command_id or uuid4(), **fields})
    return runtime.submission(name, body, principal)


def send(runtime: Runtime, submission: Submission) -> Outcome:
    """Submit to the running writer and wait for the answer."""
    return runtime.writer.submit(submission).result(timeout=30)


def register(runtime: Runtime, *, trained: bool = False) -> UUID:
    volunteer_id = uuid4()
    send(runtime, command(runtime, "volunteers.register", volunteer_id=volunteer_id,
                          display_name="Taras"))
    if trained:
        send(runtime, command(runtime, "volunteers.log_training", volunteer_id=volunteer_id,
                              minutes=300, topic="basics"))
    return volunteer_id


@contextlib.contextmanager
def paused(settings: Settings) -> Iterator[Runtime]:
    """A runtime whose writer starts only when the test says so, so that commands can queue."""
    runtime = build_runtime(settings, start_writer=False)
    try:
        yield runtime
    finally:
        with contextlib.suppress(RuntimeError):  # already started by the test
            runtime.writer.start()
        runtime.close()


def reads_from_the_store(app: CorridorApplication) -> list[UUID]:
    """The streams the app's repository rebuilds from the store from now on (a list that
    grows as it does), to show what was served from the writer's cache instead."""
    reads: list[UUID] = []
    rebuild = app.repository._reconstruct_aggregate

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(args[0])
        return rebuild(*args, **kwargs)

    app.repository._reconstruct_aggregate = counted  # type: ignore[method-assign]
    return reads


def stored_events(runtime: Runtime) -> list[Any]:
    """Every stored event, decoded, in store order."""
    app = runtime.app
    return [app.mapper.to_domain_event(n)
            for n in app.recorder.select_notifications(start=1, limit=1_000_000)]


INTAKE = {"safe_now": False, "region": "Kharkiv", "destination": "Lviv",
          "contact_channel": "telegram", "name": "Olena"}


def volunteer(volunteer_id: UUID) -> Principal:
    return Principal(actor=str(volunteer_id), roles=frozenset({CallerRole.VOLUNTEER}))


def on_the_way(runtime: Runtime, who: Principal, checkpoints: int = 0) -> UUID:
    """A case taken by `who`, departed, past `checkpoints` checkpoints."""
    case_id = uuid4()
    for name, fields in [("cases.open", {"person_id": uuid4(), "intake": INTAKE}),
                         ("cases.take", {}), ("cases.record_departure", {}),
                         *[("cases.record_checkpoint", {"checkpoint": f"km {n}"})
                           for n in range(checkpoints)]]:
        outcome = send(runtime, command(runtime, name, who, case_id=case_id, **fields))
        assert isinstance(outcome, Accepted), outcome
    return case_id


def state(aggregate: Any) -> dict[str, Any]:
    return {k: _whose(v) for k, v in vars(aggregate).items() if k != "_pending_events"}


def _whose(value: Any) -> Any:
    """Personal data as whose it is: the writer's copy holds what it just sealed in plain."""
    if isinstance(value, PersonalData):
        return (value.subject_id, value.erased)
    if isinstance(value, list):
        return [_whose(v) for v in value]
    if isinstance(value, dict):
        return {k: _whose(v) for k, v in value.items()}
    return value
