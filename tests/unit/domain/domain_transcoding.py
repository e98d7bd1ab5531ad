"""Test transcodings: events and snapshots through eventsourcing's Mapper + JSONTranscoder.

Personal data is written in plain JSON here (the service seals it); everything else is
what the infrastructure registers: UUID, datetime and the service's own Meta transcoding.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    Transcoding,
    UUIDAsHex,
)

from domain.base import PersonalData
from services.storage.application import MetaAsDict


class PersonalDataInPlain(Transcoding):
    type = PersonalData
    name = "personal"

    def encode(self, obj: PersonalData) -> dict[str, Any]:
        return {"subject": obj.subject_id.hex, "fields": obj.fields, "erased": obj.erased}

    def decode(self, data: dict[str, Any]) -> PersonalData:
        return PersonalData(subject_id=UUID(data["subject"]), fields=data["fields"],
                            erased=data["erased"])


def mapper() -> Mapper[UUID]:
    """A mapper with the infrastructure's kinds of transcodings."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DatetimeAsISO(), MetaAsDict(), PersonalDataInPlain()):
        transcoder.register(transcoding)
    return Mapper(transcoder=transcoder)


def stored(events: Iterable[DomainEventProtocol[UUID]]) -> list[StoredEvent]:
    """Events as they would be stored."""
    m = mapper()
    return [m.to_stored_event(e) for e in events]


def loaded(records: Sequence[StoredEvent]) -> list[Any]:
    """Events as they would be read back."""
    m = mapper()
    return [m.to_domain_event(r) for r in records]


def round_trip(events: Iterable[DomainEventProtocol[UUID]]) -> list[Any]:
    """Store and read back events: what replay sees after the JSON round trip."""
    return loaded(stored(events))
