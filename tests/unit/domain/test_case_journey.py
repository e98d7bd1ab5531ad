"""Journey steps: each its own event, in order, by the assignee or a supervisor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from domain_builders import (
    banned,
    fact_checker,
    later,
    meta,
    names,
    new_event_names,
    reported,
    supervisor,
    suspended,
    taken_case,
    verified,
    volunteer,
)

from domain.base import InvalidCommand, PersonalData
from domain.case import Case
from domain.errors import (
    CaseClosed,
    NotCaseAssignee,
    ResourceNotUsable,
    ShelterFull,
    StepOutOfOrder,
    VolunteerBanned,
    VolunteerSuspended,
)
from domain.journey import JourneyStage
from domain.vocabulary import CaseOutcome, ResourceKind
from domain.volunteer import Volunteer

Step = Callable[[Case, Volunteer], None]

DEPART: Step = lambda c, v: c.record_departure(by=v, meta=meta())  # noqa: E731
CHECKPOINT: Step = lambda c, v: c.record_checkpoint(checkpoint="Zhytomyr", by=v,  # noqa: E731
                                                    meta=meta())
STUCK: Step = lambda c, v: c.record_stuck(place="Chop", reason="queue", by=v,  # noqa: E731
                                          meta=meta())
RETURN: Step = lambda c, v: c.record_return(reason="road shelled", by=v,  # noqa: E731
                                            meta=meta())
CROSS: Step = lambda c, v: c.record_border_crossing(crossing="Medyka", by=v,  # noqa: E731
                                                    meta=meta())
ARRIVE: Step = lambda c, v: c.record_arrival(place="Krakow", by=v, meta=meta())  # noqa: E731
CANNOT: Step = lambda c, v: c.record_cannot_leave(reason="bedridden relative", by=v,  # noqa: E731
                                                  meta=meta())


@pytest.mark.parametrize(
    ("before", "step", "event", "stage"),
    [
        ([], DEPART, "Departed", JourneyStage.EN_ROUTE),
        ([DEPART], CHECKPOINT, "CheckpointReached", JourneyStage.EN_ROUTE),
        ([DEPART], STUCK, "Stuck", JourneyStage.STUCK),
        ([DEPART], RETURN, "Returned", JourneyStage.RETURNED),
        ([DEPART], CROSS, "BorderCrossed", JourneyStage.EN_ROUTE),
        ([DEPART, CROSS], ARRIVE, "ArrivedSafe", JourneyStage.ARRIVED),
        ([], CANNOT, "CannotLeave", JourneyStage.CANNOT_LEAVE),
        ([DEPART, STUCK], DEPART, "Departed", JourneyStage.EN_ROUTE),
    ],
)
def test_each_step_is_its_own_event(before: list[Step], step: Step, event: str,
                                    stage: JourneyStage) -> None:
    case, holder = taken_case()
    for earlier in before:
        earlier(case, holder)
    assert new_event_names(case, lambda: step(case, holder)) == [event]
    assert case.stage is stage


@pytest.mark.parametrize(
    ("before", "step"),
    [([], ARRIVE), ([], CROSS), ([], CHECKPOINT), ([DEPART], DEPART),
     ([DEPART, ARRIVE], CHECKPOINT), ([CANNOT], ARRIVE)],
)
def test_a_step_out_of_order_is_rejected(before: list[Step], step: Step) -> None:
    case, holder = taken_case()
    for earlier in before:
        earlier(case, holder)
    version = case.version
    with pytest.raises(StepOutOfOrder):
        step(case, holder)
    assert case.version == version


def test_arrived_safe_before_departed_is_rejected() -> None:
    case, holder = taken_case()
    with pytest.raises(StepOutOfOrder):
        ARRIVE(case, holder)


def test_border_crossings_and_arrival_time_are_kept() -> None:
    case, holder = taken_case()
    DEPART(case, holder)
    CROSS(case, holder)
    CROSS(case, holder)
    case.record_arrival(place="Berlin", by=holder, meta=meta(later(days=2)))
    assert case.borders_crossed == 2 and case.arrived_at == later(days=2)
    assert case.last_step_at == later(days=2)


def test_only_the_assignee_records_steps() -> None:
    case, _ = taken_case()
    with pytest.raises(NotCaseAssignee):
        DEPART(case, volunteer())


def test_a_supervisor_may_record_steps() -> None:
    case, _ = taken_case()
    DEPART(case, supervisor())
    assert case.stage is JourneyStage.EN_ROUTE


def test_a_suspended_assignee_cannot_record_steps() -> None:
    case, holder = taken_case()
    suspended(holder)
    with pytest.raises(VolunteerSuspended):
        DEPART(case, holder)


def test_a_banned_supervisor_cannot_record_steps() -> None:
    case, _ = taken_case()
    with pytest.raises(VolunteerBanned):
        DEPART(case, banned(supervisor()))


def test_a_closed_case_takes_no_steps() -> None:
    case, holder = taken_case()
    case.close(outcome=CaseOutcome.LOST_CONTACT, by=holder, meta=meta())
    for act in (lambda: DEPART(case, holder), lambda: CANNOT(case, holder),
                lambda: case.give_advice(text="stay", by=holder, meta=meta()),
                lambda: case.add_note(text="x", by=holder, meta=meta()),
                lambda: case.arrange_transport(resources=[verified(ResourceKind.TRANSPORT)],
                                               description="bus", by=holder, meta=meta())):
        with pytest.raises(CaseClosed):
            act()


def test_advice_is_the_persons_personal_data_and_may_name_resources() -> None:
    case, holder = taken_case()
    shelter = verified()
    case.give_advice(text="stay put, the route is being shelled", resources=[shelter],
                     by=holder, meta=meta())
    advice = case.collect_events()[-1]
    assert type(advice).__name__ == "AdviceGiven"
    assert advice.personal == PersonalData.of(case.person_id,
                                              text="stay put, the route is being shelled")
    assert advice.resource_ids == [shelter.id]
    assert case.relies_on(shelter.id)


def test_advice_needs_a_text() -> None:
    case, holder = taken_case()
    with pytest.raises(InvalidCommand):
        case.give_advice(text=" ", by=holder, meta=meta())


def test_transport_names_the_resources_it_relies_on() -> None:
    case, holder = taken_case()
    bus, route = verified(ResourceKind.TRANSPORT), verified(ResourceKind.ROUTE)
    case.arrange_transport(resources=[bus, route, bus], description="evacuation bus 14:00",
                           by=holder, meta=meta())
    arranged = case.collect_events()[-1]
    assert type(arranged).__name__ == "TransportArranged"
    assert arranged.resource_ids == [bus.id, route.id]
    assert case.resource_ids == [bus.id, route.id]


def test_transport_needs_a_resource() -> None:
    case, holder = taken_case()
    with pytest.raises(InvalidCommand):
        case.arrange_transport(resources=[], description="?", by=holder, meta=meta())


def test_transport_after_arrival_is_out_of_order() -> None:
    case, holder = taken_case()
    DEPART(case, holder)
    ARRIVE(case, holder)
    with pytest.raises(StepOutOfOrder):
        case.arrange_transport(resources=[verified(ResourceKind.TRANSPORT)],
                               description="bus", by=holder, meta=meta())


def _unusable(reason: str) -> Any:
    if reason == "unverified":
        return reported(ResourceKind.TRANSPORT)
    resource = verified(ResourceKind.TRANSPORT)
    if reason == "expired":
        return resource  # used 13 hours later
    if reason == "retracted":
        resource.retract(reason="fake", by=supervisor(), meta=meta())
    elif reason == "destroyed":
        resource.destroy(reason="bombed", by=volunteer(), meta=meta())
    elif reason == "unsafe":
        resource.mark_unsafe(reason="shelled", by=volunteer(), meta=meta())
    elif reason == "rejected":
        resource = reported(ResourceKind.TRANSPORT)
        resource.reject(reason="fake", by=fact_checker(), meta=meta())
    return resource


@pytest.mark.parametrize("reason",
                         ["unverified", "expired", "retracted", "destroyed", "unsafe",
                          "rejected"])
def test_an_unusable_resource_cannot_be_attached_to_a_step(reason: str) -> None:
    case, holder = taken_case()
    when = later(hours=13) if reason == "expired" else later(minutes=5)
    with pytest.raises(ResourceNotUsable) as raised:
        case.arrange_transport(resources=[verified(ResourceKind.ROUTE), _unusable(reason)],
                               description="bus", by=holder, meta=meta(when))
    assert raised.value.reason == reason
    assert case.resource_ids == []


def test_a_full_shelter_takes_no_one() -> None:
    case, holder = taken_case()
    shelter = verified(capacity=2)
    shelter.update_occupancy(occupancy=2, by=volunteer(), meta=meta())
    with pytest.raises(ShelterFull):
        case.give_advice(text="go to the school gym", resources=[shelter], by=holder,
                         meta=meta())


def test_closing_a_case_stops_relying_on_its_resources() -> None:
    case, holder = taken_case()
    shelter = verified()
    case.give_advice(text="go to the gym", resources=[shelter], by=holder, meta=meta())
    DEPART(case, holder)
    ARRIVE(case, holder)
    case.close(outcome=CaseOutcome.EVACUATED, by=holder, meta=meta())
    assert not case.relies_on(shelter.id) and not case.is_active


def test_steps_are_recorded_in_order_in_the_history() -> None:
    case, holder = taken_case()
    for step in (DEPART, CHECKPOINT, STUCK, DEPART, CROSS, ARRIVE):
        step(case, holder)
    assert names(case.collect_events())[2:] == [
        "Departed", "CheckpointReached", "Stuck", "Departed", "BorderCrossed", "ArrivedSafe"]
