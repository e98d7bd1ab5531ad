"""A unit of work over the aggregate cache: the aggregates one batch of commands touches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from domain.base import NotFound, PersonalData
from domain.transport import DEFAULT_HOLD
from services.storage.application import CorridorApplication

A = TypeVar("A", bound=Aggregate)


@dataclass(frozen=True)
class NetworkDefaults:
    """What a command leaves unsaid gets, network-wide (the settings: CORRIDOR_HOLD_MINUTES)."""

    hold_for: timedelta = DEFAULT_HOLD
    """How long seats stay held when the hold does not say."""


class UnitOfWork:
    """Loads each aggregate once per batch so several commands on it see each other's events."""

    def __init__(self, app: CorridorApplication,
                 defaults: NetworkDefaults = NetworkDefaults()) -> None:
        self.app = app
        self.defaults = defaults
        self.working: dict[UUID, Aggregate] = {}
        self.new_keys: list[tuple[UUID, bytes, int]] = []
        """Data keys made for this batch, stored with its events (see `KeyRing.reserve`)."""
        self.erased_keys: list[UUID] = []
        """Subjects whose data keys this batch deletes, in the transaction that stores its
        events: an erasure holds exactly when it is stored, never one without the other."""
        self.blind_index: list[tuple[UUID, UUID, str, bytes]] = []
        """Blind-index entries of cases this batch opens, stored with its events."""
        self.credential_roles: frozenset[str] | None = None
        """The credential roles of the command being run (`Submission.credential_roles`)."""

    def index_blindly(self, entries: list[tuple[UUID, UUID, str, bytes]]) -> None:
        """Store these blind-index entries (services.storage.blind_index) with this batch."""
        self.blind_index.extend(entries)

    def erase_key(self, subject_id: UUID) -> None:
        """Delete the subject's data key (and refuse them a new one) with this batch."""
        self.erased_keys.append(subject_id)

    def get(self, cls: type[A], aggregate_id: UUID) -> A:
        found = self.working.get(aggregate_id)
        if found is None:
            try:
                found = self.app.repository.get(aggregate_id)
            except AggregateNotFoundError:
                raise NotFound(f"no {cls.__name__.lower()} with id {aggregate_id}") from None
            self.working[aggregate_id] = found
        if not isinstance(found, cls):
            raise NotFound(f"{aggregate_id} is not a {cls.__name__.lower()}")
        return found

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        try:
            return self.get(cls, aggregate_id)
        except NotFound:
            return None

    def add(self, aggregate: Aggregate) -> None:
        self.working[aggregate.id] = aggregate

    def exists(self, aggregate_id: UUID) -> bool:
        if aggregate_id in self.working:
            return True
        try:
            self.app.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True

    def pending_counts(self) -> dict[UUID, int]:
        return {i: len(a.pending_events) for i, a in self.working.items()}

    def changed_since(self, before: dict[UUID, int]) -> bool:
        return any(len(a.pending_events) != before.get(i, 0) for i, a in self.working.items())

    def touched(self) -> list[Aggregate]:
        return [a for a in self.working.values() if a.pending_events]

    def personal_subjects(self) -> set[UUID]:
        """Subjects whose plaintext personal data the pending events will seal."""
        return {value.subject_id for a in self.touched() for e in a.pending_events
                for value in vars(e).values()
                if isinstance(value, PersonalData) and value.fields is not None}

    def event_times(self) -> dict[tuple[UUID, int], Any]:
        return {(e.originator_id, e.originator_version): e.meta.at  # type: ignore[attr-defined]
                for a in self.touched() for e in a.pending_events}
