"""Hand-written fakes for the Kafka unit tests: an in-memory key store, the service's real
transcodings, and events stored the way the service stores them."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)

from domain.base import Meta
from projections.records import EventRecord, decode_stored
from services.storage.application import MetaAsDict, PersonalDataSealed
from services.storage.sealing import KeyRing, Sealer


class MemoryKeyStorage:
    """KeyStorage in a dict."""

    def __init__(self) -> None:
        self.keys: dict[UUID, tuple[bytes, int]] = {}
        self.erased: set[UUID] = set()

    def load_wrapped(self, subject_id: UUID) -> tuple[bytes, int] | None:
        return self.keys.get(subject_id)

    def save_wrapped(self, subject_id: UUID, wrapped: bytes, master_version: int) -> bool:
        if subject_id in self.keys:
            return False
        self.keys[subject_id] = (wrapped, master_version)
        return True

    def replace_wrapped(self, subject_id: UUID, wrapped: bytes, master_version: int) -> None:
        self.keys[subject_id] = (wrapped, master_version)

    def delete_wrapped(self, subject_id: UUID) -> bool:
        self.erased.add(subject_id)
        return self.keys.pop(subject_id, None) is not None

    def all_wrapped(self) -> list[tuple[UUID, bytes, int]]:
        return [(s, w, v) for s, (w, v) in self.keys.items()]

    def is_erased(self, subject_id: UUID) -> bool:
        return subject_id in self.erased


def sealing_mapper() -> Mapper[UUID]:
    """The service's transcodings, sealing personal data with a throwaway master key."""
    personal = PersonalDataSealed()
    personal.sealer = Sealer(KeyRing(MemoryKeyStorage(), os.urandom(32)))
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DatetimeAsISO(), MetaAsDict(), personal):
        transcoder.register(transcoding)
    return Mapper(transcoder=transcoder)


def as_stored(events: Iterable[DomainEventProtocol[UUID]]) -> list[StoredEvent]:
    """Events as the store holds them (personal data sealed)."""
    mapper = sealing_mapper()
    return [mapper.to_stored_event(e) for e in events]


def as_records(events: Iterable[DomainEventProtocol[UUID]], first_position: int = 1
               ) -> list[EventRecord]:
    """Events as the relay reads them: decoded from stored bytes."""
    return [decode_stored(first_position + i, UUID(str(s.originator_id)),
                          s.originator_version, s.topic, s.state)
            for i, s in enumerate(as_stored(events))]


def meta(actor: str = "admin-1", at: datetime | None = None) -> Meta:
    """Metadata for one command."""
    return Meta(actor=actor, at=at or datetime(2022, 3, 1, 9, 30, tzinfo=UTC),
                command_id=uuid4(), correlation_id=uuid4())


def record(stream_id: UUID | None = None, version: int = 1, **changes: Any) -> EventRecord:
    """An EventRecord with plausible values."""
    values: dict[str, Any] = dict(
        position=version, stream_id=stream_id or uuid4(), stream_type="case",
        version=version, type="CaseTaken",
        occurred_at=datetime(2022, 3, 1, 9, 30, tzinfo=UTC), actor="volunteer-7",
        command_id=uuid4(), correlation_id=uuid4(), data={"volunteer_id": str(uuid4())})
    values.update(changes)
    return EventRecord(**values)
