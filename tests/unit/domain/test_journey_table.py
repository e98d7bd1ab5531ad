"""The journey table (domain/journey.py) is what the Case aggregate enforces and replays."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from domain_builders import T0, meta, taken_case
from domain_transcoding import round_trip
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.base import Meta
from domain.case import Case
from domain.errors import StepOutOfOrder
from domain.journey import ALLOWED, EVENT_OF, JourneyStage, Step, stage_after
from domain.volunteer import Volunteer

Act = Callable[[Case, Volunteer, Meta], None]

RECORD: dict[Step, Act] = {
    Step.DEPARTED: lambda c, v, m: c.record_departure(by=v, meta=m),
    Step.CHECKPOINT_REACHED: lambda c, v, m: c.record_checkpoint(checkpoint="Zhytomyr", by=v,
                                                                 meta=m),
    Step.STUCK: lambda c, v, m: c.record_stuck(place="the village", reason="road shelled",
                                               by=v, meta=m),
    Step.RETURNED: lambda c, v, m: c.record_return(reason="bridge blown", by=v, meta=m),
    Step.BORDER_CROSSED: lambda c, v, m: c.record_border_crossing(crossing="Medyka", by=v,
                                                                  meta=m),
    Step.ARRIVED_SAFE: lambda c, v, m: c.record_arrival(place="Krakow", by=v, meta=m),
    Step.CANNOT_LEAVE: lambda c, v, m: c.record_cannot_leave(reason="bedridden mother", by=v,
                                                             meta=m),
}
"""How a volunteer records each step on a case."""

ON_THE_WAY = frozenset(Step) - {Step.DEPARTED, Step.CANNOT_LEAVE}
"""Steps that only make sense once the person has set off."""


@st.composite
def allowed_journeys(draw: st.DrawFn) -> list[Step]:
    """A walk through the table from `waiting`: each step one the table allows."""
    stage, steps = JourneyStage.WAITING, []
    for _ in range(draw(st.integers(0, 30))):
        if not ALLOWED[stage]:
            break
        step = draw(st.sampled_from(sorted(ALLOWED[stage])))
        steps.append(step)
        stage = stage_after(step)
    return steps


def state_of(case: Case) -> dict[str, Any]:
    return {k: v for k, v in vars(case).items() if k != "_pending_events"}


def refuses(case: Case, holder: Volunteer, step: Step, at_minute: int) -> bool:
    """True when the aggregate refuses the step with StepOutOfOrder and leaves no trace."""
    before, pending = state_of(case), len(case.pending_events)
    try:
        RECORD[step](case, holder, meta(T0 + timedelta(minutes=at_minute)))
    except StepOutOfOrder as refused:
        assert refused.step == EVENT_OF[step] and refused.stage == case.stage.value
        return state_of(case) == before and len(case.pending_events) == pending
    return False


@settings(max_examples=300, deadline=None)
@given(allowed_journeys())
def test_every_journey_the_table_allows_replays_and_every_refused_step_is_refused(
        journey: list[Step]) -> None:
    case, holder = taken_case()
    for minute, step in enumerate(journey, start=1):
        for refused in frozenset(Step) - ALLOWED[case.stage]:
            assert refuses(case, holder, refused, minute), f"{refused} after {case.stage}"
        RECORD[step](case, holder, meta(T0 + timedelta(minutes=minute)))
        assert case.stage is stage_after(step)
        assert case.last_step_at == T0 + timedelta(minutes=minute)
    for refused in frozenset(Step) - ALLOWED[case.stage]:
        assert refuses(case, holder, refused, len(journey) + 1)

    assert case.borders_crossed == journey.count(Step.BORDER_CROSSED)
    assert (case.arrived_at is not None) == (Step.ARRIVED_SAFE in journey)
    events = case.collect_events()
    assert [type(e).__name__ for e in events[2:]] == [EVENT_OF[s] for s in journey]
    for history in (events, round_trip(events)):
        rebuilt = None
        for e in history:
            rebuilt = e.mutate(rebuilt)
        assert rebuilt is not None and state_of(rebuilt) == state_of(case)


@settings(max_examples=300, deadline=None)
@given(allowed_journeys())
def test_nothing_happens_on_the_way_before_the_person_sets_off(journey: list[Step]) -> None:
    first_on_the_way = next((i for i, s in enumerate(journey) if s in ON_THE_WAY), None)
    if first_on_the_way is not None:
        assert Step.DEPARTED in journey[:first_on_the_way]


def test_the_story_returned_to_the_village_and_stuck_again() -> None:
    case, holder = taken_case()
    for step in (Step.DEPARTED, Step.CHECKPOINT_REACHED, Step.RETURNED, Step.STUCK,
                 Step.DEPARTED, Step.BORDER_CROSSED, Step.ARRIVED_SAFE):
        RECORD[step](case, holder, meta())
    assert case.stage is JourneyStage.ARRIVED and case.borders_crossed == 1


def test_someone_who_turned_back_crosses_back_over_the_border() -> None:
    case, holder = taken_case()
    for step in (Step.DEPARTED, Step.BORDER_CROSSED, Step.RETURNED, Step.BORDER_CROSSED,
                 Step.RETURNED):
        RECORD[step](case, holder, meta())
    assert case.stage is JourneyStage.RETURNED and case.borders_crossed == 2


def test_someone_stuck_may_be_stuck_again_elsewhere() -> None:
    case, holder = taken_case()
    for step in (Step.DEPARTED, Step.STUCK, Step.STUCK):
        RECORD[step](case, holder, meta())
    assert case.stage is JourneyStage.STUCK


@pytest.mark.parametrize("stage", [JourneyStage.WAITING, JourneyStage.CANNOT_LEAVE])
def test_someone_who_has_not_set_off_may_only_set_off_or_stay(stage: JourneyStage) -> None:
    assert ALLOWED[stage] & ON_THE_WAY == frozenset()


def test_a_safe_arrival_never_follows_a_return_directly() -> None:
    case, holder = taken_case()
    for step in (Step.DEPARTED, Step.RETURNED):
        RECORD[step](case, holder, meta())
    assert refuses(case, holder, Step.ARRIVED_SAFE, 1)
