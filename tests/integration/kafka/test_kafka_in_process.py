"""The API's way of running Kafka: relay and command consumer as tasks of its own process,
plus the readiness probe."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from uuid import UUID, uuid4

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from kafka_harness import eventually, kafka_settings, read_topic

from services.auth import CallerRole
from services.bootstrap import for_serve
from services.kafka.clients import kafka_probe
from services.kafka.messages import CommandReply, decode_event
from services.kafka.relay import EventRelay
from services.kafka.topics import Topics, ensure_topics
from services.runtime.outcomes import Accepted
from services.settings import Settings

NAME, CONTACT = "Mariia Shevchenko", "mariia@example.org"


@pytest.mark.kafka
@pytest.mark.postgres
@pytest.mark.timeout(60)
async def test_a_command_sent_to_kafka_is_answered_and_its_event_published_sealed(
        pg_settings: Settings) -> None:
    topics = Topics.of(pg_settings)
    runtime = await asyncio.to_thread(for_serve, pg_settings)
    async with runtime.running():
        assert runtime.kafka is not None
        assert await runtime.kafka.probe()
        body = {"command_id": str(uuid4()), "volunteer_id": str(uuid4()), "display_name": NAME,
                "contact": CONTACT, "languages": ["uk"], "time_zone": "Europe/Kyiv"}
        await ensure_topics(pg_settings)
        producer = AIOKafkaProducer(bootstrap_servers=pg_settings.kafka_bootstrap)
        await producer.start()
        try:
            token = runtime.tokens.issue("admin-1", [CallerRole.ADMIN])
            await producer.send_and_wait(
                topics.commands, orjson.dumps({"command": "volunteers.register", "body": body}),
                headers=[("authorization", f"Bearer {token}".encode())])
        finally:
            await producer.stop()
        relay = runtime.kafka.relay
        assert isinstance(relay, EventRelay)

        async def answered_and_published() -> bool:
            replies = await read_topic(pg_settings.kafka_bootstrap or "", topics.replies)
            return bool(replies) and await relay.lag() == 0

        await eventually(answered_and_published, 30, "the reply and the relayed event")
        started = time.monotonic()
        await runtime.kafka.stop()
        stopped_in = time.monotonic() - started

    assert stopped_in < 15
    assert not runtime.kafka.running
    (reply,) = await read_topic(pg_settings.kafka_bootstrap or "", topics.replies)
    outcome = CommandReply.model_validate_json(reply.value or b"").outcome
    assert isinstance(outcome, Accepted)
    assert outcome.stream_id == UUID(body["volunteer_id"])
    events = await read_topic(pg_settings.kafka_bootstrap or "", topics.events)
    registered = [m for m in events if decode_event(m.value or b"").type == "VolunteerRegistered"]
    assert len(registered) == 1
    wire = (registered[0].value or b"") + b"".join(v for _, v in registered[0].headers)
    for secret in (NAME, "Shevchenko", CONTACT):
        assert secret.encode() not in wire


async def test_without_kafka_configured_nothing_is_started(tmp_path: Path) -> None:
    settings = kafka_settings(None, "unused.", tmp_path, store="sqlite")
    runtime = await asyncio.to_thread(for_serve, settings)
    async with runtime.running():
        assert runtime.kafka is None


@pytest.mark.kafka
async def test_the_probe_tells_a_broker_from_an_empty_port(kafka_bootstrap: str) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        nobody = f"127.0.0.1:{unused.getsockname()[1]}"
    started = time.monotonic()
    assert not await kafka_probe(Settings(kafka_bootstrap=nobody))
    assert time.monotonic() - started < 5
    assert await kafka_probe(Settings(kafka_bootstrap=kafka_bootstrap))
