"""The command topic: each message is handled exactly as its HTTP twin, answered on the reply
topic keyed by its command id; what cannot be handled goes to the dead-letter topic.

Offsets are committed only after the commands' outcomes are known (their events stored) and
every reply and dead letter was acknowledged. A redelivered command is safe: the writer
answers a known command id with its original outcome, whichever path (HTTP or Kafka) it took.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from eventsourcing.persistence import PersistenceError
from pydantic import ValidationError

from projections.backoff import Backoff
from services.auth import NotAuthenticated, Principal, TokenIssuer
from services.bootstrap import Runtime
from services.commands import CATALOG, CommandBody, CommandSpec
from services.commands.common import repeated_key, repeated_key_message
from services.kafka.clients import reliable_producer, stop_quietly
from services.kafka.consumer_base import GroupConsumer
from services.kafka.messages import CommandMessage, CommandReply, Outgoing, header
from services.kafka.topics import Topics, ensure_topics
from services.runtime.outcomes import Outcome
from services.runtime.writer import WriterBusy

log = logging.getLogger("corridor.kafka.commands")


@dataclass(frozen=True)
class Admitted:
    """A command that passed the same checks as its HTTP twin."""

    spec: CommandSpec
    body: CommandBody
    principal: Principal


@dataclass(frozen=True)
class Refused:
    """Why a message is dead-lettered: error kind and a reason without any input values."""

    error: str
    reason: str


def describe(error: ValidationError) -> str:
    """Field and rule of each problem, never the input (it may be personal data)."""
    problems = error.errors(include_input=False, include_url=False, include_context=False)
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'message'}: {e['msg']}"
             for e in problems[:5]]
    return "; ".join(parts) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else "")


def authenticate(authorization: str | None, tokens: TokenIssuer) -> Principal | Refused:
    """The caller from an `authorization: Bearer <token>` header."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return Refused("unauthenticated", "send header 'authorization: Bearer <token>'")
    try:
        return tokens.verify(token.strip())
    except NotAuthenticated as error:
        return Refused("unauthenticated", str(error))


def admit(value: bytes | None, headers: Any, tokens: TokenIssuer,
          catalog: Mapping[str, CommandSpec] = CATALOG) -> Admitted | Refused:
    """Parse, authenticate, authorize and validate one command message, in that order."""
    try:
        message = CommandMessage.model_validate_json(value or b"")
    except ValidationError as error:
        return Refused("unparseable", describe(error))
    repeated = repeated_key(value or b"")
    if repeated is not None:
        return Refused("invalid", repeated_key_message(repeated))
    spec = catalog.get(message.command)
    if spec is None:
        return Refused("unknown-command", f"no command named {message.command!r}")
    principal = authenticate(header(headers, "authorization"), tokens)
    if isinstance(principal, Refused):
        return principal
    if not principal.has_any(spec.roles):
        return Refused("forbidden", f"{spec.name} needs one of the roles: "
                                    f"{', '.join(sorted(spec.roles))}")
    try:
        body = spec.body.model_validate(message.body)
    except ValidationError as error:
        return Refused("invalid", describe(error))
    return Admitted(spec=spec, body=body, principal=principal)


def reply(admitted: Admitted, outcome: Outcome) -> Outgoing:
    """The reply message, keyed by the command id."""
    body = admitted.body
    correlation = body.correlation_id or body.command_id
    message = CommandReply(command=admitted.spec.name, command_id=body.command_id,
                           correlation_id=correlation, outcome=outcome)
    headers = [("command_id", str(body.command_id).encode()),
               ("correlation_id", str(correlation).encode()),
               ("status", outcome.status.encode())]
    return Outgoing(key=str(body.command_id).encode(), value=message.model_dump_json().encode(),
                    headers=headers)


def dead_letter(message: ConsumerRecord[Any, Any], refused: Refused) -> Outgoing:
    """The original bytes and headers plus the reason; the caller's token is not copied."""
    kept = [(k, v) for k, v in (message.headers or ()) if k.lower() != "authorization"]
    added = {"dead-letter-error": refused.error, "dead-letter-reason": refused.reason,
             "original-topic": message.topic, "original-partition": message.partition,
             "original-offset": message.offset}
    headers = kept + [(k, str(v).encode()) for k, v in added.items()]
    return Outgoing(key=message.key, value=message.value or b"", headers=headers)


class CommandConsumer:
    """Consumes the command topic in a consumer group and answers every command."""

    def __init__(self, runtime: Runtime, *, group_id: str | None = None, batch_size: int = 200,
                 outcome_timeout: float = 60.0, backoff: Backoff | None = None,
                 create_topics: bool = True) -> None:
        self.runtime = runtime
        self.topics = Topics.of(runtime.settings)
        self.group_id = group_id or runtime.settings.topic("command-consumer")
        self.batch_size = batch_size
        self.outcome_timeout = outcome_timeout
        self.backoff = backoff or Backoff("command consumer", log)
        self.create_topics = create_topics  # off where operators provision topics
        self.replied = 0
        self.dead_lettered = 0

    async def run(self, stopping: asyncio.Event) -> None:
        """Consume until `stopping` is set; after a fault, resume from the last commit."""
        while not stopping.is_set():
            try:
                await self._consume(stopping)
            except Exception as error:  # broker or store trouble: uncommitted ones come again
                await self.backoff.pause(error, stopping)

    async def _consume(self, stopping: asyncio.Event) -> None:
        if self.create_topics:
            await ensure_topics(self.runtime.settings)
            self.create_topics = False
        consumer = GroupConsumer(self.runtime.settings, self.group_id, [self.topics.commands],
                                 client_id="corridor-command-consumer")
        producer = reliable_producer(self.runtime.settings, client_id="corridor-command-replies")
        async with consumer:
            try:
                await producer.start()
                while not stopping.is_set():
                    fetched = await consumer.fetch(self.batch_size, timeout=0.5)
                    if fetched:
                        await self.handle(producer, fetched.messages)
                        await consumer.commit(fetched)  # only now: every reply acknowledged
                    self.backoff.succeeded()
            finally:
                await stop_quietly(producer)

    async def handle(self, producer: AIOKafkaProducer,
                     messages: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Decide, submit in order (the writer groups them), then send replies/dead letters."""
        decisions = [admit(m.value, m.headers, self.runtime.tokens) for m in messages]
        results = iter(await self._outcomes([d for d in decisions if isinstance(d, Admitted)]))
        sends = [self._route(m, d, next(results) if isinstance(d, Admitted) else d)
                 for m, d in zip(messages, decisions, strict=True)]
        await self._send(producer, sends)

    def _route(self, message: ConsumerRecord[Any, Any], decision: Admitted | Refused,
               verdict: Outcome | Refused) -> tuple[str, Outgoing]:
        if isinstance(verdict, Refused):
            log.info("dead-lettered %s@%d: %s", message.topic, message.offset, verdict.error)
            return self.topics.dead_letter, dead_letter(message, verdict)
        assert isinstance(decision, Admitted)  # only admitted commands have an outcome
        return self.topics.replies, reply(decision, verdict)

    async def _outcomes(self, admitted: list[Admitted]) -> list[Outcome | Refused]:
        futures = [asyncio.wrap_future(self.runtime.writer.submit(
            self.runtime.submission(a.spec.name, a.body, a.principal))) for a in admitted]
        if futures:
            # asyncio.wait, not wait_for: a timeout must not cancel the writer's futures
            # (it would still run those commands, and fail its batch on a cancelled one).
            _, waiting = await asyncio.wait(futures, timeout=self.outcome_timeout)
            if waiting:
                raise TimeoutError(f"{len(waiting)} command(s) still waiting for the writer")
        return [_outcome(a, f.exception() or f.result()) for a, f in zip(admitted, futures,
                                                                         strict=True)]

    async def _send(self, producer: AIOKafkaProducer, sends: list[tuple[str, Outgoing]]) -> None:
        acks = [await producer.send(topic, value=o.value, key=o.key, headers=o.headers)
                for topic, o in sends]
        await asyncio.gather(*acks)
        for topic, _ in sends:
            if topic == self.topics.replies:
                self.replied += 1
            else:
                self.dead_lettered += 1


def _outcome(admitted: Admitted, result: Outcome | BaseException) -> Outcome | Refused:
    if isinstance(result, PersistenceError | WriterBusy | asyncio.CancelledError):
        raise result  # the store is unavailable or the writer full: retry the whole batch
        # later, commit nothing
    if isinstance(result, BaseException):
        log.error("command %s (%s) failed unexpectedly: %s", admitted.spec.name,
                  admitted.body.command_id, type(result).__name__)
        return Refused("failed", "the command failed unexpectedly; nothing was stored")
    return result
