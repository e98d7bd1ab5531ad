"""Policies: resource recall, a ban's consequences and verification expiry."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import pytest
from domain_builders import (
    T0,
    fact_checker,
    later,
    meta,
    new_id,
    reported,
    supervisor,
    verified,
    volunteer,
)

from domain.base import Meta
from domain.follow_ups import ExpireVerification, FlagCase, ReleaseCase, RetractResource
from domain.policies import (
    RECALL_TRIGGERS,
    RecallReason,
    event_id,
    expire_due,
    on_volunteer_banned,
    react,
    recall_cases,
)
from domain.resource import Resource
from domain.vocabulary import ResourceKind


def last_event(resource_or_volunteer: object) -> object:
    return resource_or_volunteer.collect_events()[-1]


@pytest.mark.parametrize(
    ("change", "reason"),
    [("mark_unsafe", RecallReason.UNSAFE), ("mark_full", RecallReason.FULL),
     ("destroy", RecallReason.DESTROYED), ("close", RecallReason.CLOSED)],
)
def test_a_resource_becoming_unusable_flags_every_relying_case(change: str,
                                                              reason: RecallReason) -> None:
    shelter = verified()
    getattr(shelter, change)(reason="shelling", by=volunteer(), meta=meta())
    cases = [new_id(), new_id()]
    commands = recall_cases(last_event(shelter), cases)
    assert [c.case_id for c in commands] == sorted(cases)
    assert all(isinstance(c, FlagCase) for c in commands)
    assert {(c.reason, c.detail, c.resource_id) for c in commands} == {
        (reason.value, "shelling", shelter.id)}


def test_a_retracted_resource_flags_relying_cases() -> None:
    shelter = verified()
    shelter.retract(reason="fake", by=supervisor(), meta=meta())
    [command] = recall_cases(last_event(shelter), [new_id()])
    assert command.reason == "resource_retracted"


def test_an_expired_verification_flags_relying_cases() -> None:
    route = verified(ResourceKind.ROUTE)
    route.expire(meta=meta(later(hours=2)))
    [command] = recall_cases(last_event(route), [new_id()])
    assert command.reason == "verification_expired"


def test_a_shelter_reaching_capacity_flags_but_one_with_room_does_not() -> None:
    shelter = verified(capacity=3)
    shelter.update_occupancy(occupancy=2, by=volunteer(), meta=meta())
    assert recall_cases(last_event(shelter), [new_id()]) == []
    shelter.update_occupancy(occupancy=3, by=volunteer(), meta=meta())
    [command] = recall_cases(last_event(shelter), [new_id()])
    assert (command.reason, command.detail) == ("resource_full", "3/3 taken")


def test_a_verification_or_report_flags_nothing() -> None:
    resource = reported()
    assert recall_cases(last_event(resource), [new_id()]) == []
    resource.verify(by=fact_checker(), meta=meta())
    assert recall_cases(last_event(resource), [new_id()]) == []


def test_follow_ups_are_idempotent_and_caused_by_the_trigger() -> None:
    shelter = verified()
    trigger_meta = meta()
    shelter.mark_unsafe(reason="shelled", by=volunteer(), meta=trigger_meta)
    event = last_event(shelter)
    case_id = new_id()
    first = recall_cases(event, [case_id])
    again = recall_cases(event, [case_id, case_id])
    assert first == again and len(first) == 1
    follow = first[0].meta
    assert follow.actor == "policy:resource_recall"
    assert follow.correlation_id == trigger_meta.correlation_id and follow.at == trigger_meta.at
    assert follow.command_id not in (trigger_meta.command_id, event_id(event))
    other = recall_cases(event, [new_id()])[0]
    assert other.meta.command_id != follow.command_id and other.flag_id != first[0].flag_id


def test_a_ban_retracts_unverified_reports_and_releases_cases() -> None:
    bad = volunteer()
    bad.ban(reason="fake shelters", by=supervisor(), meta=meta())
    reports, cases = [new_id(), new_id()], [new_id()]
    commands = on_volunteer_banned(last_event(bad), reports, cases)
    retracts = [c for c in commands if isinstance(c, RetractResource)]
    releases = [c for c in commands if isinstance(c, ReleaseCase)]
    assert sorted(c.resource_id for c in retracts) == sorted(reports)
    assert [(c.case_id, c.volunteer_id) for c in releases] == [(cases[0], bad.id)]
    assert {c.meta.actor for c in commands} == {"policy:volunteer_ban"}
    assert len({c.meta.command_id for c in commands}) == 3


def test_a_suspension_is_not_a_ban() -> None:
    v = volunteer()
    v.suspend(reason="?", by=supervisor(), meta=meta())
    assert on_volunteer_banned(last_event(v), [new_id()], [new_id()]) == []


def test_expiry_is_issued_for_due_verifications_only() -> None:
    route, shelter, unverified = verified(ResourceKind.ROUTE), verified(), reported()
    tick = meta(later(hours=2), actor="clock:tick")
    commands = expire_due([route, shelter, unverified], tick)
    assert [c.resource_id for c in commands] == [route.id]
    assert isinstance(commands[0], ExpireVerification)
    assert commands[0].meta.actor == "policy:verification_expiry"
    route.expire(meta=commands[0].meta)
    assert expire_due([route], meta(later(hours=3))) == []


def test_overlapping_ticks_issue_the_same_expiry_command() -> None:
    route = verified(ResourceKind.ROUTE)
    first = expire_due([route], meta(later(hours=2)))
    second = expire_due([route], meta(later(hours=2, minutes=1)))
    assert first[0].meta.command_id == second[0].meta.command_id


def test_a_renewed_verification_expires_under_a_new_command_id() -> None:
    route = verified(ResourceKind.ROUTE)
    first = expire_due([route], meta(later(hours=2)))
    route.verify(by=fact_checker(), meta=meta(later(hours=1)))
    second = expire_due([route], meta(later(hours=3)))
    assert first[0].meta.command_id != second[0].meta.command_id


class FakeLookups:
    """Answers as the projections would."""

    def __init__(self, relying: dict[UUID, list[UUID]], reports: dict[UUID, list[UUID]],
                 assigned: dict[UUID, list[UUID]],
                 holds: dict[UUID, list[UUID]] | None = None) -> None:
        self.relying, self.reports, self.assigned = relying, reports, assigned
        self.holds = holds or {}

    def active_cases_relying_on(self, resource_id: UUID) -> Iterable[UUID]:
        return self.relying.get(resource_id, [])

    def reports_by(self, volunteer_id: UUID) -> Iterable[UUID]:
        return self.reports.get(volunteer_id, [])

    def active_cases_of(self, volunteer_id: UUID) -> Iterable[UUID]:
        return self.assigned.get(volunteer_id, [])

    def holds_on(self, resource_id: UUID) -> Iterable[UUID]:
        return self.holds.get(resource_id, [])


def test_react_routes_each_event_to_its_policy() -> None:
    shelter, bad, case_id, report_id = verified(), volunteer(), new_id(), new_id()
    lookups = FakeLookups({shelter.id: [case_id]}, {bad.id: [report_id]}, {bad.id: [case_id]})
    shelter.destroy(reason="strike", by=volunteer(), meta=meta())
    bad.ban(reason="threats", by=supervisor(), meta=meta())
    flags = react(last_event(shelter), lookups)
    ban = react(last_event(bad), lookups)
    assert [type(c).__name__ for c in flags] == ["FlagCase"]
    assert [type(c).__name__ for c in ban] == ["RetractResource", "ReleaseCase"]
    assert react(last_event(volunteer()), lookups) == []


def test_every_recall_trigger_is_a_resource_event() -> None:
    for name in RECALL_TRIGGERS:
        assert issubclass(getattr(Resource, name), Resource.Event)


def test_policy_meta_keeps_the_business_time() -> None:
    shelter = verified()
    shelter.mark_unsafe(reason="x", by=volunteer(), meta=Meta(
        actor="volunteer:x", at=later(hours=1), command_id=new_id(), correlation_id=new_id()))
    [command] = recall_cases(last_event(shelter), [new_id()])
    assert command.meta.at == later(hours=1) != T0
