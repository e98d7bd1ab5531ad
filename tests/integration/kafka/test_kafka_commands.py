"""The command topic against a real broker and store: commands are answered like over HTTP,
retries append nothing, and bad messages are dead-lettered while the consumer keeps going."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from kafka_harness import eventually, partitions_of

from services.auth import CallerRole
from services.bootstrap import Runtime, build_runtime
from services.commands import CATALOG
from services.kafka.command_consumer import CommandConsumer
from services.kafka.messages import CommandReply, header
from services.kafka.topics import Topics, ensure_topics
from services.runtime.outcomes import Accepted
from services.settings import Settings

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.timeout(60)]


@pytest.fixture
async def runtime(pg_settings: Settings) -> AsyncIterator[Runtime]:
    runtime = await asyncio.to_thread(build_runtime, pg_settings)
    try:
        yield runtime
    finally:
        await asyncio.to_thread(runtime.close)


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


@contextlib.asynccontextmanager
async def producing(settings: Settings) -> AsyncIterator[AIOKafkaProducer]:
    """A plain client's producer; the topics exist first, as `corridor kafka topics` makes
    sure in a deployment (else the broker may auto-create them with its own defaults)."""
    await ensure_topics(settings)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


def register_body(**changes: Any) -> dict[str, Any]:
    return {"command_id": str(uuid4()), "volunteer_id": str(uuid4()),
            "display_name": "Olena Kovalenko", "languages": ["uk", "pl"],
            "time_zone": "Europe/Kyiv", "roles": ["volunteer"], **changes}


def as_command(body: dict[str, Any], name: str = "volunteers.register") -> bytes:
    return orjson.dumps({"command": name, "body": body})


async def send(producer: AIOKafkaProducer, topic: str, value: bytes,
               token: str | None) -> None:
    headers = [("authorization", f"Bearer {token}".encode())] if token else []
    await producer.send_and_wait(topic, value=value, key=str(uuid4()).encode(), headers=headers)


async def collect(settings: Settings, topic: str, count: int,
                  timeout: float = 30) -> list[ConsumerRecord[bytes, bytes]]:
    """The first `count` messages of a topic (failing if they do not all come in time)."""
    reader = AIOKafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap,
                              auto_offset_reset="earliest", enable_auto_commit=False)
    await reader.start()
    found: list[ConsumerRecord[bytes, bytes]] = []
    try:
        async def enough() -> bool:
            for batch in (await reader.getmany(timeout_ms=200)).values():
                found.extend(batch)
            return len(found) >= count

        await eventually(enough, timeout, f"{count} messages on {topic}")
    finally:
        await reader.stop()
    return found


def replies_by_command(messages: list[ConsumerRecord[bytes, bytes]]) -> dict[UUID, list[Any]]:
    replies: dict[UUID, list[Any]] = {}
    for message in messages:
        reply = CommandReply.model_validate_json(message.value or b"")
        assert message.key == str(reply.command_id).encode()
        replies.setdefault(reply.command_id, []).append(reply.outcome)
    return replies


async def test_a_command_is_accepted_and_its_retry_gets_the_same_answer_appending_nothing(
        pg_settings: Settings, runtime: Runtime) -> None:
    topics = Topics.of(pg_settings)
    admin = runtime.tokens.issue("admin-1", [CallerRole.ADMIN])
    body = register_body()
    async with consuming(runtime), producing(pg_settings) as producer:
        await send(producer, topics.commands, as_command(body), admin)
        (first,) = await collect(pg_settings, topics.replies, 1)
        stored_after_first = runtime.app.recorder.max_notification_id()

        await send(producer, topics.commands, as_command(body), admin)
        replies = await collect(pg_settings, topics.replies, 2)

    original, retried = replies_by_command(replies)[UUID(body["command_id"])]
    assert isinstance(original, Accepted) and isinstance(retried, Accepted)
    assert (original.version, original.position, original.duplicate) == (
        1, stored_after_first, False)
    assert (retried.stream_id, retried.version, retried.position, retried.duplicate) == (
        original.stream_id, 1, original.position, True)
    assert runtime.app.recorder.max_notification_id() == stored_after_first
    assert first.value == replies[0].value


async def test_a_command_sent_over_http_first_is_not_run_again_from_kafka(
        pg_settings: Settings, runtime: Runtime) -> None:
    topics = Topics.of(pg_settings)
    body = register_body()
    spec = CATALOG["volunteers.register"]
    principal = runtime.tokens.verify(runtime.tokens.issue("admin-1", [CallerRole.ADMIN]))
    over_http = await runtime.send(spec.name, spec.body.model_validate(body), principal)
    assert isinstance(over_http, Accepted)

    async with consuming(runtime), producing(pg_settings) as producer:
        await send(producer, topics.commands, as_command(body),
                   runtime.tokens.issue("admin-1", [CallerRole.ADMIN]))
        (message,) = await collect(pg_settings, topics.replies, 1)

    (from_kafka,) = replies_by_command([message])[over_http.command_id]
    assert from_kafka.duplicate
    assert (from_kafka.stream_id, from_kafka.version, from_kafka.position) == (
        over_http.stream_id, over_http.version, over_http.position)


async def test_bad_messages_are_dead_lettered_with_a_reason_and_the_consumer_keeps_going(
        pg_settings: Settings, runtime: Runtime) -> None:
    topics = Topics.of(pg_settings)
    admin = runtime.tokens.issue("admin-1", [CallerRole.ADMIN])
    volunteer = runtime.tokens.issue(str(uuid4()), [CallerRole.VOLUNTEER])
    bad = {
        "unparseable": (b"\x00 definitely not json", admin),
        "unknown-command": (as_command(register_body(), name="volunteers.teleport"), admin),
        "invalid": (as_command(register_body(display_name="", time_zone=42)), admin),
        "unauthenticated": (as_command(register_body()), "forged.token.value"),
        "forbidden": (as_command(register_body()), volunteer),
    }
    after = register_body()
    async with consuming(runtime) as consumer, producing(pg_settings) as producer:
        for value, token in bad.values():
            await send(producer, topics.commands, value, token)
        await send(producer, topics.commands, as_command(after), admin)
        letters = await collect(pg_settings, topics.dead_letter, len(bad))
        replies = await collect(pg_settings, topics.replies, 1)
        await eventually(lambda: _all_committed(pg_settings, consumer), 20, "the commit")

    by_error = {header(m.headers, "dead-letter-error"): m for m in letters}
    assert set(by_error) == set(bad)
    for error, (value, _) in bad.items():
        letter = by_error[error]
        assert letter.value == value
        assert header(letter.headers, "authorization") is None
        assert header(letter.headers, "dead-letter-reason")
        assert header(letter.headers, "original-topic") == topics.commands
    assert "display_name" in (header(by_error["invalid"].headers, "dead-letter-reason") or "")
    assert isinstance(replies_by_command(replies)[UUID(after["command_id"])][0], Accepted)
    assert (consumer.replied, consumer.dead_lettered) == (1, len(bad))


async def _all_committed(settings: Settings, consumer: CommandConsumer) -> bool:
    """The group's committed offsets are at the end of every command partition."""
    partitions = await partitions_of(settings.kafka_bootstrap or "", consumer.topics.commands)
    probe = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap,
                             group_id=consumer.group_id, enable_auto_commit=False)
    await probe.start()
    try:
        ends = await probe.end_offsets(partitions)
        return all([(await probe.committed(tp) or 0) == ends[tp] for tp in partitions])
    finally:
        await probe.stop()


async def test_nothing_is_committed_until_the_writer_has_stored_the_command(
        pg_settings: Settings) -> None:
    topics = Topics.of(pg_settings)
    runtime = await asyncio.to_thread(build_runtime, pg_settings, start_writer=False)
    consumer = CommandConsumer(runtime, outcome_timeout=0.5)
    writing = False
    stopping = asyncio.Event()
    task = asyncio.create_task(consumer.run(stopping))
    try:
        async with producing(pg_settings) as producer:
            body = register_body()
            await send(producer, topics.commands, as_command(body),
                       runtime.tokens.issue("admin-1", [CallerRole.ADMIN]))
            await asyncio.sleep(2)  # several attempts time out waiting for the writer
            assert consumer.replied == 0
            assert not await _all_committed(pg_settings, consumer)

            runtime.writer.start()
            writing = True
            (message,) = await collect(pg_settings, topics.replies, 1)
            await eventually(lambda: _all_committed(pg_settings, consumer), 20, "the commit")
        assert isinstance(replies_by_command([message])[UUID(body["command_id"])][0], Accepted)
    finally:
        stopping.set()
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 20)
        if not writing:
            runtime.writer.start()  # so that closing it can join its thread
        await asyncio.to_thread(runtime.close)
