"""The ranking behind a case's suggestions, pure over read-model rows: who is left out and
why, who comes first and why, which resources fit the household now and why the near misses
do not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.transport import Household
from projections.views.suggestions import (
    CaseNeeds,
    Scored,
    add_scored,
    prerank,
    rank_resources,
    rank_volunteers,
    settled,
    top,
)

NOW = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)  # 12:00 in Kyiv, 05:00 in New York
FAMILY = CaseNeeds(case_id=str(uuid4()), assignee_id=None, region_key="kharkiv",
                   destination_key="lviv", languages=frozenset({"uk"}),
                   household=Household(adults=1, children=2, pets=1), needs=frozenset())


def volunteer(**row: Any) -> dict[str, Any]:
    return {"volunteer_id": str(uuid4()), "languages": "uk,en", "time_zone": "Europe/Kyiv",
            "cleared": True, "standing": "active",
            "on_shift_since": NOW - timedelta(hours=3), **row}


def test_only_cleared_active_volunteers_on_shift_not_past_a_long_day_are_suggested() -> None:
    tired, holder = volunteer(time_zone="Asia/Tokyo"), volunteer()  # 19:00 there
    rows = [volunteer(cleared=False), volunteer(standing="suspended"),
            volunteer(standing="banned"), volunteer(on_shift_since=None), tired, holder]
    spans = {tired["volunteer_id"]: [(NOW - timedelta(hours=13), NOW)]}
    case = CaseNeeds(**{**FAMILY.__dict__, "assignee_id": holder["volunteer_id"]})

    chosen, left_out = rank_volunteers(case, rows, spans, {}, NOW, limit=5)

    assert chosen == []
    assert left_out == {"not cleared": 1, "suspended": 1, "banned": 1, "off shift": 1,
                        "over 12 h today": 1, "holds the case already": 1}


def test_a_volunteer_speaking_the_language_awake_and_least_loaded_comes_first() -> None:
    best = volunteer()
    busy = volunteer()
    asleep = volunteer(time_zone="America/New_York")
    foreign = volunteer(languages="pl")
    loads = {busy["volunteer_id"]: (4, 2), best["volunteer_id"]: (1, 0)}
    spans = {best["volunteer_id"]: [(NOW - timedelta(hours=3), NOW)]}

    chosen, _ = rank_volunteers(FAMILY, [foreign, asleep, busy, best], spans, loads, NOW,
                                limit=3)

    assert [str(v.volunteer_id) for v in chosen] == [best["volunteer_id"], busy["volunteer_id"],
                                                     asleep["volunteer_id"]]
    assert chosen[0].reasons == ["speaks uk", "daytime in Europe/Kyiv (12:00)",
                                 "0 urgent cases", "1 open case", "on shift 3 h, 3 h today"]
    assert chosen[1].reasons[2] == "2 urgent cases"
    assert chosen[2].reasons[1] == "night in America/New_York (05:00)"


def resource(**row: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "resource_id": str(uuid4()), "kind": "transport", "region": "Kharkiv oblast",
        "region_key": "kharkiv", "place": "station", "status": "available",
        "verification": "verified", "expires_at": NOW + timedelta(hours=5), "capacity": None,
        "occupancy": 0, "seats": 6, "seats_held": 0, "seats_confirmed": 0,
        "accepts": "children,pets", "departs_until": None, "origin": "Kharkiv",
        "origin_key": "kharkiv", "destination": "Lviv", "destination_key": "lviv",
        "window_zone": None}
    base.update(row)
    return base


def test_a_transport_on_the_way_with_room_that_takes_the_family_fits_and_says_why() -> None:
    car = resource()

    fits, near = rank_resources(FAMILY, [car], NOW, limit=5, near_limit=5)

    assert near == []
    [fit] = fits
    assert fit.reasons == ["on the way: Kharkiv to Lviv", "verified, 5 h left",
                           "takes children, pets", "6 seats free for 3"]
    assert fit.seats_free == 6


def test_near_misses_say_why_they_were_left_out() -> None:
    full = resource(seats_held=4, seats_confirmed=2)
    small = resource(seats_held=4)
    no_pets = resource(accepts="children")
    expired = resource(expires_at=NOW - timedelta(minutes=1))
    left = resource(departs_until=NOW - timedelta(hours=1))
    closed = resource(kind="corridor", seats=None, accepts="", window_zone="Europe/Kyiv",
                      window_opens_at=None, window_closes_at=None, window_daily_from="16:00",
                      window_daily_until="18:00", window_closed_within=False)
    far = resource(region_key="odesa", origin_key="odesa")

    fits, near = rank_resources(FAMILY, [full, small, no_pets, expired, left, closed, far],
                                NOW, limit=5, near_limit=10)

    assert fits == []
    why = {str(n.resource_id): n.left_out_because for n in near}
    assert why == {full["resource_id"]: ["full"],
                   small["resource_id"]: ["2 seats free, 3 needed"],
                   no_pets["resource_id"]: ["no pets"], expired["resource_id"]: ["expired"],
                   left["resource_id"]: ["left 01 Mar 09:00 UTC"],
                   closed["resource_id"]: ["window closed 18:00, opens 01 Mar 16:00"]}


def test_a_shelter_at_the_destination_fits_a_transport_leaving_from_there_is_not_near() -> None:
    shelter = resource(kind="shelter", region="Lviv", region_key="lviv", seats=None,
                       capacity=40, occupancy=10, origin=None, origin_key=None,
                       destination=None, destination_key=None)
    back = resource(region="Lviv", region_key="lviv", origin="Lviv", origin_key="lviv",
                    destination="Kharkiv", destination_key="kharkiv")

    fits, near = rank_resources(FAMILY, [shelter, back], NOW, limit=5, near_limit=5)

    assert [(str(f.resource_id), f.reasons[0]) for f in fits] == [
        (shelter["resource_id"], "at the destination, Lviv")]
    assert near == []


people = st.lists(st.tuples(st.sampled_from(["uk", "pl", "uk,en", "ru"]),
                            st.sampled_from(["Europe/Kyiv", "America/New_York", "Asia/Tokyo"]),
                            st.integers(0, 12), st.integers(0, 9), st.floats(0.1, 11.5)),
                  max_size=30)


@settings(max_examples=300, deadline=None)
@given(people, st.integers(1, 6))
def test_reading_loads_tier_by_tier_gives_the_same_top_as_reading_everyones(
        drawn: list[tuple[str, str, int, int, float]], limit: int) -> None:
    rows = [volunteer(languages=langs, time_zone=tz, on_shift_since=NOW - timedelta(hours=h))
            for langs, tz, _, _, h in drawn]
    loads = {r["volunteer_id"]: (active + urgent, urgent)
             for r, (_, _, active, urgent, _) in zip(rows, drawn, strict=True)}
    spans = {r["volunteer_id"]: [(r["on_shift_since"], NOW)] for r in rows}
    everyone, _ = rank_volunteers(FAMILY, rows, spans, loads, NOW, limit)

    groups, _ = prerank(FAMILY, rows, spans, NOW)
    scored: list[Scored] = []
    for index, group in enumerate(groups):
        add_scored(scored, group, {c.volunteer_id: loads[c.volunteer_id] for c in group})
        if settled(scored, limit, groups[index + 1][0].tier if index + 1 < len(groups)
                   else None):
            break

    assert top(FAMILY, scored, NOW, limit) == everyone
