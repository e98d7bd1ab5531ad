"""Steady command load over the Kafka command topic, as the intake bot's chat line sends it:
each command carries its own command id and the bot's token in the `authorization` header,
its outcome comes back on the reply topic keyed by that id; a command with no reply within
REPLY_WAIT is sent again with the same id. Every reply is kept: a command answered twice (a
redelivery after the consumer died before committing its offset) shows as two replies."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from fault_load import Attempt, Command

REPLY_WAIT = 15.0  # a command with no reply this long is sent again, with its own id


@dataclass
class KafkaLoad:
    """`clients` senders on the command topic, each sending its next command once the
    previous one is answered (after `pause` seconds)."""

    bootstrap: str
    commands_topic: str
    replies_topic: str
    authorization: str
    clients: int = 2
    pause: float = 0.05
    commands: list[Command] = field(default_factory=list)
    replies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    started: float = 0.0
    stopped: float = 0.0
    _waiting: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _producer: AIOKafkaProducer | None = None
    _consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        """Listen to the whole reply topic (it is this case's own), then start sending."""
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap,
                                          enable_auto_commit=False)
        await self._producer.start()
        await self._consumer.start()
        partitions = await _partitions(self._consumer, self.replies_topic)
        self._consumer.assign(partitions)
        await self._consumer.seek_to_beginning(*partitions)
        self.started = time.monotonic()
        self._tasks = [asyncio.create_task(self._read())]
        self._tasks += [asyncio.create_task(self._client()) for _ in range(self.clients)]

    async def stop(self) -> None:
        """Stop sending new commands; the ones sent are awaited (and resent) up to 60 s."""
        self._stop.set()
        await asyncio.gather(*self._tasks[1:])
        self.stopped = time.monotonic()
        self._tasks[0].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._tasks[0]
        for client in (self._producer, self._consumer):
            if client is not None:
                await client.stop()

    @property
    def acknowledged(self) -> list[Command]:
        return [c for c in self.commands if c.answer is not None]

    async def _client(self) -> None:
        while not self._stop.is_set():
            command = Command(str(uuid.uuid4()), str(uuid.uuid4()))
            self.commands.append(command)
            await self._send_until_answered(command)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.pause)

    async def _send_until_answered(self, command: Command) -> None:
        give_up: float | None = None
        while True:
            attempt = await self._send(command)
            command.attempts.append(attempt)
            if attempt.status != 0:
                if attempt.status == 200:
                    command.answer = attempt.answer
                return
            if self._stop.is_set():
                give_up = give_up or time.monotonic() + 60
                if time.monotonic() > give_up:
                    return

    async def _send(self, command: Command) -> Attempt:
        assert self._producer is not None
        reply = asyncio.get_running_loop().create_future()
        self._waiting[command.command_id] = reply
        message = orjson.dumps({"schema_version": 1, "command": "cases.open",
                                "body": command.body()})
        at = time.monotonic()
        try:
            await self._producer.send_and_wait(
                self.commands_topic, message, key=command.case_id.encode(),
                headers=[("authorization", self.authorization.encode())])
            outcome = await asyncio.wait_for(reply, REPLY_WAIT)
        except (TimeoutError, KafkaError) as error:
            return Attempt(at, time.monotonic() - at, 0, error=type(error).__name__)
        finally:
            self._waiting.pop(command.command_id, None)
        accepted = outcome.get("status") == "accepted"
        return Attempt(at, time.monotonic() - at,
                       200 if accepted else int(outcome.get("http_status") or 409),
                       answer=outcome if accepted else None,
                       error="" if accepted else str(outcome.get("rule")))

    async def _read(self) -> None:
        assert self._consumer is not None
        async for message in self._consumer:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                reply: dict[str, Any] = orjson.loads(message.value or b"")
                command_id = str(reply["command_id"])
                self.replies.setdefault(command_id, []).append(reply["outcome"])
                waiting = self._waiting.get(command_id)
                if waiting is not None and not waiting.done():
                    waiting.set_result(reply["outcome"])


async def _partitions(consumer: AIOKafkaConsumer, topic: str,
                      timeout: float = 60.0) -> list[TopicPartition]:
    """The topic's partitions, once it exists (the command consumer creates it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = consumer.partitions_for_topic(topic)
        if found:
            return [TopicPartition(topic, p) for p in sorted(found)]
        await consumer._client.force_metadata_update()
        await asyncio.sleep(0.2)
    raise AssertionError(f"topic {topic} was not created within {timeout:.0f} s")


def reply_figures(load: KafkaLoad) -> dict[str, Any]:
    """What came back on the reply topic: commands answered once, more than once (a
    redelivery answered from its receipt: `duplicate`), with a different outcome the second
    time (must be none), or not at all."""
    sent = {c.command_id for c in load.commands}
    counts = [len(load.replies.get(command_id, [])) for command_id in sent]
    changed = sum(1 for command_id in sent
                  if len({(o.get("status"), o.get("position"))
                          for o in load.replies.get(command_id, [])}) > 1)
    later = [o for outcomes in load.replies.values() for o in outcomes[1:]]
    latencies = sorted(a.seconds for c in load.commands for a in c.attempts if a.status == 200)
    return {"commands_sent": len(sent), "acknowledged": len(load.acknowledged),
            "answered_once": counts.count(1),
            "answered_again (redelivered)": sum(1 for n in counts if n > 1),
            "not_answered": counts.count(0),
            "second_answers_marked_duplicate": sum(bool(o.get("duplicate")) for o in later),
            "outcome_changed_on_redelivery": changed,
            "resent_after_no_reply": sum(len(c.attempts) - 1 for c in load.commands),
            "longest_reply_wait_s": round(max(latencies, default=0), 2)}
