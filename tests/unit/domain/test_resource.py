"""Resources: reported, verified by someone else, expiring, changing status, recalled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from domain_builders import (
    OPERATOR,
    T0,
    banned,
    fact_checker,
    later,
    meta,
    names,
    new_event_names,
    new_id,
    reported,
    supervisor,
    suspended,
    verified,
    volunteer,
)

from domain.base import InvalidCommand, PersonalData
from domain.errors import (
    CannotVerifyOwnReport,
    InvalidResource,
    NotAFactChecker,
    NotAShelter,
    NothingToErase,
    NotPermitted,
    OccupancyExceedsCapacity,
    ResourceNotUsable,
    ResourceStatusUnchanged,
    ResourceWithdrawn,
    ShelterFull,
    VerificationNotDue,
    VolunteerBanned,
    VolunteerSuspended,
)
from domain.resource import Resource
from domain.roles import Role, policy_actor
from domain.vocabulary import VERIFICATION_TTL, ResourceKind, ResourceStatus, Verification

POLICY = policy_actor("volunteer_ban")


def test_a_reported_resource_is_unverified_and_not_usable() -> None:
    reporter = volunteer()
    resource = reported(reporter=reporter)
    assert resource.reported_by == reporter.id
    assert resource.verification is Verification.UNVERIFIED
    assert resource.status is ResourceStatus.AVAILABLE
    assert resource.unusable_reason(T0) == "unverified" and not resource.is_usable(T0)
    assert names(resource.collect_events()) == ["ResourceReported"]


def test_a_contact_persons_details_are_personal_data() -> None:
    person = new_id()
    resource = Resource.report(
        resource_id=new_id(), kind=ResourceKind.TRANSPORT, region="Dnipro", place="station",
        details="minibus, 8 seats", reporter=volunteer(), contact_subject_id=person,
        contact={"name": "Taras", "phone": "+380..."}, meta=meta())
    assert resource.contact == PersonalData.of(person, name="Taras", phone="+380...")


def test_a_shelter_needs_a_capacity_and_nothing_else_has_one() -> None:
    with pytest.raises(InvalidResource):
        reported(ResourceKind.SHELTER, capacity=None)
    with pytest.raises(NotAShelter):
        Resource.report(resource_id=new_id(), kind=ResourceKind.ROUTE, region="Sumy",
                        place="E105", details="", reporter=volunteer(), capacity=5,
                        meta=meta())


def test_a_banned_volunteer_cannot_report() -> None:
    with pytest.raises(VolunteerBanned):
        reported(reporter=banned(volunteer()))


def test_a_fact_checker_verifies_and_the_resource_becomes_usable() -> None:
    checker, resource = fact_checker(), reported()
    resource.verify(by=checker, meta=meta(T0))
    assert resource.verification is Verification.VERIFIED
    assert resource.verified_by == checker.id and resource.verified_at == T0
    assert resource.is_usable(T0 + timedelta(hours=1))
    assert names(resource.collect_events())[-1] == "ResourceVerified"


def test_nobody_verifies_what_they_reported() -> None:
    checker = fact_checker()
    resource = reported(reporter=checker)
    with pytest.raises(CannotVerifyOwnReport):
        resource.verify(by=checker, meta=meta())
    with pytest.raises(CannotVerifyOwnReport):
        resource.reject(reason="?", by=checker, meta=meta())


def test_only_fact_checkers_verify() -> None:
    with pytest.raises(NotAFactChecker):
        reported().verify(by=supervisor(), meta=meta())
    with pytest.raises(NotAFactChecker):
        reported().reject(reason="fake", by=volunteer(), meta=meta())


def test_a_suspended_fact_checker_cannot_verify() -> None:
    with pytest.raises(VolunteerSuspended):
        reported().verify(by=suspended(fact_checker()), meta=meta())


@pytest.mark.parametrize(
    ("kind", "ttl"),
    [(ResourceKind.SHELTER, timedelta(hours=6)), (ResourceKind.ROUTE, timedelta(hours=2)),
     (ResourceKind.BORDER_CROSSING, timedelta(hours=3)),
     (ResourceKind.TRANSPORT, timedelta(hours=12)),
     (ResourceKind.FOOD_POINT, timedelta(hours=24)),
     (ResourceKind.MEDICINE, timedelta(hours=24)), (ResourceKind.CONTACT, timedelta(days=21))],
)
def test_a_verification_expires_after_a_time_to_live_that_depends_on_the_kind(
        kind: ResourceKind, ttl: timedelta) -> None:
    resource = verified(kind)
    assert VERIFICATION_TTL[kind] == ttl
    assert resource.expires_at == T0 + ttl
    assert resource.is_usable(T0 + ttl - timedelta(seconds=1))
    assert resource.unusable_reason(T0 + ttl) == "expired"


def test_every_kind_has_a_time_to_live() -> None:
    assert set(VERIFICATION_TTL) == set(ResourceKind)


def test_re_verification_renews_the_expiry() -> None:
    resource = verified(ResourceKind.ROUTE)
    resource.verify(by=fact_checker(), meta=meta(later(hours=1, minutes=30)))
    assert resource.expires_at == later(hours=3, minutes=30)
    assert resource.is_usable(later(hours=3))


def test_expiry_is_recorded_by_a_tick_once_it_is_due() -> None:
    resource = verified(ResourceKind.ROUTE)
    with pytest.raises(VerificationNotDue):
        resource.expire(meta=meta(later(hours=1)))
    assert new_event_names(resource, lambda: resource.expire(
        meta=meta(later(hours=2)))) == ["VerificationExpired"]
    assert resource.verification is Verification.EXPIRED
    with pytest.raises(VerificationNotDue):
        resource.expire(meta=meta(later(hours=3)))


def test_an_expired_resource_is_renewed_by_re_verification() -> None:
    resource = verified(ResourceKind.ROUTE)
    resource.expire(meta=meta(later(hours=2)))
    resource.verify(by=fact_checker(), meta=meta(later(hours=2, minutes=5)))
    assert resource.is_usable(later(hours=3))


def test_an_unverified_resource_has_nothing_to_expire() -> None:
    with pytest.raises(VerificationNotDue):
        reported().expire(meta=meta(later(days=30)))


def test_a_rejected_resource_is_not_usable() -> None:
    resource = reported()
    resource.reject(reason="the address is a ruin", by=fact_checker(), meta=meta())
    assert resource.verification is Verification.REJECTED
    assert resource.unusable_reason(T0) == "rejected"


@pytest.mark.parametrize(
    ("mark", "status"),
    [("mark_unsafe", ResourceStatus.UNSAFE), ("close", ResourceStatus.CLOSED),
     ("destroy", ResourceStatus.DESTROYED), ("mark_full", ResourceStatus.FULL)],
)
def test_a_status_change_makes_a_verified_resource_unusable(mark: str,
                                                            status: ResourceStatus) -> None:
    resource = verified()
    getattr(resource, mark)(reason="shelling nearby", by=volunteer(), meta=meta())
    assert resource.status is status and resource.status_reason == "shelling nearby"
    assert not resource.is_usable(T0)


def test_a_full_shelter_raises_shelter_full() -> None:
    resource = verified()
    resource.mark_full(reason="no beds", by=volunteer(), meta=meta())
    with pytest.raises(ShelterFull):
        resource.ensure_usable(T0)


def test_a_shelter_at_capacity_is_full_even_if_not_marked() -> None:
    resource = verified(capacity=3)
    resource.update_occupancy(occupancy=3, by=volunteer(), meta=meta())
    assert resource.is_shelter_full
    with pytest.raises(ShelterFull):
        resource.ensure_usable(T0)


def test_full_transport_is_not_usable_but_is_no_shelter() -> None:
    resource = verified(ResourceKind.TRANSPORT)
    resource.mark_full(reason="bus full", by=volunteer(), meta=meta())
    with pytest.raises(ResourceNotUsable) as raised:
        resource.ensure_usable(T0)
    assert not isinstance(raised.value, ShelterFull) and raised.value.reason == "full"


def test_ensure_usable_names_the_reason() -> None:
    resource = verified()
    resource.mark_unsafe(reason="shelled", by=volunteer(), meta=meta())
    with pytest.raises(ResourceNotUsable) as raised:
        resource.ensure_usable(T0)
    assert raised.value.reason == "unsafe" and raised.value.resource_id == resource.id


def test_occupancy_stays_between_zero_and_capacity() -> None:
    resource = verified(capacity=5)
    with pytest.raises(OccupancyExceedsCapacity):
        resource.update_occupancy(occupancy=6, by=volunteer(), meta=meta())
    with pytest.raises(OccupancyExceedsCapacity):
        resource.update_occupancy(occupancy=-1, by=volunteer(), meta=meta())
    resource.update_occupancy(occupancy=4, by=volunteer(), meta=meta())
    assert resource.occupancy == 4
    assert names(resource.collect_events())[-1] == "OccupancyUpdated"


def test_only_shelters_have_occupancy() -> None:
    with pytest.raises(NotAShelter):
        verified(ResourceKind.FOOD_POINT).update_occupancy(occupancy=1, by=volunteer(),
                                                           meta=meta())


def test_a_status_cannot_be_set_twice() -> None:
    resource = verified()
    resource.mark_unsafe(reason="shelled", by=volunteer(), meta=meta())
    with pytest.raises(ResourceStatusUnchanged):
        resource.mark_unsafe(reason="shelled again", by=volunteer(), meta=meta())


def test_a_fact_checker_or_supervisor_reopens() -> None:
    resource = verified()
    resource.close(reason="night", by=volunteer(), meta=meta())
    with pytest.raises(NotAFactChecker):
        resource.reopen(reason="morning", by=volunteer(), meta=meta())
    resource.reopen(reason="morning", by=supervisor(), meta=meta())
    assert resource.status is ResourceStatus.AVAILABLE and resource.is_usable(T0)
    with pytest.raises(ResourceStatusUnchanged):
        resource.reopen(reason="again", by=fact_checker(), meta=meta())


def test_a_destroyed_resource_is_withdrawn_for_good() -> None:
    resource = verified()
    resource.destroy(reason="missile strike", by=volunteer(), meta=meta())
    assert resource.is_withdrawn
    for act in (lambda: resource.reopen(reason="?", by=supervisor(), meta=meta()),
                lambda: resource.verify(by=fact_checker(), meta=meta()),
                lambda: resource.mark_full(reason="?", by=volunteer(), meta=meta()),
                lambda: resource.update_occupancy(occupancy=0, by=volunteer(), meta=meta()),
                lambda: resource.retract(reason="?", by=supervisor(), meta=meta())):
        with pytest.raises(ResourceWithdrawn):
            act()


def test_a_supervisor_retracts_a_fake_resource() -> None:
    resource = verified()
    resource.retract(reason="fake phone number", by=supervisor(), meta=meta())
    assert resource.status is ResourceStatus.RETRACTED
    assert resource.unusable_reason(T0) == "retracted"
    assert names(resource.collect_events())[-1] == "ResourceRetracted"


def test_an_ordinary_volunteer_cannot_retract() -> None:
    with pytest.raises(NotAFactChecker):
        verified().retract(reason="?", by=volunteer(), meta=meta())


def test_a_policy_retracts_without_an_acting_volunteer_but_nobody_else_may() -> None:
    resource = reported()
    with pytest.raises(NotPermitted):
        resource.retract(reason="reporter banned", by=None, meta=meta())
    resource.retract(reason="reporter banned", by=None, meta=meta(actor=POLICY))
    assert resource.status is ResourceStatus.RETRACTED


def test_erasing_the_contact_keeps_the_resource() -> None:
    person = new_id()
    resource = Resource.report(
        resource_id=new_id(), kind=ResourceKind.CONTACT, region="Odesa", place="hotline",
        details="legal aid", reporter=volunteer(), contact={"phone": "+380..."},
        contact_subject_id=person, meta=meta())
    with pytest.raises(NothingToErase):
        resource.erase_personal_data(subject_id=new_id(), by=OPERATOR, meta=meta())
    resource.erase_personal_data(subject_id=person, by=OPERATOR, meta=meta())
    assert resource.contact == PersonalData.erased_for(person)
    assert resource.details == "legal aid"


def test_a_naive_business_time_is_rejected() -> None:
    resource = reported()
    naive = meta(T0.replace(tzinfo=None))
    with pytest.raises(InvalidCommand):
        resource.verify(by=fact_checker(), meta=naive)
    assert resource.version == 1


def test_fact_checker_role_granted_later_counts() -> None:
    checker = volunteer()
    boss = volunteer(Role.ADMIN)
    checker.grant_role(role=Role.FACT_CHECKER, by=boss, meta=meta())
    reported().verify(by=checker, meta=meta())
