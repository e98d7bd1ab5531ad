"""Seats on transport, where the server offers them (issue 22: /cases/hold-seats): transports
are reported with their seats and what they take, a volunteer holds seats for the household
when arranging transport, the person confirms them before setting off (or does not come),
and a supervisor offers another run when a transport fills up."""

from __future__ import annotations

from typing import Any

from services.simulate.commands import new_id
from services.simulate.engine import sleep
from services.simulate.stories.common import Plot, Steps
from services.simulate.world import CaseFile, Member, ResourceFile, World

OFFERS = {"minibus, 14 seats, takes pets": (14, ("children", "pets", "luggage")),
          "evacuation train, carriage 7": (60, ("children", "pets", "mobility", "luggage")),
          "private car, 3 seats": (3, ("children",)),
          "church bus, 40 seats, wheelchair ramp": (40, ("children", "mobility", "luggage"))}
"""A transport's seats and what it takes besides adults, by the details it is reported with."""
HOLD_MINUTES = 45
NO_SHOW = 0.04


def offer(world: World, resource: ResourceFile, details: str) -> dict[str, Any]:
    """The `transport` field of a report (nothing when the server has no seats)."""
    if resource.kind != "transport" or not world.can("/cases/hold-seats"):
        return {}
    seats, accepts = OFFERS.get(details, (8, ("children",)))
    resource.seats, resource.accepts = seats, frozenset(accepts)
    return {"transport": {"seats": seats, "accepts": list(accepts), "origin": resource.region}}


def fits(resource: ResourceFile, case: CaseFile) -> bool:
    """The transport takes everyone the household brings and has room for them (as far as
    the notes go)."""
    if resource.seats is None:
        return True
    return case.needs <= resource.accepts and resource.seats - resource.taken >= case.household


def hold(p: Plot, case: CaseFile, transport: ResourceFile, act: Any) -> Steps:
    """Hold seats for the household on the transport just arranged; the person confirms
    them when called back a little later."""
    if transport.seats is None or case.hold is not None:
        return
    hold_id = new_id(p.rng)
    answer = yield from act(p, case, "hold_seats", "/cases/hold-seats",
                            resource_id=transport.id, hold_id=hold_id,
                            hold_minutes=HOLD_MINUTES)
    if not answer.ok:
        if answer.rule in ("NotEnoughSeats", "TransportDoesNotFit"):
            p.world.tally.events["transports without room for a household"] += 1
        return
    case.hold = (hold_id, transport)
    transport.taken += case.household
    yield from sleep(p.minutes(5, 30))
    answer = yield from act(p, case, "confirm_seats", "/cases/confirm-seats", hold_id=hold_id)
    if answer.ok:
        p.world.tally.events["seats confirmed"] += 1
    else:  # lapsed, or released by a recall meanwhile: they go as arranged
        let_go(case)


def board(p: Plot, case: CaseFile, act: Any) -> Steps:
    """At departure a few do not come: their seats are freed and the journey is planned
    again. True when they set off."""
    if case.hold is None or not p.chance(NO_SHOW):
        return True
    yield from release(p, case, act, no_show=True)
    p.world.tally.events["no-shows (seats freed)"] += 1
    return False


def release(p: Plot, case: CaseFile, act: Any, *, no_show: bool = False) -> Steps:
    """Free the seats the case holds (the person turned back, or did not come)."""
    if case.hold is None:
        return
    yield from act(p, case, "release_seats", "/cases/release-seats", hold_id=case.hold[0],
                   no_show=no_show)
    let_go(case)


def let_go(case: CaseFile) -> None:
    """The notes forget the case's hold (freed on the server: released, lapsed or closed)."""
    if case.hold is not None:
        case.hold[1].taken = max(0, case.hold[1].taken - case.household)
        case.hold = None


def another_run(p: Plot, supervisor: Member) -> Steps:
    """A transport three quarters taken gets another run: its offer stated anew with more
    seats."""
    for transport in [r for r in p.world.resources.values() if r.seats is not None
                      and r.usable and r.taken >= 0.75 * r.seats][:2]:
        seats = (transport.seats or 0) + OFFERS.get(transport.details, (8, ()))[0]
        answer = yield from p.do("offer_seats", "/resources/offer-seats", supervisor.actor,
                                 resource_id=transport.id,
                                 offer={"seats": seats, "accepts": sorted(transport.accepts),
                                        "origin": transport.region})
        if answer.ok:
            transport.seats = seats
            p.world.tally.events["transports offered another run"] += 1
