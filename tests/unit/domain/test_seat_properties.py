"""Property-based: whatever sequence of holds, confirmations, releases, no-shows, lapses and
recalls happens on a transport, held + confirmed seats never exceed the seats offered, the
transport and the cases agree on every hold, a refused command leaves no trace, and the
histories replay exactly."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from domain_builders import (
    T0,
    fact_checker,
    meta,
    new_id,
    open_case,
    supervisor,
    transport,
    volunteer,
)
from domain_transcoding import round_trip
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.base import CoordinationError
from domain.case import Case
from domain.policies import HOLD_LAPSE, RESOURCE_RECALL
from domain.resource import Resource
from domain.roles import policy_actor
from domain.seats import confirm_seats, hold_seats, lapse_seats, release_seats
from domain.vocabulary import Accepts, HoldEnd
from domain.volunteer import Volunteer

ACTIONS = ("hold", "hold", "hold", "confirm", "release", "no_show", "lapse", "recall",
           "reopen", "offer")
households = st.fixed_dictionaries({
    "adults": st.integers(1, 3), "children_ages": st.lists(st.integers(0, 17), max_size=2),
    "pets": st.integers(0, 1), "mobility_needs": st.booleans()})
steps = st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(0, 4), st.integers(0, 40),
                           st.integers(1, 6)), min_size=5, max_size=40)


def state_of(*aggregates: Any) -> list[dict[str, Any]]:
    return [copy.deepcopy({k: v for k, v in vars(a).items() if k != "_pending_events"})
            for a in aggregates]


class SeatWorld:
    """One transport, five cases with their caseworkers, and a clock that only moves on."""

    def __init__(self, seats: int, accepts: set[Accepts],
                 answers: list[dict[str, Any]]) -> None:
        self.car = transport(seats=seats, accepts=accepts)
        self.cases: list[Case] = []
        self.holders: list[Volunteer] = []
        for a in answers:
            case, holder = open_case(**a), volunteer()
            case.take(volunteer=holder, meta=meta())
            self.cases.append(case)
            self.holders.append(holder)
        self.hold_of: dict[int, Any] = {}
        self.at = T0
        self.boss, self.checker = supervisor(), fact_checker()

    def run(self, action: str, pick: int, minutes: int, number: int) -> None:
        self.at += timedelta(minutes=minutes)
        holding = [i for i, c in enumerate(self.cases) if c.seat_holds]
        if action in ("confirm", "release", "no_show", "lapse") and holding:
            pick = holding[pick % len(holding)]  # mostly about a hold that exists
        case, holder = self.cases[pick], self.holders[pick]
        before = state_of(self.car, *self.cases)
        pending = [len(a.pending_events) for a in (self.car, *self.cases)]
        try:
            self._act(action, pick, case, holder, number)
        except CoordinationError:
            assert state_of(self.car, *self.cases) == before, action
            assert [len(a.pending_events) for a in (self.car, *self.cases)] == pending

    def _act(self, action: str, pick: int, case: Case, holder: Volunteer, number: int) -> None:
        hold_id = self.hold_of.get(pick) or new_id()
        car, at = self.car, self.at
        if action == "hold":
            hold_seats(case=case, transport=car, hold_id=hold_id, by=holder, meta=meta(at),
                       seats=min(number, case.household.seats))
            self.hold_of[pick] = hold_id
        elif action == "confirm":
            confirm_seats(case=case, transport=car, hold_id=hold_id, by=holder, meta=meta(at))
        elif action in ("release", "no_show"):
            why = HoldEnd.NO_SHOW if action == "no_show" else HoldEnd.RELEASED
            release_seats(case=case, transport=car, hold_id=hold_id, why=why, by=holder,
                          meta=meta(at))
        elif action == "lapse":
            lapse_seats(case=case, transport=car, hold_id=hold_id,
                        meta=meta(at, actor=policy_actor(HOLD_LAPSE)))
        elif action == "recall":
            self._recall()
        elif action == "reopen":  # the transport is back and checked again
            if car.status.value != "available":
                car.reopen(reason="safe again", by=self.boss, meta=meta(at))
            car.verify(by=self.checker, meta=meta(at))
        else:
            car.offer_seats(offer=_offer(number), by=holder, meta=meta(at))

    def _recall(self) -> None:
        """Marked unsafe, then what the recall policy does: every hold released."""
        self.car.mark_unsafe(reason="shelled", by=self.boss, meta=meta(self.at))
        recall = meta(self.at, actor=policy_actor(RESOURCE_RECALL))
        for hold in list(self.car.holds):
            case = next(c for c in self.cases if c.id == hold["case_id"])
            release_seats(case=case, transport=self.car, hold_id=hold["hold_id"],
                          why=HoldEnd.RECALLED, by=None, meta=recall)

    def check(self) -> None:
        count = self.car.seat_count
        assert count.held + count.confirmed <= (self.car.seats or 0)
        on_car = {h["hold_id"]: (h["case_id"], h["seats"], h["confirmed"], h["until"])
                  for h in self.car.holds}
        on_cases = {h["hold_id"]: (c.id, h["seats"], h["confirmed"], h["until"])
                    for c in self.cases for h in c.seat_holds}
        assert on_car == on_cases


def _offer(seats: int) -> Any:
    from domain_builders import offer

    return offer(seats=seats, accepts=tuple(Accepts))


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 6), st.sets(st.sampled_from(list(Accepts))) | st.just(set(Accepts)),
       st.lists(households, min_size=5, max_size=5), steps)
def test_seats_are_never_overbooked_and_both_sides_always_agree(
        seats: int, accepts: set[Accepts], answers: list[dict[str, Any]],
        actions: list[tuple[str, int, int, int]]) -> None:
    world = SeatWorld(seats, accepts, answers)
    for action in actions:
        world.run(*action)
        world.check()
    for aggregate in (world.car, *world.cases):
        assert_replays_exactly(aggregate)


def assert_replays_exactly(aggregate: Resource | Case) -> None:
    events = aggregate.collect_events()
    for history in (events, round_trip(events)):
        rebuilt = None
        for e in history:
            rebuilt = e.mutate(rebuilt)
        assert rebuilt is not None and vars(rebuilt) == vars(aggregate)
