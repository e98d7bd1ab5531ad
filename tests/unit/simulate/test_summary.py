"""The coordinator's figures: percentiles, hours on shift per day, the rows they read."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from uuid import uuid4

from services.simulate.summary import lines, percentile, summarize
from services.simulate.world import CaseFile, Member, World


def member(*shifts: tuple[int, int | None]) -> Member:
    found = Member(id=uuid4(), name="Olena", roles=("volunteer",), time_zone="UTC",
                   languages=("uk",))
    found.shifts = list(shifts)
    return found


def test_percentiles_are_nearest_rank() -> None:
    waits = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]

    assert percentile(waits, 0.5) == 5
    assert percentile(waits, 0.9) == 9
    assert percentile([], 0.5) is None


def test_hours_on_shift_count_per_day_across_midnight() -> None:
    night_owl = member((20 * 60, 30 * 60), (44 * 60, None))

    assert night_owl.longest_day(until=48 * 60) == 10 * 60  # 20:00-06:00 is 4 h + 6 h


def test_a_volunteer_over_twelve_hours_in_one_day_is_counted() -> None:
    world = World(start=datetime(2026, 3, 1, tzinfo=UTC), rng=random.Random(1))
    long_day, short_day = member((60, 60 + 13 * 60)), member((60, 60 + 8 * 60))
    world.members = {m.id: m for m in (long_day, short_day)}
    case = CaseFile(id=uuid4(), person_id=uuid4(), region="Sumy", destination="Lviv",
                    urgent=True, household=2, mobility=False, medical=False,
                    languages=("uk",), requested=0, opened=True, outcome="evacuated")
    world.cases = {case.id: case}

    summary = summarize(world, seed=1, minutes=1440, speed_asked=1000, speed_reached=990)

    assert summary.volunteers == {"worked_shifts": 2, "over_12_hours": 1,
                                  "longest_day_hours": 13.0}
    assert summary.cases["evacuated"] == 1 and summary.cases["still_open"] == 0
    assert dict(lines(summary))["Volunteers over 12 hours"].startswith("1 of 2")
    assert summary.as_json()["volunteers"]["over_12_hours"] == 1
