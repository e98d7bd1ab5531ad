"""One fault case's course: the processes up, load for a while, the fault, load on after it,
then the checks; every figure is recorded before any assertion, so a failing case still
reports what it measured."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fault_checks import (
    Target,
    chain_verifies,
    exactly_once,
    read_models_caught_up,
    read_models_reach,
    store_head,
    stored_records,
    topic_caught_up,
    topic_reaches,
)
from fault_load import Load, first_ready_after, first_success_after, summary
from fault_rig import Api, Proc

WARM_UP_SECONDS = 3.0
AFTER_SECONDS = 5.0  # load goes on this long after the process is ready again
READY_TIMEOUT = 60.0


@dataclass
class Case:
    """The processes of one case and where its events go."""

    api: Api
    target: Target
    others: list[Proc] = field(default_factory=list)
    kafka: str | None = None
    topic: str | None = None
    clients: int = 4
    prefix: str | None = None  # the case's Kafka topic prefix

    @property
    def processes(self) -> list[Proc]:
        return [self.api, *self.others]

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def load(self) -> Load:
        return Load(self.api.base, self.api.headers("intake-bot", "intake"),
                    self.api.headers("supervisor-faults", "supervisor"), clients=self.clients)


async def run(case: Case, figures: dict[str, Any], fault: Callable[[], Awaitable[float]],
              after_seconds: float = AFTER_SECONDS) -> tuple[Load, float]:
    """Warm up, inject (`fault` returns the monotonic time the fault ended), go on
    `after_seconds` once ready again, stop."""
    load = case.load()
    load.start()
    await asyncio.sleep(WARM_UP_SECONDS)
    fault_started = time.monotonic()
    ended = await fault()
    figures["fault_seconds"] = round(ended - fault_started, 1)
    catching_up = asyncio.create_task(caught_up(case, ended))
    while first_ready_after(load, ended) is None and time.monotonic() - ended < READY_TIMEOUT:
        await asyncio.sleep(0.1)  # the load goes on until ready again (or READY_TIMEOUT)
    await asyncio.sleep(after_seconds)
    await load.stop()
    figures["time_to_caught_up_s"] = await catching_up
    figures["load"] = summary(load)
    figures["time_to_ready_s"] = _round(first_ready_after(load, ended))
    figures["time_to_first_acknowledged_s"] = _round(first_success_after(load, ended))
    return load, ended


async def check(case: Case, figures: dict[str, Any], load: Load, ended: float) -> None:
    """Record the after-fault figures; `assert_checks` then asserts on them."""
    records = await asyncio.to_thread(stored_records, case.target)
    figures["commands"] = exactly_once(load, records)
    if case.kafka is not None and case.topic is not None:
        waited, topic = await topic_caught_up(case.kafka, case.topic, records)
        figures["topic"] = topic
        figures["topic_waited_s_after_load"] = round(waited, 2)
    waited, models = await read_models_caught_up(case.target, records)
    figures["read_models"] = models
    figures["read_models_waited_s_after_load"] = round(waited, 2)
    figures["hash_chain"] = await asyncio.to_thread(chain_verifies, case.target)
    figures["processes_alive"] = {p.name: p.alive() for p in case.processes}
    figures["process_exits"] = {p.name: p.exits for p in case.processes if p.exits}


async def caught_up(case: Case, ended: float, timeout: float = 90.0) -> dict[str, Any]:
    """From the end of the fault: seconds until the store answers again, then until the
    topic and the read models hold every event stored by that moment."""
    while True:
        try:
            head = await asyncio.to_thread(store_head, case.target)
            break
        except Exception:  # the store is not back yet
            if time.monotonic() - ended > timeout:
                return {"store": None}
            await asyncio.sleep(0.1)
    found: dict[str, Any] = {"store_head": head}
    rest = timeout - (time.monotonic() - ended)
    if case.kafka is not None and case.topic is not None:
        took = await topic_reaches(case.kafka, case.topic, head, rest)
        found["topic"] = _round(None if took is None else time.monotonic() - ended)
    took = await read_models_reach(case.target, head, timeout - (time.monotonic() - ended))
    found["read_models"] = _round(None if took is None else time.monotonic() - ended)
    return found


def assert_checks(case: Case, figures: dict[str, Any]) -> None:
    commands = figures["commands"]
    assert commands["acknowledged"] > 0, "no command was acknowledged"
    assert commands["lost"] == 0, f"acknowledged commands lost: {commands}"
    assert commands["duplicated"] == 0, f"commands stored twice: {commands}"
    assert commands["misplaced"] == 0, f"answers naming the wrong position: {commands}"
    if "topic" in figures:
        topic = figures["topic"]
        assert topic["missing_from_topic"] == 0 and topic["not_in_store"] == 0, topic
    models = figures["read_models"]
    assert not models["behind"], f"read models behind the store: {models}"
    assert not models["tables_differing"], f"read models differ from a rebuild: {models}"
    assert figures["hash_chain"]["ok"], figures["hash_chain"]
    dead = [name for name, alive in figures["processes_alive"].items() if not alive]
    assert not dead, f"processes dead: {dead}\n" + "\n".join(
        p.tail(2000) for p in case.processes if p.name in dead)


def assert_no_text_5xx(load: Load) -> None:
    """No 5xx answered as plain text: every server error is a problem document."""
    bad = [(a.status, a.content_type, a.error[:80]) for c in load.commands for a in c.attempts
           if a.status >= 500 and "application/problem+json" not in a.content_type]
    bad += [(a.status, a.content_type, a.error[:80]) for a in load.reads
            if a.status >= 500 and "application/problem+json" not in a.content_type]
    assert not bad, f"{len(bad)} 5xx answers that are not problem documents, e.g. {bad[:3]}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
