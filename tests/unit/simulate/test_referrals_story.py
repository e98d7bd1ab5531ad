"""A referral in the simulated day: the person may withdraw consent after the partner
accepted, and the case may have changed hands (or gone back to the board) meanwhile."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from services.simulate.engine import Answer, Engine, Send, Story
from services.simulate.stories import referrals
from services.simulate.stories.common import Plot
from services.simulate.world import CaseFile, Member, World


def a_world() -> World:
    return World(start=datetime(2026, 3, 1, 12, tzinfo=UTC), rng=random.Random(1),
                 capabilities=frozenset({referrals.CONSENT}))


def holder(world: World) -> Member:
    found = Member(id=uuid4(), name="Taras", roles=("volunteer",), time_zone="UTC",
                   languages=("uk",), trained=True)
    found.started_shift(0)
    world.members[found.id] = found
    return found


def play_out(engine: Engine, story: Story, before: Callable[[str], None]) -> list[Any]:
    """Run the story to its end, every request answered 200; `before(kind)` runs before a
    command of that kind is answered. The commands' kinds, in order."""
    result: list[Any] = []
    kinds: list[Any] = []

    def wrapper() -> Story:
        result.append((yield from story))

    engine.spawn("story", wrapper())
    while not result:
        for request in engine.round():
            kind = request.step.command.kind if isinstance(request.step, Send) else "read"
            kinds.append(kind)
            before(kind)
            engine.answer(request, Answer(200, {}))
        wake = engine.next_wake()
        if not result and wake is not None and not engine.busy:
            engine.advance(wake)
    return kinds


def referrals_played(hand_back: bool) -> list[list[Any]]:
    """60 referrals (the person withdraws consent one time in ten), the case handed back
    to the board while the partner answers if `hand_back`; each one's commands."""
    kinds_seen = []
    for seed in range(60):
        world, engine = a_world(), Engine()
        world.partners.append(uuid4())
        case = CaseFile(id=uuid4(), person_id=uuid4(), region="Sumy", destination="Lviv",
                        urgent=True, household=3, mobility=False, medical=False,
                        languages=("uk",), requested=0, opened=True, position=41)
        case.assignee = holder(world)

        def handed_back(kind: str, case: CaseFile = case) -> None:
            if hand_back and kind == "partner_answer":  # handed back while it waited
                case.assignee = None

        kinds_seen.append(play_out(engine, referrals.refer(Plot(world, engine, "r", seed), case),
                                   handed_back))
    return kinds_seen


def test_the_person_withdraws_consent_through_the_volunteer_holding_the_case() -> None:
    played = referrals_played(hand_back=False)

    assert all("refer" in kinds for kinds in played)
    assert any("withdraw_consent" in kinds for kinds in played)


def test_nobody_withdraws_consent_for_a_case_gone_back_to_the_board() -> None:
    played = referrals_played(hand_back=True)

    assert all("refer" in kinds for kinds in played)
    assert not any("withdraw_consent" in kinds for kinds in played)
