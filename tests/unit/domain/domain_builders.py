"""Builders for domain tests: business times, metas, volunteers, resources and cases."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from domain.base import Meta
from domain.case import Case
from domain.intake import Intake
from domain.resource import Resource
from domain.roles import Authority, Role
from domain.transport import TransportOffer
from domain.vocabulary import Accepts, ResourceKind
from domain.volunteer import Volunteer

T0 = datetime(2022, 3, 1, 8, 0, tzinfo=UTC)
OPERATOR = Authority(actor="admin:test", roles=frozenset({Role.ADMIN}))
"""An admin's credential naming no volunteer: registers anyone, logs anyone's training."""
_ids = itertools.count(1)
A = TypeVar("A")


def new_id() -> UUID:
    """A fresh, readable, deterministic-per-run id."""
    return UUID(int=next(_ids))


def meta(at: datetime = T0, actor: str = "volunteer:test") -> Meta:
    """Metadata for one command at business time `at`."""
    command_id = new_id()
    return Meta(actor=actor, at=at, command_id=command_id, correlation_id=command_id)


def later(minutes: float = 0, hours: float = 0, days: float = 0) -> datetime:
    """A business time after T0."""
    return T0 + timedelta(minutes=minutes, hours=hours, days=days)


def volunteer(*roles: Role, cleared: bool = True, name: str = "Olena") -> Volunteer:
    """A registered volunteer holding the roles (volunteer by default), trained if cleared."""
    held = roles or (Role.VOLUNTEER,)
    v = Volunteer.register(volunteer_id=new_id(), display_name=name, languages=["uk", "en"],
                           time_zone="Europe/Kyiv", roles=held, by=OPERATOR, meta=meta())
    if cleared:
        v.log_training(minutes=300, topic="casework basics", by=OPERATOR, meta=meta())
    return v


def supervisor() -> Volunteer:
    """A cleared supervisor."""
    return volunteer(Role.VOLUNTEER, Role.SUPERVISOR)


def fact_checker() -> Volunteer:
    """A fact-checker."""
    return volunteer(Role.FACT_CHECKER)


def admin() -> Volunteer:
    """An admin."""
    return volunteer(Role.ADMIN)


def suspended(v: Volunteer) -> Volunteer:
    """The volunteer, suspended by some supervisor (an admin, if they are one)."""
    v.suspend(reason="complaint under review", by=_sanctioner_of(v), meta=meta())
    return v


def banned(v: Volunteer) -> Volunteer:
    """The volunteer, banned by some supervisor (an admin, if they are one)."""
    v.ban(reason="fake reports", by=_sanctioner_of(v), meta=meta())
    return v


def _sanctioner_of(v: Volunteer) -> Volunteer:
    """Someone who may sanction the volunteer: only an admin sanctions an admin."""
    return admin() if v.has_role(Role.ADMIN) else supervisor()


def intake(**answers: Any) -> Intake:
    """A plausible survey: safe now, one adult, in Kharkiv, wants to go to Lviv."""
    defaults: dict[str, Any] = dict(
        safe_now=True, region="Kharkiv oblast", destination="Lviv",
        contact_channel="telegram", languages=["uk"], name="Iryna",
        contact_handle="@iryna_k", exact_location="Saltivka, block 12")
    return Intake(**{**defaults, **answers})


def open_case(**answers: Any) -> Case:
    """A newly opened case."""
    return Case.open(case_id=new_id(), person_id=new_id(), intake=intake(**answers),
                     meta=meta(actor="intake:bot"))


def taken_case(by: Volunteer | None = None) -> tuple[Case, Volunteer]:
    """A case taken by a cleared volunteer (returned too)."""
    case, assignee = open_case(), by or volunteer()
    case.take(volunteer=assignee, meta=meta())
    return case, assignee


def reported(kind: ResourceKind = ResourceKind.SHELTER, capacity: int | None = 10,
             reporter: Volunteer | None = None) -> Resource:
    """An unverified resource reported at T0 (capacity only for shelters)."""
    return Resource.report(
        resource_id=new_id(), kind=kind, region="Lviv oblast", place="Lviv, Horodotska 1",
        details="school gym", reporter=reporter or volunteer(),
        capacity=capacity if kind is ResourceKind.SHELTER else None, meta=meta())


def verified(kind: ResourceKind = ResourceKind.SHELTER, capacity: int | None = 10,
             at: datetime = T0) -> Resource:
    """A resource verified at `at` by a fact-checker."""
    resource = reported(kind, capacity)
    resource.verify(by=fact_checker(), meta=meta(at))
    return resource


def offer(seats: int = 4, accepts: Iterable[Accepts] = (Accepts.CHILDREN,),
          departs_from: datetime | None = None,
          departs_until: datetime | None = None) -> TransportOffer:
    """A transport's offer: `seats` seats from Kharkiv to Lviv."""
    return TransportOffer(seats=seats, accepts=frozenset(accepts), departs_from=departs_from,
                          departs_until=departs_until, origin="Kharkiv", destination="Lviv")


def transport(seats: int = 4, accepts: Iterable[Accepts] = (Accepts.CHILDREN,),
              departs_until: datetime | None = None, verified_at: datetime = T0) -> Resource:
    """A transport with a driver's contact, offering seats, verified at `verified_at`."""
    car = Resource.report(
        resource_id=new_id(), kind=ResourceKind.TRANSPORT, region="Kharkiv oblast",
        place="Kharkiv, railway station", details="private car", reporter=volunteer(),
        contact={"name": "Andrii", "phone": "+380 67 000 00 00"},
        transport=offer(seats, accepts, departs_until=departs_until), meta=meta())
    car.verify(by=fact_checker(), meta=meta(verified_at))
    return car


def replay(events: Iterable[Any]) -> Any:
    """Project an aggregate from scratch from its events."""
    aggregate = None
    for e in events:
        aggregate = e.mutate(aggregate)
    return aggregate


def names(events: Sequence[Any]) -> list[str]:
    """The class names of events."""
    return [type(e).__name__ for e in events]


def new_event_names(aggregate: Any, act: Any) -> list[str]:
    """Names of the events `act()` triggers on the aggregate."""
    before = len(aggregate.pending_events)
    act()
    return names(aggregate.pending_events[before:])
