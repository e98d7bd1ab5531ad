"""Seat holds over the Kafka command topic, answered as over HTTP: holds sent together for a
4-seat car get 4 acceptances and, for the rest, the refusal naming the rule (409)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka_harness import eventually

from services.auth import CallerRole, Principal
from services.bootstrap import Runtime, build_runtime
from services.commands import CATALOG
from services.kafka.command_consumer import CommandConsumer
from services.kafka.messages import CommandReply
from services.kafka.topics import Topics, ensure_topics
from services.runtime.outcomes import Accepted, Rejected
from services.settings import Settings

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(90)]
ADMIN = Principal("admin-1", frozenset({CallerRole.ADMIN}))


@pytest.fixture
async def runtime(pg_settings: Settings) -> AsyncIterator[Runtime]:
    runtime = await asyncio.to_thread(build_runtime, pg_settings)
    try:
        yield runtime
    finally:
        await asyncio.to_thread(runtime.close)


async def accepted(runtime: Runtime, name: str, principal: Principal, **body: Any) -> Accepted:
    payload = CATALOG[name].body.model_validate({"command_id": uuid4(), **body})
    outcome = await runtime.send(name, payload, principal)
    assert isinstance(outcome, Accepted), outcome
    return outcome


async def caseworker(runtime: Runtime, *roles: str) -> Principal:
    person = uuid4()
    await accepted(runtime, "volunteers.register", ADMIN, volunteer_id=person,
                   display_name="Helper", roles=list(roles) or ["volunteer"])
    await accepted(runtime, "volunteers.log_training", ADMIN, volunteer_id=person,
                   minutes=300, topic="basics")
    return Principal(str(person), frozenset(CallerRole(r) for r in roles or ["volunteer"]))


async def taken_case(runtime: Runtime, by: Principal) -> UUID:
    case_id = uuid4()
    await accepted(runtime, "cases.open", ADMIN, case_id=case_id, person_id=uuid4(), intake={
        "safe_now": False, "region": "Kharkiv", "destination": "Lviv",
        "contact_channel": "telegram"})
    await accepted(runtime, "cases.take", by, case_id=case_id)
    return case_id


@contextlib.asynccontextmanager
async def consuming(runtime: Runtime) -> AsyncIterator[CommandConsumer]:
    consumer = CommandConsumer(runtime)
    stopping = asyncio.Event()
    task = asyncio.create_task(consumer.run(stopping))
    try:
        yield consumer
    finally:
        stopping.set()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 20)


async def replies(settings: Settings, count: int) -> list[CommandReply]:
    reader = AIOKafkaConsumer(Topics.of(settings).replies,
                              bootstrap_servers=settings.kafka_bootstrap,
                              auto_offset_reset="earliest", enable_auto_commit=False)
    await reader.start()
    found: list[CommandReply] = []
    try:
        async def enough() -> bool:
            for batch in (await reader.getmany(timeout_ms=200)).values():
                found.extend(CommandReply.model_validate_json(m.value or b"") for m in batch)
            return len(found) >= count

        await eventually(enough, 60, f"{count} replies")
    finally:
        await reader.stop()
    return found


async def test_holds_over_the_command_topic_never_overbook_and_name_the_rule(
        pg_settings: Settings, runtime: Runtime) -> None:
    reporter, checker = await caseworker(runtime), await caseworker(runtime, "fact_checker")
    car = uuid4()
    await accepted(runtime, "resources.report", reporter, resource_id=car, kind="transport",
                   region="Kharkiv", transport={"seats": 4})
    await accepted(runtime, "resources.verify", checker, resource_id=car)
    people = [await caseworker(runtime) for _ in range(6)]
    cases = [await taken_case(runtime, p) for p in people]
    await ensure_topics(pg_settings)
    producer = AIOKafkaProducer(bootstrap_servers=pg_settings.kafka_bootstrap)
    await producer.start()
    try:
        async with consuming(runtime):
            for person, case_id in zip(people, cases, strict=True):
                body = {"command_id": str(uuid4()), "case_id": str(case_id),
                        "resource_id": str(car), "hold_id": str(uuid4())}
                token = runtime.tokens.issue(person.actor, ["volunteer"])
                await producer.send_and_wait(
                    Topics.of(pg_settings).commands,
                    value=orjson.dumps({"command": "cases.hold_seats", "body": body}),
                    key=body["command_id"].encode(),
                    headers=[("authorization", f"Bearer {token}".encode())])
            answers = [r.outcome for r in await replies(pg_settings, 6)]
    finally:
        await producer.stop()

    assert sum(isinstance(a, Accepted) for a in answers) == 4
    refusals = [a for a in answers if isinstance(a, Rejected)]
    assert [(r.http_status, r.rule, r.extra["seats_free"]) for r in refusals] == [
        (409, "NotEnoughSeats", 0)] * 2
