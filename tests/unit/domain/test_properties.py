"""Property-based: random command sequences never break an invariant, and replay is exact."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from domain_builders import (
    OPERATOR,
    T0,
    banned,
    fact_checker,
    meta,
    new_id,
    open_case,
    reported,
    supervisor,
    suspended,
    verified,
    volunteer,
)
from domain_transcoding import round_trip
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.base import CoordinationError
from domain.journey import JourneyStage, Step, ensure_step_allowed, stage_after
from domain.resource import Resource
from domain.roles import Role, policy_actor
from domain.vocabulary import CaseOutcome, CaseStatus, ResourceKind, ResourceStatus
from domain.volunteer import TRAINING_MINUTES_REQUIRED, Volunteer
from domain.workload import hours_on_shift, hours_on_shift_on_day

Command = tuple[int, int, int, int]  # (action, pick, pick, minutes later)
commands = st.lists(st.tuples(st.integers(0, 99), st.integers(0, 9), st.integers(0, 9),
                              st.integers(0, 180)), max_size=45)
MOVES = {"Departed": Step.DEPARTED, "CheckpointReached": Step.CHECKPOINT_REACHED,
         "Stuck": Step.STUCK, "Returned": Step.RETURNED, "BorderCrossed": Step.BORDER_CROSSED,
         "ArrivedSafe": Step.ARRIVED_SAFE, "CannotLeave": Step.CANNOT_LEAVE}
ACTION_WEIGHTS = [3, 1, 1, 2, 2, 4, 2, 2, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1]
"""How often each CaseWorld action is drawn: journeys should get far."""
WORK_ON_OPEN_CASE = {"AdviceGiven", "TransportArranged", "NoteAdded", "CaseFlagged",
                     "CaseTaken", "CaseAssigned", "CaseReleased", *MOVES}


def state_of(aggregate: Any) -> dict[str, Any]:
    return copy.deepcopy({k: v for k, v in vars(aggregate).items() if k != "_pending_events"})


def attempt(aggregate: Any, act: Callable[[], None]) -> bool:
    """Run a command; a broken rule must leave no trace (guards run before events)."""
    before, pending = state_of(aggregate), len(aggregate.pending_events)
    try:
        act()
    except CoordinationError:
        assert state_of(aggregate) == before
        assert len(aggregate.pending_events) == pending
        return False
    return True


def assert_replays_exactly(aggregate: Any) -> None:
    events = aggregate.collect_events()
    for history in (events, round_trip(events)):
        rebuilt = None
        for e in history:
            rebuilt = e.mutate(rebuilt)
        assert rebuilt is not None and vars(rebuilt) == vars(aggregate)


class CaseWorld:
    """A case with volunteers and resources in every condition."""

    def __init__(self) -> None:
        self.cleared = [volunteer(), volunteer(), supervisor()]
        self.others = [volunteer(cleared=False), suspended(volunteer()), banned(volunteer()),
                       volunteer(Role.PSYCHOLOGIST, cleared=False),
                       volunteer(Role.FACT_CHECKER, cleared=False)]
        self.people = self.cleared + self.others
        shelter_full = verified(capacity=1)
        shelter_full.update_occupancy(occupancy=1, by=self.cleared[0], meta=meta())
        unsafe = verified(ResourceKind.TRANSPORT)
        unsafe.mark_unsafe(reason="shelled", by=self.cleared[0], meta=meta())
        self.resources = [verified(), verified(ResourceKind.ROUTE),
                          verified(ResourceKind.TRANSPORT), reported(ResourceKind.TRANSPORT),
                          shelter_full, unsafe, verified(ResourceKind.CONTACT)]
        self.case = open_case(safe_now=False)
        self.flags = [new_id(), new_id()]
        self.now = T0

    def run(self, command: Command) -> None:
        action, a, b, minutes = command
        self.now += timedelta(minutes=minutes)
        actions = self.actions(self.actor(a), self.people[b % len(self.people)], a, b)
        weighted = [i for i, weight in enumerate(ACTION_WEIGHTS) for _ in range(weight)]
        attempt(self.case, actions[weighted[action % len(weighted)]])

    def actor(self, pick: int) -> Volunteer:
        """Mostly the assignee (so journeys get far), otherwise anyone."""
        holder = self.case.assignee_id
        if pick < 6 and holder is not None:
            return next(v for v in self.people if v.id == holder)
        return self.people[pick % len(self.people)]

    def actions(self, who: Volunteer, other: Volunteer, a: int,
                b: int) -> list[Callable[[], None]]:
        case, m = self.case, meta(self.now)
        picks = [self.resources[(a + i) % len(self.resources)] for i in range(b % 3)]
        boss = self.cleared[2]
        policy = meta(self.now, actor=policy_actor("test"))
        return [
            lambda: case.take(volunteer=who, meta=m),
            lambda: case.assign(volunteer=who, by=other if b % 2 else boss, meta=m),
            lambda: case.release(reason="r", by=None if a % 3 == 0 else who,
                                 meta=policy if a % 3 == 0 else m),
            lambda: case.give_advice(text="advice", resources=picks, by=who, meta=m),
            lambda: case.arrange_transport(resources=picks, description="bus", by=who,
                                           meta=m),
            lambda: case.record_departure(by=who, meta=m),
            lambda: case.record_checkpoint(checkpoint="c", by=who, meta=m),
            lambda: case.record_stuck(place="p", reason="r", by=who, meta=m),
            lambda: case.record_return(reason="r", by=who, meta=m),
            lambda: case.record_border_crossing(crossing="x", by=who, meta=m),
            lambda: case.record_arrival(place="p", by=who, meta=m),
            lambda: case.record_cannot_leave(reason="r", by=who, meta=m),
            lambda: case.add_note(text="n", by=who, meta=m),
            lambda: case.flag(flag_id=self.flags[a % 2], reason="r", by=None, meta=policy),
            lambda: case.clear_flag(flag_id=self.flags[b % 2], reason="r", by=who, meta=m),
            lambda: case.form_support_group(psychologist=other, members=[who], by=boss,
                                            meta=m),
            lambda: case.add_support_member(member=other, by=who, meta=m),
            lambda: case.dissolve_support_group(reason="r", by=who, meta=m),
            lambda: case.close(outcome=list(CaseOutcome)[b % 4], by=who, meta=m),
            lambda: case.reopen(reason="r", by=who, meta=m),
            lambda: case.record_follow_up(text="f", by=who, meta=m),
            lambda: case.erase_personal_data(subject_id=case.person_id, by=OPERATOR, meta=m),
        ]

    def check_invariants(self) -> None:
        assert len(self.actions(self.people[0], self.people[0], 0, 0)) == len(ACTION_WEIGHTS)
        case = self.case
        cleared_ids = {v.id for v in self.cleared}
        if case.status is CaseStatus.ASSIGNED:
            assert case.assignee_id in cleared_ids
        if case.status is CaseStatus.UNASSIGNED:
            assert case.assignee_id is None
        assert (case.status is CaseStatus.CLOSED) == (case.outcome is not None)
        if case.status is CaseStatus.CLOSED:
            assert case.resource_ids == []
        assert len(set(case.support_member_ids)) == len(case.support_member_ids)
        assert case.psychologist_id not in case.support_member_ids
        if case.outcome is CaseOutcome.EVACUATED:
            assert case.stage is JourneyStage.ARRIVED
        if case.outcome in (CaseOutcome.EVACUATED, CaseOutcome.STAYS):
            assert case.flags == [], "closed as safe over a raised flag"

    def check_history(self) -> None:
        closed, stage = False, JourneyStage.WAITING
        by_id = {r.id: r for r in self.resources}
        for e in self.case.pending_events:
            name = type(e).__name__
            assert not (closed and name in WORK_ON_OPEN_CASE), f"{name} on a closed case"
            closed = {"CaseClosed": True, "CaseReopened": False}.get(name, closed)
            if name in MOVES:
                ensure_step_allowed(stage, MOVES[name])
                stage = stage_after(MOVES[name])
            if name in ("CaseTaken", "CaseAssigned"):
                assert e.volunteer_id in {v.id for v in self.cleared}
            for resource_id in getattr(e, "resource_ids", []):
                assert by_id[resource_id].is_usable(e.meta.at)


@settings(max_examples=200, deadline=None)
@given(commands)
def test_random_case_commands_keep_every_invariant_and_replay_exactly(
        script: list[Command]) -> None:
    world = CaseWorld()
    for command in script:
        world.run(command)
        world.check_invariants()
    world.check_history()
    assert_replays_exactly(world.case)


class ResourceWorld:
    """A shelter, its reporter, fact-checkers and others acting on it."""

    def __init__(self) -> None:
        self.reporter = fact_checker()
        self.people = [self.reporter, fact_checker(), fact_checker(), supervisor(),
                       volunteer(), banned(fact_checker())]
        self.resource = Resource.report(
            resource_id=new_id(), kind=ResourceKind.SHELTER, region="Lviv oblast",
            place="Lviv", details="gym", reporter=self.reporter, capacity=5, meta=meta())
        self.now = T0
        self.withdrawn_as: str | None = None

    def run(self, command: Command) -> None:
        action, a, b, minutes = command
        self.now += timedelta(minutes=minutes * 3)
        who = self.people[a % len(self.people)]
        r, m = self.resource, meta(self.now)
        actions: list[Callable[[], None]] = [
            lambda: r.verify(by=who, meta=m),
            lambda: r.reject(reason="x", by=who, meta=m),
            lambda: r.expire(meta=m),
            lambda: r.mark_full(reason="x", by=who, meta=m),
            lambda: r.mark_unsafe(reason="x", by=who, meta=m),
            lambda: r.close(reason="x", by=who, meta=m),
            lambda: r.reopen(reason="x", by=who, meta=m),
            lambda: r.update_occupancy(occupancy=b - 2, by=who, meta=m),
            lambda: r.retract(reason="x", by=None if b % 2 else who,
                              meta=meta(self.now, actor=policy_actor("t")) if b % 2 else m),
            lambda: r.destroy(reason="x", by=who, meta=m),
        ]
        if b < 8 and action % len(actions) >= 8:  # withdrawal is final: keep it rare
            return
        attempt(r, actions[action % len(actions)])

    def check_invariants(self) -> None:
        r = self.resource
        assert r.capacity is not None and 0 <= r.occupancy <= r.capacity
        assert r.verified_by != self.reporter.id
        if self.withdrawn_as is not None:
            assert r.status.value == self.withdrawn_as
        elif r.is_withdrawn:
            self.withdrawn_as = r.status.value
        for at in (self.now, self.now + timedelta(hours=3)):
            if r.is_usable(at):
                assert r.status is ResourceStatus.AVAILABLE and not r.is_shelter_full
                assert r.expires_at is not None and at < r.expires_at


@settings(max_examples=200, deadline=None)
@given(commands)
def test_random_resource_commands_keep_every_invariant_and_replay_exactly(
        script: list[Command]) -> None:
    world = ResourceWorld()
    for command in script:
        world.run(command)
        world.check_invariants()
    assert_replays_exactly(world.resource)


def _volunteer_actions(v: Volunteer, boss: Volunteer, root: Volunteer, now: datetime,
                       a: int) -> list[Callable[[], None]]:
    m = meta(now)
    return [
        lambda: v.log_training(minutes=30 + a * 7, topic="t", by=root.authority(None), meta=m),
        lambda: v.start_shift(meta=m),
        lambda: v.end_shift(meta=m),
        lambda: v.suspend(reason="x", by=boss, meta=m),
        lambda: v.ban(reason="x", by=boss, meta=m),
        lambda: v.reinstate(reason="x", by=boss, meta=m),
        lambda: v.grant_role(role=list(Role)[a % 6], by=root, meta=m),
        lambda: v.revoke_role(role=list(Role)[a % 6], by=root, meta=m),
    ]


@settings(max_examples=200, deadline=None)
@given(commands)
def test_random_volunteer_commands_keep_every_invariant_and_replay_exactly(
        script: list[Command]) -> None:
    v, boss, root = volunteer(cleared=False), supervisor(), volunteer(Role.ADMIN)
    now = T0
    for action, a, _, minutes in script:
        now += timedelta(minutes=minutes * 5)
        actions = _volunteer_actions(v, boss, root, now, a)
        attempt(v, actions[action % len(actions)])
        assert v.cleared == (v.training_minutes >= TRAINING_MINUTES_REQUIRED)
    events = [type(e).__name__ for e in v.pending_events]
    assert events.count("VolunteerCleared") == (1 if v.cleared else 0)
    spans = [(s["started_at"], s["ended_at"]) for s in v.shifts]
    assert all(start <= end for start, end in spans)
    assert all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1))
    assert_replays_exactly(v)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60 * 30), st.integers(0, 60 * 30)), max_size=8),
       st.integers(-12, 14))
def test_hours_per_day_add_up_to_the_shifts_and_never_exceed_a_day(
        gaps_and_lengths: list[tuple[int, int]], offset_hours: int) -> None:
    from datetime import timezone

    v, now = volunteer(), T0
    for gap, length in gaps_and_lengths:
        now += timedelta(minutes=gap)
        v.start_shift(meta=meta(now))
        now += timedelta(minutes=length)
        v.end_shift(meta=meta(now))
    tz = timezone(timedelta(hours=offset_hours))
    days = [date(2022, 2, 27) + timedelta(days=i) for i in range(25)]  # covers 8 x (30 h + 30 h)
    per_day = [hours_on_shift_on_day(v, d, tz) for d in days]
    assert all(0 <= h <= 24 for h in per_day)
    total = sum((s["ended_at"] - s["started_at"] for s in v.shifts),
                timedelta()) / timedelta(hours=1)
    assert abs(sum(per_day) - total) < 1e-6
    assert abs(hours_on_shift(v, T0 - timedelta(days=1), now + timedelta(days=1)) - total) < 1e-6
