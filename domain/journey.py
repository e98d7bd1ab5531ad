"""The journey of a case as a small state machine: which movement step may follow which."""

from __future__ import annotations

from enum import StrEnum

from domain.errors import StepOutOfOrder


class JourneyStage(StrEnum):
    """Where the person is on the way out."""

    WAITING = "waiting"
    EN_ROUTE = "en_route"
    STUCK = "stuck"
    RETURNED = "returned"
    CANNOT_LEAVE = "cannot_leave"
    ARRIVED = "arrived"


class Step(StrEnum):
    """A movement step; each is recorded by its own event (named in EVENT_OF)."""

    DEPARTED = "departed"
    CHECKPOINT_REACHED = "checkpoint_reached"
    STUCK = "stuck"
    RETURNED = "returned"
    BORDER_CROSSED = "border_crossed"
    ARRIVED_SAFE = "arrived_safe"
    CANNOT_LEAVE = "cannot_leave"


S, J = Step, JourneyStage

ALLOWED: dict[JourneyStage, frozenset[Step]] = {
    J.WAITING: frozenset({S.DEPARTED, S.CANNOT_LEAVE}),
    J.EN_ROUTE: frozenset({S.CHECKPOINT_REACHED, S.STUCK, S.RETURNED, S.BORDER_CROSSED,
                           S.ARRIVED_SAFE}),
    J.STUCK: frozenset({S.DEPARTED, S.CHECKPOINT_REACHED, S.RETURNED, S.BORDER_CROSSED,
                        S.ARRIVED_SAFE, S.CANNOT_LEAVE}),
    J.RETURNED: frozenset({S.DEPARTED, S.CANNOT_LEAVE}),
    J.CANNOT_LEAVE: frozenset({S.DEPARTED}),
    J.ARRIVED: frozenset(),
}
"""Steps allowed from each stage; e.g. ArrivedSafe or BorderCrossed need a departure first."""

STAGE_AFTER: dict[Step, JourneyStage] = {
    S.DEPARTED: J.EN_ROUTE,
    S.CHECKPOINT_REACHED: J.EN_ROUTE,
    S.BORDER_CROSSED: J.EN_ROUTE,
    S.STUCK: J.STUCK,
    S.RETURNED: J.RETURNED,
    S.ARRIVED_SAFE: J.ARRIVED,
    S.CANNOT_LEAVE: J.CANNOT_LEAVE,
}

EVENT_OF: dict[Step, str] = {
    S.DEPARTED: "Departed",
    S.CHECKPOINT_REACHED: "CheckpointReached",
    S.STUCK: "Stuck",
    S.RETURNED: "Returned",
    S.BORDER_CROSSED: "BorderCrossed",
    S.ARRIVED_SAFE: "ArrivedSafe",
    S.CANNOT_LEAVE: "CannotLeave",
}


def ensure_step_allowed(stage: JourneyStage, step: Step) -> None:
    """Raise StepOutOfOrder unless the step may follow the stage."""
    if step not in ALLOWED[stage]:
        raise StepOutOfOrder(EVENT_OF[step], stage.value)


def stage_after(step: Step) -> JourneyStage:
    """The stage a journey is in once the step happened."""
    return STAGE_AFTER[step]
