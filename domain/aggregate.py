"""The base of corridor's aggregates: ids come in, and an event's time is its command's time."""

from __future__ import annotations

from typing import Any, Self
from uuid import UUID

from eventsourcing.domain import Aggregate, CanInitAggregate, CanMutateAggregate

from domain.base import Meta
from domain.errors import NaiveTime


def _stamped(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Use the command's business time (meta.at) as the event's timestamp: no clock reads."""
    meta = kwargs.get("meta")
    if not isinstance(meta, Meta):
        raise TypeError("every corridor event carries meta: Meta")
    if meta.at.tzinfo is None or meta.at.utcoffset() is None:
        raise NaiveTime(f"meta.at must be timezone-aware, got {meta.at!r}")
    return {**kwargs, "timestamp": meta.at}


class CoordinationAggregate(Aggregate):
    """An event-sourced aggregate whose id is chosen by the caller and whose events carry Meta."""

    @staticmethod
    def create_id(*_: Any, **__: Any) -> UUID:
        """Never invent ids: the caller chooses them (so retries are idempotent)."""
        raise NotImplementedError

    @classmethod
    def _create(
        cls,
        event_class: type[CanInitAggregate[UUID]],
        *,
        id: UUID | None = None,
        **kwargs: Any,
    ) -> Self:
        return super()._create(event_class, id=id, **_stamped(kwargs))

    def trigger_event(
        self, event_class: type[CanMutateAggregate[UUID]], **kwargs: Any
    ) -> None:
        """Trigger an event stamped with its command's business time."""
        super().trigger_event(event_class, **_stamped(kwargs))
