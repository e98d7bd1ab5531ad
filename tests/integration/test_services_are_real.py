"""The PostgreSQL server and Kafka broker the tests get are real and usable."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


@pytest.mark.postgres
async def test_postgres_answers(pg_dsn: str) -> None:
    conn = await asyncpg.connect(pg_dsn)
    try:
        version = await conn.fetchval("select version()")
    finally:
        await conn.close()
    assert isinstance(version, str)
    assert version.startswith("PostgreSQL ")


@pytest.mark.postgres
async def test_fresh_database_is_empty_and_writable(fresh_pg_database: str) -> None:
    conn = await asyncpg.connect(fresh_pg_database)
    try:
        assert (
            await conn.fetchval("select current_database()") == fresh_pg_database.rsplit("/", 1)[-1]
        )
        tables = await conn.fetchval(
            "select count(*) from information_schema.tables where table_schema = 'public'"
        )
        assert tables == 0
        await conn.execute("create table t (x int)")
        await conn.execute("insert into t values (42)")
        assert await conn.fetchval("select x from t") == 42
    finally:
        await conn.close()


@pytest.mark.kafka
async def test_kafka_round_trips_a_message(kafka_bootstrap: str, kafka_topic_prefix: str) -> None:
    topic = f"{kafka_topic_prefix}roundtrip"
    value = uuid.uuid4().bytes
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, value=value, key=b"k")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"{kafka_topic_prefix}group",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        message = await consumer.getone()  # bounded by pytest-timeout
    finally:
        await consumer.stop()
    assert message.value == value
    assert message.key == b"k"
    assert (message.partition, message.offset) == (sent.partition, sent.offset)
