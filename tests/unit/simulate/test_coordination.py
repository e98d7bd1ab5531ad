"""Where the server suggests who should take a case and which transport fits, the network
follows the suggestions; where it has opening windows, corridors are open by day and one
closes after shelling."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from fake_server import AcceptingServer

from services.simulate.day import Day, play
from services.simulate.engine import Answer, Engine, Read, Story
from services.simulate.stories.casework import suggested_volunteer
from services.simulate.stories.cast import Scenario
from services.simulate.stories.common import Plot
from services.simulate.stories.coordination import DAYLIGHT, SUGGESTIONS, WINDOWS
from services.simulate.stories.journey import suggested_transports
from services.simulate.world import CaseFile, Member, ResourceFile, World


def network(*capabilities: str) -> tuple[World, Engine]:
    world = World(start=datetime(2026, 3, 1, 12, tzinfo=UTC), rng=random.Random(1),
                  capabilities=frozenset(capabilities))
    return world, Engine()


def volunteer(world: World) -> Member:
    found = Member(id=uuid4(), name="Taras", roles=("volunteer",), time_zone="UTC",
                   languages=("uk",), trained=True)
    found.started_shift(0)
    world.members[found.id] = found
    world.working[found.id] = found
    return found


def a_case() -> CaseFile:
    return CaseFile(id=uuid4(), person_id=uuid4(), region="Sumy", destination="Lviv",
                    urgent=True, household=3, mobility=False, medical=False,
                    languages=("uk",), requested=0, opened=True, position=41)


def answered(engine: Engine, story: Story, body: dict[str, Any]) -> tuple[Read, Any]:
    """Run the story until it reads, answer the read with `body`; what it asked and returned."""
    result: list[Any] = []

    def wrapper() -> Story:
        result.append((yield from story))

    engine.spawn("story", wrapper())
    [request] = engine.round()
    assert isinstance(request.step, Read)
    engine.answer(request, Answer(200, body))
    engine.round()
    return request.step, result[0]


def test_a_supervisor_assigns_the_first_suggested_volunteer_who_can_take_the_case() -> None:
    world, engine = network(SUGGESTIONS)
    first_in_notes, suggested = volunteer(world), volunteer(world)
    supervisor = volunteer(world)
    case = a_case()

    asked, chosen = answered(engine, suggested_volunteer(Plot(world, engine, "t", 1), case,
                                                         supervisor),
                             {"volunteers": [{"volunteer_id": str(uuid4())},
                                             {"volunteer_id": str(suggested.id)}]})

    assert chosen is suggested and chosen is not first_in_notes
    assert asked.path == f"/cases/{case.id}/suggestions"
    assert asked.params["min_position"] == "41"  # as of the case's last command


def test_without_suggestions_on_the_server_nothing_is_read() -> None:
    world, engine = network()
    supervisor = volunteer(world)
    result: list[Any] = []

    def story() -> Story:
        result.append((yield from suggested_volunteer(Plot(world, engine, "t", 1), a_case(),
                                                      supervisor)))

    engine.spawn("story", story())

    assert engine.round() == [] and result == [None]


def test_the_transports_suggested_for_the_household_come_first() -> None:
    world, engine = network(SUGGESTIONS)
    case = a_case()
    case.assignee = volunteer(world)
    bus = ResourceFile(id=uuid4(), kind="transport", region="Sumy", reporter=case.assignee)
    world.resources[bus.id] = bus

    asked, fitting = answered(engine, suggested_transports(Plot(world, engine, "t", 1), case),
                              {"resources": [{"resource_id": str(bus.id)}]})

    assert fitting == [bus]
    assert asked.params["kind"] == "transport"


def test_where_the_server_has_windows_corridors_are_open_by_day_and_one_closes_after_shelling(
        ) -> None:
    server = AcceptingServer(paths=(WINDOWS,))
    day = Day(Scenario(seed=3, shellings_per_day=12.0), hours=24.0, speed=1e9)

    asyncio.run(play(day, server, now=lambda: datetime(2026, 3, 2, 4, 0, tzinfo=UTC)))

    reports = [s.command.body for s in server.sent
               if getattr(s, "command", None) and s.command.path == "/resources/report"]
    corridors = [b for b in reports if b["kind"] == "corridor"]
    assert corridors and all(b["window"] == DAYLIGHT for b in corridors)
    windows = [s.command.body["window"] for s in server.sent
               if getattr(s, "command", None) and s.command.path == WINDOWS]
    assert any("closes_at" in w for w in windows)  # closed after shelling
    assert any(w == DAYLIGHT for w in windows)  # and open by day again later
