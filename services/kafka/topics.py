"""Topic names (from the settings' prefix) and creating the missing ones."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from services.settings import Settings

log = logging.getLogger("corridor.kafka")

TOPIC_EXISTS = 36  # Kafka error code TOPIC_ALREADY_EXISTS: another process won the race
WEEK_MS = str(7 * 24 * 3600 * 1000)


@dataclass(frozen=True)
class Topics:
    """The four topics corridor uses, by role."""

    events: str
    commands: str
    replies: str
    dead_letter: str

    @classmethod
    def of(cls, settings: Settings) -> Topics:
        """Names under the configured prefix (CORRIDOR_KAFKA_TOPIC_PREFIX)."""
        return cls(events=settings.topic("events"), commands=settings.topic("commands"),
                   replies=settings.topic("command-replies"),
                   dead_letter=settings.topic("commands-dead-letter"))


def wanted(settings: Settings, replication: int) -> list[NewTopic]:
    """Topic specs: events by stream key; commands, replies and dead letters kept a week only
    because commands carry the caller's plaintext (personal data, tokens stay off the DLQ)."""
    topics = Topics.of(settings)
    # With 3 replicas, acks=all then survives one broker down without losing a write.
    isr = {"min.insync.replicas": "2"} if replication >= 3 else {}
    short = {"retention.ms": WEEK_MS, **isr}
    return [
        NewTopic(topics.events, settings.kafka_event_partitions, replication, topic_configs=isr),
        NewTopic(topics.commands, settings.kafka_command_partitions, replication,
                 topic_configs=short),
        NewTopic(topics.replies, settings.kafka_command_partitions, replication,
                 topic_configs=short),
        # Dead letters need no order and are few: one partition keeps them easy to browse.
        NewTopic(topics.dead_letter, 1, replication, topic_configs=short),
    ]


async def ensure_topics(settings: Settings, replication: int | None = None) -> list[str]:
    """Create the missing topics; returns the names created. Replication: min(3, brokers)."""
    if not settings.kafka_bootstrap:
        raise ValueError("CORRIDOR_KAFKA_BOOTSTRAP is not set")
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        if replication is None:
            brokers = (await admin.describe_cluster())["brokers"]
            replication = min(3, len(brokers))
        existing = set(await admin.list_topics())
        missing = [t for t in wanted(settings, replication) if t.name not in existing]
        if not missing:
            return []
        response = await admin.create_topics(missing)
        return _created(response.topic_errors)
    finally:
        await admin.close()


def _created(topic_errors: list[tuple[str, int, str | None]] | list[tuple[str, int]]) -> list[str]:
    created = []
    for item in topic_errors:
        name, code = item[0], item[1]
        message = item[2] if len(item) > 2 else ""
        if code not in (0, TOPIC_EXISTS):
            raise KafkaError(f"creating topic {name} failed: error {code} {message}")
        if code == 0:
            created.append(name)
            log.info("created Kafka topic %s", name)
    return created
