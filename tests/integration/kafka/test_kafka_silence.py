"""Issue 23's commands on the command topic against a real broker and store, as over HTTP:
a try to reach the person (unreached, recorded with who and how) and a supervisor's merge."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer
from test_kafka_commands import as_command, collect, consuming, producing, send

from services.auth import CallerRole
from services.bootstrap import Runtime, build_runtime
from services.kafka.messages import CommandReply
from services.kafka.topics import Topics
from services.runtime.outcomes import Accepted
from services.settings import Settings

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(90)]
INTAKE = {"safe_now": True, "region": "Kharkiv", "destination": "Lviv",
          "contact_channel": "telegram", "contact_handle": "+380671234567"}


@pytest.fixture
async def runtime(pg_settings: Settings) -> AsyncIterator[Runtime]:
    runtime = await asyncio.to_thread(build_runtime, pg_settings)
    try:
        yield runtime
    finally:
        await asyncio.to_thread(runtime.close)


class Sender:
    """Sends one command at a time and waits for its reply (the topic's partitions keep no
    order between commands)."""

    def __init__(self, settings: Settings, producer: AIOKafkaProducer) -> None:
        self.settings, self.producer, self.sent = settings, producer, 0
        self.topics = Topics.of(settings)

    async def accepted(self, name: str, token: str, **body: Any) -> Accepted:
        await send(self.producer, self.topics.commands,
                   as_command({"command_id": str(uuid4()), **body}, name), token)
        self.sent += 1
        replies = await collect(self.settings, self.topics.replies, self.sent)
        outcome = CommandReply.model_validate_json(replies[-1].value or b"").outcome
        assert isinstance(outcome, Accepted), outcome
        return outcome


async def test_contact_and_a_merge_over_the_command_topic(pg_settings: Settings,
                                                          runtime: Runtime) -> None:
    admin = runtime.tokens.issue("admin-1", [CallerRole.ADMIN])
    boss_id = uuid4()
    boss = runtime.tokens.issue(str(boss_id), [CallerRole.VOLUNTEER, CallerRole.SUPERVISOR])
    first, second = uuid4(), uuid4()
    async with consuming(runtime), producing(pg_settings) as producer:
        kafka = Sender(pg_settings, producer)
        await kafka.accepted("volunteers.register", admin, volunteer_id=str(boss_id),
                             display_name="Supervisor", roles=["volunteer", "supervisor"])
        await kafka.accepted("volunteers.log_training", admin, volunteer_id=str(boss_id),
                             minutes=300, topic="basics")
        for case_id in (first, second):
            await kafka.accepted("cases.open", boss, case_id=str(case_id),
                                 person_id=str(uuid4()), intake=INTAKE)
        await kafka.accepted("cases.take", boss, case_id=str(first))
        await kafka.accepted("cases.record_contact", boss, case_id=str(first),
                             channel="signal", reached=False)
        await kafka.accepted("cases.merge", boss, case_id=str(first),
                             merged_case_id=str(second))

    kept: Any = runtime.app.repository.get(first)
    gone: Any = runtime.app.repository.get(second)
    assert [(a["actor"], a["channel"], a["reached"]) for a in kept.contact_attempts] == [
        (str(boss_id), "signal", False)]
    assert (gone.outcome.value, gone.merged_into, kept.merged_case_ids) == (
        "merged", first, [second])
