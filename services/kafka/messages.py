"""What corridor puts on Kafka: versioned JSON envelopes for events, commands and replies.

Events travel exactly as projections see them (an EventRecord in plain JSON): personal data
stays sealed, so a message carries a subject id and a flag, never plaintext (nor ciphertext).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID, uuid5

from pydantic import BaseModel, ConfigDict, Field

from projections.records import EventRecord
from services.runtime.outcomes import Accepted, Rejected

EVENT_SCHEMA: Literal["corridor.event"] = "corridor.event"
REPLY_SCHEMA: Literal["corridor.command-reply"] = "corridor.command-reply"
SCHEMA_VERSION: Literal[1] = 1

Headers = list[tuple[str, bytes]]


class Envelope(BaseModel):
    """Base of every wire model: the JSON field `schema` names the envelope type."""

    model_config = ConfigDict(frozen=True, validate_by_name=True, validate_by_alias=True,
                              serialize_by_alias=True)


class EventMessage(Envelope):
    """One stored event on the events topic, keyed by its stream id."""

    schema_name: Literal["corridor.event"] = Field(default=EVENT_SCHEMA, alias="schema")
    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: UUID = Field(description="uuid5(stream_id, str(version)): the same event always "
                                       "has the same id, so consumers drop re-deliveries by it")
    position: int = Field(description="position in the event store's notification log")
    stream_id: UUID = Field(description="the aggregate (case, volunteer, resource) it belongs to")
    stream_type: str = Field(description="case, volunteer, resource, ...")
    version: int = Field(ge=1, description="the stream's version after this event (1, 2, ...)")
    type: str = Field(description="the event's name, e.g. CaseTaken")
    occurred_at: datetime = Field(description="business time of the command that caused it")
    actor: str = Field(description="who caused it (token subject)")
    command_id: UUID | None = None
    correlation_id: UUID | None = None
    causation_id: UUID | None = Field(default=None, description="the command id")
    data: dict[str, Any] = Field(description="the event's fields in plain JSON; personal data "
                                             "appears only as {subject_id, sealed}")


class EventHeaders(BaseModel):
    """Kafka headers on every event message (UTF-8 strings), for routing without parsing."""

    event_id: UUID
    type: str
    schema_version: str = str(SCHEMA_VERSION)
    correlation_id: UUID | None = Field(default=None, description="absent when unknown")
    causation_id: UUID | None = Field(default=None, description="absent when unknown")
    occurred_at: datetime


class CommandMessage(Envelope):
    """A command sent on the command topic; header `authorization: Bearer <token>` required."""

    schema_version: Literal[1] = SCHEMA_VERSION
    command: str = Field(description="the catalog name, e.g. case.take")
    body: dict[str, Any] = Field(description="the command's body as its HTTP endpoint takes "
                                             "it, including command_id")


class CommandReply(Envelope):
    """The outcome of one command, on the reply topic keyed by its command id."""

    schema_name: Literal["corridor.command-reply"] = Field(default=REPLY_SCHEMA, alias="schema")
    schema_version: Literal[1] = SCHEMA_VERSION
    command: str
    command_id: UUID
    correlation_id: UUID | None = None
    outcome: Accepted | Rejected = Field(discriminator="status")


class DeadLetterHeaders(BaseModel):
    """Headers added to a dead-lettered command (its other headers are kept, minus its token)."""

    dead_letter_error: str = Field(alias="dead-letter-error", description="unparseable, "
                                   "unknown-command, unauthenticated, forbidden or invalid")
    dead_letter_reason: str = Field(alias="dead-letter-reason", description="what was wrong")
    original_topic: str = Field(alias="original-topic")
    original_partition: int = Field(alias="original-partition")
    original_offset: int = Field(alias="original-offset")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message ready for the producer."""

    key: bytes | None
    value: bytes
    headers: Headers


def event_id_for(stream_id: UUID, version: int) -> UUID:
    """The deterministic id of a stream's event at a version."""
    return uuid5(stream_id, str(version))


def event_message(record: EventRecord) -> EventMessage:
    """The envelope for a stored event."""
    return EventMessage(
        event_id=event_id_for(record.stream_id, record.version), position=record.position,
        stream_id=record.stream_id, stream_type=record.stream_type, version=record.version,
        type=record.type, occurred_at=record.occurred_at, actor=record.actor,
        command_id=record.command_id, correlation_id=record.correlation_id,
        causation_id=record.command_id, data=record.data,
    )


def event_headers(message: EventMessage) -> Headers:
    """Kafka headers for an event message; unknown ids are left out rather than sent empty."""
    values = {"event_id": message.event_id, "type": message.type,
              "schema_version": message.schema_version,
              "correlation_id": message.correlation_id, "causation_id": message.causation_id,
              "occurred_at": message.occurred_at.isoformat()}
    return [(name, str(value).encode()) for name, value in values.items() if value is not None]


def encode_event(record: EventRecord) -> Outgoing:
    """Key (the stream id, so a stream stays in one partition), value and headers."""
    message = event_message(record)
    return Outgoing(key=str(record.stream_id).encode(), value=message.model_dump_json().encode(),
                    headers=event_headers(message))


def record_from_message(message: EventMessage) -> EventRecord:
    """The EventRecord a projection consumes, from a parsed envelope."""
    return EventRecord(
        position=message.position, stream_id=message.stream_id,
        stream_type=message.stream_type, version=message.version, type=message.type,
        occurred_at=message.occurred_at, actor=message.actor, command_id=message.command_id,
        correlation_id=message.correlation_id, data=message.data,
    )


def decode_event(value: bytes) -> EventRecord:
    """Parse an event message's value (raises pydantic.ValidationError if it is not one)."""
    return record_from_message(EventMessage.model_validate_json(value))


def header(headers: Any, name: str) -> str | None:
    """A header's value as text (the last one wins), or None; names are case-insensitive."""
    found = None
    for key, value in headers or ():
        if key.lower() == name and value is not None:
            found = bytes(value).decode("utf-8", errors="replace")
    return found
