"""The command topic runs the same handlers as HTTP, so the same rule answers there: a
supervisor's credential cannot register an admin, an admin's can (issue 20, item 2)."""

from __future__ import annotations

from uuid import UUID

import pytest
from test_kafka_commands import (
    as_command,
    collect,
    consuming,
    producing,
    register_body,
    replies_by_command,
    runtime,  # noqa: F401  (the runtime fixture)
    send,
)

from services.auth import CallerRole
from services.bootstrap import Runtime
from services.kafka.topics import Topics
from services.runtime.outcomes import Accepted, Rejected
from services.settings import Settings

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(60)]


async def test_a_supervisor_cannot_register_an_admin_over_the_command_topic(
        pg_settings: Settings, runtime: Runtime) -> None:  # noqa: F811
    topics = Topics.of(pg_settings)
    lead = runtime.tokens.issue("night-shift-lead", [CallerRole.SUPERVISOR])
    admin = runtime.tokens.issue("admin-1", [CallerRole.ADMIN])
    by_lead, by_admin = register_body(roles=["admin"]), register_body(roles=["admin"])
    stored_before = runtime.app.recorder.max_notification_id()
    async with consuming(runtime), producing(pg_settings) as producer:
        await send(producer, topics.commands, as_command(by_lead), lead)
        await send(producer, topics.commands, as_command(by_admin), admin)
        replies = replies_by_command(await collect(pg_settings, topics.replies, 2))

    (refused,) = replies[UUID(by_lead["command_id"])]
    (accepted,) = replies[UUID(by_admin["command_id"])]
    assert isinstance(refused, Rejected) and refused.rule == "CannotGrantRole"
    assert refused.detail.startswith("only someone who may grant a role")
    assert isinstance(accepted, Accepted)
    assert runtime.app.recorder.max_notification_id() == (stored_before or 0) + 1
