"""Kafka client factories with corridor's delivery settings, and the readiness probe."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaClient, AIOKafkaProducer
from aiokafka.errors import KafkaError

from services.settings import Settings

log = logging.getLogger("corridor.kafka")


def bootstrap(settings: Settings) -> str:
    """The configured bootstrap servers; Kafka features need them."""
    if not settings.kafka_bootstrap:
        raise ValueError("CORRIDOR_KAFKA_BOOTSTRAP is not set")
    return settings.kafka_bootstrap


def reliable_producer(settings: Settings, client_id: str) -> AIOKafkaProducer:
    """Idempotent producer, acks from all in-sync replicas: no loss, no broker-side duplicates."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap(settings), client_id=client_id,
        enable_idempotence=True, acks="all",
        # A few ms of linger lets a 500-event batch leave as a handful of requests.
        linger_ms=5, max_batch_size=256 * 1024,
    )


async def stop_quietly(producer: AIOKafkaProducer, timeout: float = 5.0) -> None:
    """Stop a producer without hanging on a broker that is down (it would flush forever)."""
    try:
        await asyncio.wait_for(producer.stop(), timeout)
    except (TimeoutError, KafkaError) as error:
        log.warning("Kafka producer did not stop cleanly: %s", type(error).__name__)


async def kafka_probe(settings: Settings, timeout: float = 3.0) -> bool:
    """True when a broker answers a metadata request within `timeout` seconds."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap(settings), request_timeout_ms=2000)
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
    except (TimeoutError, KafkaError, OSError):
        return False
    finally:
        with contextlib.suppress(Exception):  # closing a half-open client must not mask it
            await client.close()
    return True
