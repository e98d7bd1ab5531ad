"""The domain's rules that suggestions reuse: who may take casework (the aggregate's own rule),
daytime on a volunteer's clock, and one place written several ways."""

from __future__ import annotations

from datetime import datetime

import pytest
from domain_builders import banned, suspended, volunteer

from domain.base import CoordinationError
from domain.places import place_key
from domain.volunteer import Volunteer, casework_blocker
from domain.workload import is_daytime


@pytest.mark.parametrize(("make", "blocker"), [
    (lambda: volunteer(), None), (lambda: volunteer(cleared=False), "not cleared"),
    (lambda: suspended(volunteer()), "suspended"), (lambda: banned(volunteer()), "banned")])
def test_the_read_models_rule_on_casework_is_the_aggregates(make: object,
                                                            blocker: str | None) -> None:
    person: Volunteer = make()  # type: ignore[operator]

    assert casework_blocker(person.standing.value, person.cleared) == blocker
    if blocker is None:
        person.ensure_cleared_for_casework()
    else:
        with pytest.raises(CoordinationError):
            person.ensure_cleared_for_casework()


@pytest.mark.parametrize(("hour", "day"), [(6, False), (7, True), (21, True), (22, False),
                                          (3, False)])
def test_daytime_is_seven_to_ten_on_the_volunteers_own_clock(hour: int, day: bool) -> None:
    assert is_daytime(datetime(2024, 3, 1, hour, 30)) is day


@pytest.mark.parametrize(("one", "other"), [("Kharkiv oblast", "kharkiv"),
                                            ("Zaporizhzhia Oblast", "ZAPORIZHZHIA"),
                                            ("м. Харків", "Харків"), ("Kyiv city", "Kyiv")])
def test_one_place_written_two_ways_has_one_key(one: str, other: str) -> None:
    assert place_key(one) == place_key(other) != ""


def test_different_places_keep_different_keys() -> None:
    assert place_key("Nova Kakhovka") != place_key("Nova Odesa")
