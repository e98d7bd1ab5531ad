"""The journey of a case as a small state machine: which movement step may follow which.

ALLOWED below is the one table of the journey's rules, a row per stage with its reason.
Three things hold for every walk through it (tests/unit/domain/test_journey_table.py):
- nothing happens on the way (checkpoint, stuck, return, crossing, arrival) before the
  person has set off: `waiting` and `cannot_leave` lead only to a departure (or staying);
- nothing moves after a safe arrival: what follows is kept in touch by follow-ups;
- the stage after a step depends on the step alone (STAGE_AFTER), so the case board reads
  the stage from the last movement event, and replaying a history never consults ALLOWED
  (it is a guard of the commands only): changing a row changes what may be recorded next,
  never how recorded journeys replay.
"""

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
    # Not set off yet: they set off, or cannot leave. Nothing happens on a way not yet
    # taken; someone held up before setting off "cannot leave", which a departure undoes.
    J.WAITING: frozenset({S.DEPARTED, S.CANNOT_LEAVE}),
    # On the move: checkpoints and border crossings follow one another as often as the way
    # has them (several crossings, crossing back); they may be stuck, turn back or arrive.
    # Not a second departure (they are under way) and not "cannot leave" (they have left:
    # halted is stuck, gone back is returned, and from either "cannot leave" may follow).
    J.EN_ROUTE: frozenset({S.CHECKPOINT_REACHED, S.BORDER_CROSSED, S.STUCK, S.RETURNED,
                           S.ARRIVED_SAFE}),
    # Halted on the way (a queue at the border, a blown bridge, the village they fell back
    # to): anything may follow. Getting through is recorded by the next movement itself
    # (or by setting off again); stuck again is a new place or reason; they may turn back,
    # arrive, or be found unable to leave, and the case then keeps them safe there.
    J.STUCK: frozenset(Step),
    # Turned back: the way back passes checkpoints and crosses back over borders; they may
    # be stuck again where they went back to (the village), leave again, or stay for good.
    # Not a second return (they are going back already), and not a safe arrival straight
    # after turning back: that is the likeliest slip of a finger, and a false "arrived safe"
    # lets the case close as evacuated while the person is still in danger.
    J.RETURNED: frozenset({S.DEPARTED, S.CHECKPOINT_REACHED, S.BORDER_CROSSED, S.STUCK,
                           S.CANNOT_LEAVE}),
    # Cannot leave, kept safe where they are: only setting off after all changes that. Like
    # `waiting`, nothing happens on a way not taken (to be stuck they must set off first).
    J.CANNOT_LEAVE: frozenset({S.DEPARTED}),
    # Arrived safe: the journey is over and the outcome "evacuated" rests on it. Onward
    # travel and life after arrival are follow-ups (allowed only now, even when closed);
    # a new danger there is a new case, so the arrival stays true in the record.
    J.ARRIVED: frozenset(),
}
"""Which steps may follow each stage; any other step is refused with StepOutOfOrder."""

STAGE_AFTER: dict[Step, JourneyStage] = {
    S.DEPARTED: J.EN_ROUTE,
    S.CHECKPOINT_REACHED: J.EN_ROUTE,
    S.BORDER_CROSSED: J.EN_ROUTE,
    S.STUCK: J.STUCK,
    S.RETURNED: J.RETURNED,
    S.ARRIVED_SAFE: J.ARRIVED,
    S.CANNOT_LEAVE: J.CANNOT_LEAVE,
}
"""The stage a step leaves the journey in, whatever stage it followed."""

EVENT_OF: dict[Step, str] = {
    S.DEPARTED: "Departed",
    S.CHECKPOINT_REACHED: "CheckpointReached",
    S.STUCK: "Stuck",
    S.RETURNED: "Returned",
    S.BORDER_CROSSED: "BorderCrossed",
    S.ARRIVED_SAFE: "ArrivedSafe",
    S.CANNOT_LEAVE: "CannotLeave",
}

STAGE_AFTER_EVENT: dict[str, JourneyStage] = {EVENT_OF[s]: STAGE_AFTER[s] for s in Step}
"""The stage after each movement event, by event name (what read models see)."""


def ensure_step_allowed(stage: JourneyStage, step: Step) -> None:
    """Raise StepOutOfOrder unless the step may follow the stage."""
    if step not in ALLOWED[stage]:
        raise StepOutOfOrder(EVENT_OF[step], stage.value)


def stage_after(step: Step) -> JourneyStage:
    """The stage a journey is in once the step happened."""
    return STAGE_AFTER[step]
