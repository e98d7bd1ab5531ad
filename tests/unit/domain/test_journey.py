"""Which movement step may follow which stage of the journey."""

from __future__ import annotations

import pytest

from domain.errors import StepOutOfOrder
from domain.journey import ALLOWED, JourneyStage, Step, ensure_step_allowed, stage_after


@pytest.mark.parametrize(
    ("stage", "step"),
    [
        (JourneyStage.WAITING, Step.ARRIVED_SAFE),
        (JourneyStage.WAITING, Step.BORDER_CROSSED),
        (JourneyStage.WAITING, Step.CHECKPOINT_REACHED),
        (JourneyStage.WAITING, Step.STUCK),
        (JourneyStage.WAITING, Step.RETURNED),
        (JourneyStage.EN_ROUTE, Step.DEPARTED),
        (JourneyStage.EN_ROUTE, Step.CANNOT_LEAVE),
        (JourneyStage.RETURNED, Step.ARRIVED_SAFE),
        (JourneyStage.CANNOT_LEAVE, Step.BORDER_CROSSED),
        (JourneyStage.ARRIVED, Step.DEPARTED),
    ],
)
def test_a_step_out_of_order_is_rejected(stage: JourneyStage, step: Step) -> None:
    with pytest.raises(StepOutOfOrder) as raised:
        ensure_step_allowed(stage, step)
    assert raised.value.stage == stage.value


def test_a_full_journey_is_in_order() -> None:
    stage = JourneyStage.WAITING
    for step in (Step.DEPARTED, Step.CHECKPOINT_REACHED, Step.STUCK, Step.DEPARTED,
                 Step.BORDER_CROSSED, Step.CHECKPOINT_REACHED, Step.ARRIVED_SAFE):
        ensure_step_allowed(stage, step)
        stage = stage_after(step)
    assert stage is JourneyStage.ARRIVED


def test_someone_who_cannot_leave_may_still_depart_later() -> None:
    ensure_step_allowed(JourneyStage.CANNOT_LEAVE, Step.DEPARTED)
    assert stage_after(Step.CANNOT_LEAVE) is JourneyStage.CANNOT_LEAVE


def test_nothing_moves_after_arrival() -> None:
    assert ALLOWED[JourneyStage.ARRIVED] == frozenset()


def test_every_stage_has_a_rule_and_every_step_leads_somewhere() -> None:
    assert set(ALLOWED) == set(JourneyStage)
    assert {stage_after(s) for s in Step} <= set(JourneyStage)
