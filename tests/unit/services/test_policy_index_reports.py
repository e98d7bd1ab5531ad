"""The reactions' index of who reported what: a ban retracts every report that still stands,
verified ones too (issue 22: a transport recalled because its reporter was banned)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from domain.base import Meta
from domain.resource import Resource
from domain.roles import Authority, Role
from domain.vocabulary import ResourceKind
from domain.volunteer import Volunteer
from services.runtime.reactions import PolicyIndex

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OPERATOR = Authority(actor="admin:test", roles=frozenset({Role.ADMIN}))


def meta() -> Meta:
    return Meta(actor="operator:test", at=AT, command_id=uuid4(), correlation_id=uuid4())


def member(*roles: Role) -> Volunteer:
    v = Volunteer.register(volunteer_id=uuid4(), display_name="Olena", languages=["uk"],
                           time_zone="Europe/Kyiv", roles=roles or (Role.VOLUNTEER,),
                           by=OPERATOR, meta=meta())
    v.log_training(minutes=300, topic="casework basics", by=OPERATOR, meta=meta())
    return v


def report(by: Volunteer) -> Resource:
    return Resource.report(resource_id=uuid4(), kind=ResourceKind.TRANSPORT,
                           region="Kharkiv oblast", place="Kharkiv", details="private car",
                           reporter=by, meta=meta())


def test_a_reporters_verified_and_unverified_reports_stand_until_withdrawn() -> None:
    reporter, checker = member(), member(Role.FACT_CHECKER)
    verified, unverified, rejected, retracted = (report(reporter) for _ in range(4))
    verified.verify(by=checker, meta=meta())
    rejected.reject(reason="no such car", by=checker, meta=meta())
    retracted.retract(reason="fake", by=checker, meta=meta())
    index = PolicyIndex()

    for resource in (verified, unverified, rejected, retracted):
        for event in resource.pending_events:
            index.apply(event)

    assert set(index.reports_by(reporter.id)) == {verified.id, unverified.id, rejected.id}
    assert set(index.reports_by(checker.id)) == set()
