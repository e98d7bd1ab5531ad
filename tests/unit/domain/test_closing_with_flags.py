"""A case whose outcome says the person is safe does not close over a raised flag."""

from __future__ import annotations

import pytest
from domain_builders import meta, new_id, taken_case, verified
from referral_builders import accepted

from domain.case import Case
from domain.errors import FlagsStillRaised
from domain.roles import policy_actor
from domain.vocabulary import CaseOutcome, CaseStatus, ResourceKind
from domain.volunteer import Volunteer


def arrived_on_a_recalled_bus() -> tuple[Case, Volunteer, object]:
    """Arrived safe on a bus that was then found unsafe: the recall policy flagged the case."""
    case, holder = taken_case()
    bus = verified(ResourceKind.TRANSPORT)
    case.arrange_transport(resources=[bus], description="bus", by=holder, meta=meta())
    case.record_departure(by=holder, meta=meta())
    case.record_arrival(place="Krakow", by=holder, meta=meta())
    flag_id = new_id()
    case.flag(flag_id=flag_id, reason="resource_unsafe", detail="shelled", by=None,
              resource_id=bus.id, meta=meta(actor=policy_actor("resource_recall")))
    return case, holder, flag_id


def test_a_case_with_a_raised_recall_flag_cannot_close_as_evacuated() -> None:
    case, holder, flag_id = arrived_on_a_recalled_bus()
    version = case.version

    with pytest.raises(FlagsStillRaised) as raised:
        case.close(outcome=CaseOutcome.EVACUATED, by=holder, meta=meta())

    assert str(flag_id) in str(raised.value) and "resource_unsafe" in str(raised.value)
    assert raised.value.flag_ids == [flag_id]
    assert raised.value.extra == {"outcome": "evacuated", "flags": [
        {"flag_id": str(flag_id), "reason": "resource_unsafe"}]}
    assert case.version == version and case.is_active


def test_a_cleared_flag_lets_the_case_close_as_evacuated() -> None:
    case, holder, flag_id = arrived_on_a_recalled_bus()

    case.clear_flag(flag_id=flag_id, reason="she left the bus before it was hit", by=holder,
                    meta=meta())
    case.close(outcome=CaseOutcome.EVACUATED, by=holder, meta=meta())

    assert case.outcome is CaseOutcome.EVACUATED


def test_someone_who_stays_does_not_close_over_a_recalled_shelter() -> None:
    case, holder = taken_case()
    shelter = verified()
    case.give_advice(text="stay in the school gym", resources=[shelter], by=holder,
                     meta=meta())
    case.record_cannot_leave(reason="bedridden mother", by=holder, meta=meta())
    case.flag(flag_id=new_id(), reason="resource_destroyed", by=None, resource_id=shelter.id,
              meta=meta(actor=policy_actor("resource_recall")))

    with pytest.raises(FlagsStillRaised):
        case.close(outcome=CaseOutcome.STAYS, by=holder, meta=meta())


@pytest.mark.parametrize("outcome", [CaseOutcome.LOST_CONTACT, CaseOutcome.REFERRED_ELSEWHERE])
def test_a_case_the_network_can_no_longer_act_on_closes_and_keeps_its_flags(
        outcome: CaseOutcome) -> None:
    case, holder = taken_case()
    flag_id = new_id()
    case.flag(flag_id=flag_id, reason="no answer", by=holder, meta=meta())

    referral = accepted(case, holder) if outcome is CaseOutcome.REFERRED_ELSEWHERE else None
    case.close(outcome=outcome, by=holder, meta=meta(), referral=referral)
    assert case.status is CaseStatus.CLOSED

    case.reopen(reason="she wrote again", by=holder, meta=meta())
    assert [f["flag_id"] for f in case.flags] == [flag_id]


def test_the_refusal_names_no_typed_text() -> None:
    case, holder, _ = arrived_on_a_recalled_bus()
    typed = "she is at her sister's, Sumska 12"
    case.flag(flag_id=new_id(), reason=typed, detail="call after 6", by=holder, meta=meta())

    with pytest.raises(FlagsStillRaised) as raised:
        case.close(outcome=CaseOutcome.EVACUATED, by=holder, meta=meta())

    assert "Sumska" not in str(raised.value) and "Sumska" not in str(raised.value.extra)
    assert len(raised.value.flag_ids) == 2
