"""The intake bot's other line: opening cases over the Kafka command topic, as a chat bot
that publishes its surveys would, with the token in the `authorization` header; the outcome
comes back on the reply topic (see docs/asyncapi.yaml)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.settings import Settings
from services.simulate.commands import Command
from services.simulate.engine import Answer

REPLY_SECONDS = 60.0


class KafkaCommands:
    """Sends a share of the intake bot's cases, and every answer of a partner's service to
    its referrals, over Kafka and waits for their replies."""

    def __init__(self, producer: AIOKafkaProducer, replies: AIOKafkaConsumer, topic: str,
                 share: float) -> None:
        self.producer, self.replies, self.topic, self.share = producer, replies, topic, share
        self._waiting: dict[str, asyncio.Future[Answer]] = {}
        self._reader = asyncio.create_task(self._read())
        self.sent = 0
        self.sent_by_kind: Counter[str] = Counter()

    @classmethod
    async def start(cls, settings: Settings, share: float, seed: int) -> KafkaCommands:
        """Connect to CORRIDOR_KAFKA_BOOTSTRAP; listen to the reply topic from its end."""
        if not settings.kafka_bootstrap:
            raise RuntimeError("--kafka-share needs CORRIDOR_KAFKA_BOOTSTRAP (and the server's "
                               "CORRIDOR_KAFKA_TOPIC_PREFIX)")
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
        replies = AIOKafkaConsumer(settings.topic("command-replies"), group_id=None,
                                   bootstrap_servers=settings.kafka_bootstrap,
                                   auto_offset_reset="latest", enable_auto_commit=False)
        await producer.start()
        await replies.start()
        while not replies.assignment():
            await asyncio.sleep(0.1)
        await replies.seek_to_end()
        for partition in replies.assignment():
            await replies.position(partition)  # fixed before the first command goes out
        return cls(producer, replies, settings.topic("commands"), share)

    def takes(self, command: Command) -> bool:
        """The intake bot's case openings, a `share` of them (chosen by command id), and the
        partner services' answers (a partner's system talks to the topic, not to a form)."""
        if command.kind == "partner_answer":
            return True
        return command.kind == "open" and random.Random(command.command_id).random() < self.share

    async def send(self, command: Command, authorization: str) -> Answer:
        waiting = asyncio.get_running_loop().create_future()
        self._waiting[command.command_id] = waiting
        message = orjson.dumps({"schema_version": 1, "command": command.name,
                                "body": command.body})
        key = str(command.stream_id or command.command_id).encode()
        try:
            await self.producer.send_and_wait(self.topic, message, key=key,
                                              headers=[("authorization", authorization.encode())])
            self.sent += 1
            self.sent_by_kind[command.kind] += 1
            return await asyncio.wait_for(waiting, REPLY_SECONDS)
        except (TimeoutError, OSError):
            return Answer(0)
        finally:
            self._waiting.pop(command.command_id, None)

    async def _read(self) -> None:
        async for message in self.replies:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                reply: dict[str, Any] = orjson.loads(message.value or b"")
                waiting = self._waiting.get(str(reply["command_id"]))
                if waiting is not None and not waiting.done():
                    waiting.set_result(answer_of(reply["outcome"]))

    async def stop(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self.producer.stop()
        await self.replies.stop()


def answer_of(outcome: dict[str, Any]) -> Answer:
    """An outcome from the reply topic as the HTTP API would have answered it."""
    if outcome.get("status") == "accepted":
        return Answer(200, outcome)
    return Answer(int(outcome.get("http_status") or 409),
                  {"rule": outcome.get("rule"), "detail": outcome.get("detail"),
                   **(outcome.get("extra") or {})})
