"""Seats on a transport held for a case: who fits, how many, for how long, and what ends a
hold (confirmation, release, a no-show, a lapse, a recall, the case closing)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from domain_builders import (
    T0,
    fact_checker,
    later,
    meta,
    new_event_names,
    new_id,
    offer,
    open_case,
    reported,
    supervisor,
    transport,
    volunteer,
)

from domain.base import InvalidCommand
from domain.case import Case
from domain.errors import (
    CaseStillHoldsSeats,
    DepartureWindowPassed,
    HoldAlreadyConfirmed,
    HoldExpired,
    HoldNotDue,
    HoldNotHeld,
    InvalidTransportOffer,
    NoSeatsOffered,
    NotATransport,
    NotCaseAssignee,
    NotEnoughSeats,
    NotPermitted,
    ResourceNotUsable,
    SeatsAlreadyHeld,
    SeatsStillHeld,
    TransportDoesNotFit,
)
from domain.follow_ups import FlagCase, ReleaseHold, RetractResource
from domain.policies import HOLD_LAPSE, lapse_due, react, release_recalled_holds
from domain.resource import Resource
from domain.roles import policy_actor
from domain.seats import close_case, confirm_seats, hold_seats, lapse_seats, release_seats
from domain.transport import DEFAULT_HOLD, Household, misfits
from domain.vocabulary import Accepts, CaseOutcome, HoldEnd, ResourceKind
from domain.volunteer import Volunteer

LAPSE = policy_actor(HOLD_LAPSE)


def held_case(**answers: object) -> tuple[Case, Volunteer]:
    case, holder = open_case(**answers), volunteer()
    case.take(volunteer=holder, meta=meta())
    return case, holder


def test_holding_seats_records_them_on_the_transport_and_on_the_case() -> None:
    car = transport(seats=4)
    case, holder = held_case(adults=2, children_ages=[5])
    hold_id = new_id()

    hold_seats(case=case, transport=car, hold_id=hold_id, by=holder, meta=meta())

    assert car.seat_count.held == 3 and car.seat_count.free == 1
    [on_car] = car.holds
    [on_case] = case.seat_holds
    assert (on_car["hold_id"], on_car["case_id"], on_car["seats"]) == (hold_id, case.id, 3)
    assert (on_case["hold_id"], on_case["resource_id"]) == (hold_id, car.id)
    assert on_car["until"] == on_case["until"] == T0 + DEFAULT_HOLD
    assert case.relies_on(car.id)  # the journey records the transport it relies on


def test_a_hold_wanting_more_seats_than_are_free_is_refused_with_the_counts() -> None:
    car = transport(seats=4)
    first, holder = held_case(adults=3)
    hold_seats(case=first, transport=car, hold_id=new_id(), by=holder, meta=meta())
    second, other = held_case(adults=2)

    with pytest.raises(NotEnoughSeats) as refused:
        hold_seats(case=second, transport=car, hold_id=new_id(), by=other, meta=meta())

    assert refused.value.extra == {"resource_id": str(car.id), "seats_wanted": 2,
                                   "seats_offered": 4, "seats_held": 3, "seats_confirmed": 0,
                                   "seats_free": 1}
    assert second.seat_holds == [] and len(car.holds) == 1


@pytest.mark.parametrize(("answers", "accepts", "missing"), [
    ({"children_ages": [3]}, (), ["children"]),
    ({"pets": 1}, (Accepts.CHILDREN,), ["pets"]),
    ({"mobility_needs": True}, (Accepts.PETS,), ["mobility"]),
    ({"children_ages": [3], "pets": 2, "mobility_needs": True}, (Accepts.LUGGAGE,),
     ["children", "pets", "mobility"]),
])
def test_a_transport_that_does_not_take_what_the_household_brings_is_refused_naming_it(
        answers: dict[str, object], accepts: tuple[Accepts, ...], missing: list[str]) -> None:
    car = transport(seats=6, accepts=accepts)
    case, holder = held_case(**answers)

    with pytest.raises(TransportDoesNotFit) as refused:
        hold_seats(case=case, transport=car, hold_id=new_id(), by=holder, meta=meta())

    assert refused.value.extra["misfits"] == missing


def test_a_mother_with_two_children_and_a_dog_fits_a_car_taking_children_and_pets() -> None:
    car = transport(seats=3, accepts=(Accepts.CHILDREN, Accepts.PETS))
    case, holder = held_case(adults=1, children_ages=[4, 9], pets=1)

    hold_seats(case=case, transport=car, hold_id=new_id(), by=holder, meta=meta())

    assert car.seat_count.free == 0


def test_a_transport_not_verified_or_no_longer_fresh_takes_no_hold_and_says_which() -> None:
    unverified = Resource.report(resource_id=new_id(), kind=ResourceKind.TRANSPORT,
                                 region="Kharkiv", place="", details="", reporter=volunteer(),
                                 transport=offer(), meta=meta())
    stale = transport(seats=4)
    case, holder = held_case()

    with pytest.raises(ResourceNotUsable) as not_checked:
        hold_seats(case=case, transport=unverified, hold_id=new_id(), by=holder, meta=meta())
    with pytest.raises(ResourceNotUsable) as expired:
        hold_seats(case=case, transport=stale, hold_id=new_id(), by=holder,
                   meta=meta(later(hours=12)))

    assert not_checked.value.extra["reason"] == "unverified"
    assert expired.value.extra["reason"] == "expired"


def test_a_transport_whose_departure_window_has_passed_takes_no_hold() -> None:
    car = transport(seats=4, departs_until=later(hours=2))
    case, holder = held_case()

    with pytest.raises(DepartureWindowPassed) as refused:
        hold_seats(case=case, transport=car, hold_id=new_id(), by=holder,
                   meta=meta(later(hours=2)))

    assert refused.value.extra["departs_until"] == later(hours=2).isoformat()


def test_a_hold_never_outlasts_the_departure_window() -> None:
    car = transport(seats=4, departs_until=later(minutes=10))
    case, holder = held_case()

    hold_seats(case=case, transport=car, hold_id=new_id(), by=holder, meta=meta())

    assert car.holds[0]["until"] == later(minutes=10)


def test_only_a_transport_offering_seats_can_be_held() -> None:
    shelter, bare_transport = reported(ResourceKind.SHELTER), reported(ResourceKind.TRANSPORT,
                                                                       capacity=None)
    bare_transport.verify(by=fact_checker(), meta=meta())
    case, holder = held_case()

    with pytest.raises(NotATransport):
        hold_seats(case=case, transport=shelter, hold_id=new_id(), by=holder, meta=meta())
    with pytest.raises(NoSeatsOffered):
        hold_seats(case=case, transport=bare_transport, hold_id=new_id(), by=holder,
                   meta=meta())


def test_only_the_assignee_or_a_supervisor_holds_seats_for_a_case() -> None:
    car = transport()
    case, _ = held_case()

    with pytest.raises(NotCaseAssignee):
        hold_seats(case=case, transport=car, hold_id=new_id(), by=volunteer(), meta=meta())

    assert car.holds == [] and case.seat_holds == []


def test_a_case_holds_seats_on_one_transport_once() -> None:
    car = transport(seats=8)
    case, holder = held_case()
    hold_seats(case=case, transport=car, hold_id=new_id(), by=holder, meta=meta())

    with pytest.raises(SeatsAlreadyHeld):
        hold_seats(case=case, transport=car, hold_id=new_id(), by=holder, meta=meta())


def test_a_hold_asks_for_no_more_seats_than_the_household() -> None:
    car = transport(seats=8)
    case, holder = held_case(adults=2)

    with pytest.raises(InvalidCommand):
        hold_seats(case=case, transport=car, hold_id=new_id(), by=holder, seats=3, meta=meta())
    hold_seats(case=case, transport=car, hold_id=new_id(), by=holder, seats=1, meta=meta())

    assert car.seat_count.held == 1


def test_confirmed_seats_stay_taken_and_do_not_lapse() -> None:
    car = transport(seats=4)
    case, holder = held_case(adults=2)
    hold_id = new_id()
    hold_seats(case=case, transport=car, hold_id=hold_id, by=holder, meta=meta())

    confirm_seats(case=case, transport=car, hold_id=hold_id, by=holder, meta=meta())

    assert (car.seat_count.held, car.seat_count.confirmed) == (0, 2)
    assert case.seat_holds[0]["confirmed"]
    assert car.lapse_due(later(days=2)) == []
    with pytest.raises(HoldAlreadyConfirmed):
        confirm_seats(case=case, transport=car, hold_id=hold_id, by=holder, meta=meta())


def test_a_hold_that_ran_out_cannot_be_confirmed_but_lapses_on_the_tick() -> None:
    car = transport(seats=4)
    case, holder = held_case()
    hold_id = new_id()
    hold_seats(case=case, transport=car, hold_id=hold_id, by=holder, meta=meta())

    with pytest.raises(HoldExpired):
        confirm_seats(case=case, transport=car, hold_id=hold_id, by=holder,
                      meta=meta(later(minutes=30)))
    assert car.lapse_due(later(minutes=29)) == []
    assert car.lapse_due(later(minutes=30)) == [hold_id]
    names = new_event_names(car, lambda: lapse_seats(
        case=case, transport=car, hold_id=hold_id, meta=meta(later(minutes=30), actor=LAPSE)))

    assert names == ["HoldLapsed"]
    assert case.seat_holds == [] and car.seat_count.free == 4


def test_a_hold_lapses_only_when_due_and_only_by_a_policy() -> None:
    car = transport(seats=4)
    case, holder = held_case()
    hold_id = new_id()
    hold_seats(case=case, transport=car, hold_id=hold_id, by=holder, meta=meta())

    with pytest.raises(HoldNotDue):
        lapse_seats(case=case, transport=car, hold_id=hold_id,
                    meta=meta(later(minutes=5), actor=LAPSE))
    with pytest.raises(NotPermitted):
        lapse_seats(case=case, transport=car, hold_id=hold_id, meta=meta(later(hours=1)))
    assert len(car.holds) == 1 and len(case.seat_holds) == 1


def test_a_no_show_frees_confirmed_seats_for_someone_else() -> None:
    car = transport(seats=2)
    first, holder = held_case(adults=2)
    hold_id = new_id()
    hold_seats(case=first, transport=car, hold_id=hold_id, by=holder, meta=meta())
    confirm_seats(case=first, transport=car, hold_id=hold_id, by=holder, meta=meta())

    release_seats(case=first, transport=car, hold_id=hold_id, why=HoldEnd.NO_SHOW, by=holder,
                  meta=meta())
    second, other = held_case(adults=2)
    hold_seats(case=second, transport=car, hold_id=new_id(), by=other, meta=meta())

    released = [e for e in car.pending_events if type(e).__name__ == "HoldReleased"]
    assert [(e.why, e.confirmed, e.seats) for e in released] == [("no_show", True, 2)]
    assert car.seat_count.confirmed == 0 and car.seat_count.held == 2


def test_releasing_a_hold_that_is_gone_is_refused() -> None:
    car = transport()
    case, holder = held_case()

    with pytest.raises(HoldNotHeld):
        release_seats(case=case, transport=car, hold_id=new_id(), why=HoldEnd.RELEASED,
                      by=holder, meta=meta())


def test_closing_a_case_frees_every_seat_it_holds() -> None:
    car, bus = transport(seats=2), transport(seats=30)
    case, holder = held_case()
    confirmed = new_id()
    hold_seats(case=case, transport=car, hold_id=confirmed, by=holder, meta=meta())
    confirm_seats(case=case, transport=car, hold_id=confirmed, by=holder, meta=meta())
    hold_seats(case=case, transport=bus, hold_id=new_id(), by=holder, meta=meta())

    close_case(case=case, transports={car.id: car, bus.id: bus},
               outcome=CaseOutcome.LOST_CONTACT, by=holder, meta=meta())

    assert car.holds == [] and bus.holds == [] and case.seat_holds == []
    assert not case.is_active
    with pytest.raises(CaseStillHoldsSeats):  # the aggregate alone never closes over seats
        other, by = held_case()
        hold_seats(case=other, transport=bus, hold_id=new_id(), by=by, meta=meta())
        other.close(outcome=CaseOutcome.LOST_CONTACT, by=by, meta=meta())


def test_a_transport_never_offers_fewer_seats_than_are_taken() -> None:
    car = transport(seats=4)
    case, holder = held_case(adults=3)
    hold_seats(case=case, transport=car, hold_id=new_id(), by=holder, meta=meta())

    with pytest.raises(SeatsStillHeld):
        car.offer_seats(offer=offer(seats=2), by=volunteer(), meta=meta())
    car.offer_seats(offer=offer(seats=3), by=volunteer(), meta=meta())

    assert car.seat_count.free == 0


@pytest.mark.parametrize("bad", [
    {"seats": 0}, {"departs_from": later(hours=2), "departs_until": later(hours=1)},
    {"departs_until": T0 - timedelta(minutes=1)}])
def test_an_offer_that_contradicts_itself_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidTransportOffer):
        transport().offer_seats(offer=offer(**bad), by=volunteer(), meta=meta())  # type: ignore[arg-type]


def test_a_recall_releases_every_hold_on_the_transport_with_stable_command_ids() -> None:
    car = transport(seats=4)
    holds = []
    for _ in range(2):
        case, holder = held_case()
        hold_id = new_id()
        hold_seats(case=case, transport=car, hold_id=hold_id, by=holder, meta=meta())
        holds.append(hold_id)
    car.mark_unsafe(reason="shelled", by=volunteer(), meta=meta())
    recall = car.pending_events[-1]

    first = release_recalled_holds(recall, holds)
    again = release_recalled_holds(recall, reversed(holds))

    assert [c.hold_id for c in first] == sorted(holds)
    assert [c.meta.command_id for c in first] == [c.meta.command_id for c in again]
    assert all(c.meta.actor == policy_actor("resource_recall") for c in first)


def test_react_flags_and_releases_on_a_recall() -> None:
    car = transport()
    case_id, hold_id = new_id(), new_id()
    car.destroy(reason="hit by a shell", by=volunteer(), meta=meta())

    class Lookups:
        def active_cases_relying_on(self, resource_id: object) -> list[object]:
            return [case_id]

        def reports_by(self, volunteer_id: object) -> list[object]:
            return []

        def active_cases_of(self, volunteer_id: object) -> list[object]:
            return []

        def holds_on(self, resource_id: object) -> list[object]:
            return [hold_id]

    commands = react(car.pending_events[-1], Lookups())  # type: ignore[arg-type]

    assert [type(c).__name__ for c in commands] == ["FlagCase", "ReleaseHold"]


class ReporterLookups:
    """As the reactions' index answers: the banned reporter's standing reports, the case
    holding seats on the car (a hold is reliance) and the hold itself."""

    def __init__(self, reporter: Volunteer, car: Resource, case: Case) -> None:
        self.reporter, self.car, self.case = reporter, car, case

    def active_cases_relying_on(self, resource_id: object) -> list[object]:
        return [self.case.id] if resource_id == self.car.id else []

    def reports_by(self, volunteer_id: object) -> list[object]:
        return [self.car.id] if volunteer_id == self.reporter.id else []

    def active_cases_of(self, volunteer_id: object) -> list[object]:
        return []

    def holds_on(self, resource_id: object) -> list[object]:
        return [h["hold_id"] for h in self.car.holds] if resource_id == self.car.id else []


def test_banning_the_reporter_recalls_a_verified_transport_and_frees_its_holds() -> None:
    car, reporter = transport(seats=4), volunteer()
    case, holder = held_case()
    hold_id = new_id()
    hold_seats(case=case, transport=car, hold_id=hold_id, by=holder, meta=meta())
    lookups = ReporterLookups(reporter, car, case)
    reporter.ban(reason="fake drivers", by=supervisor(), meta=meta())

    [retract] = react(reporter.pending_events[-1], lookups)  # type: ignore[arg-type]
    assert isinstance(retract, RetractResource) and retract.resource_id == car.id
    car.retract(reason=retract.reason, by=None, meta=retract.meta)
    flag, release = react(car.pending_events[-1], lookups)  # type: ignore[arg-type]
    assert isinstance(flag, FlagCase) and isinstance(release, ReleaseHold)
    release_seats(case=case, transport=car, hold_id=release.hold_id, why=HoldEnd.RECALLED,
                  by=None, meta=release.meta)

    assert (flag.case_id, flag.reason, flag.detail) == (case.id, "resource_retracted",
                                                        "reporter banned")
    assert release.hold_id == hold_id
    assert car.seat_count.held == 0 and car.holds == [] and case.seat_holds == []


def test_the_tick_lapses_each_due_hold_once_whatever_the_tick() -> None:
    car = transport(seats=4)
    case, holder = held_case()
    hold_id = new_id()
    hold_seats(case=case, transport=car, hold_id=hold_id, by=holder, meta=meta())

    early = lapse_due([car], meta(later(minutes=29), actor=LAPSE))
    first = lapse_due([car], meta(later(minutes=31), actor=LAPSE))
    second = lapse_due([car], meta(later(minutes=45), actor=LAPSE))

    assert early == []
    assert [c.hold_id for c in first] == [hold_id]
    assert first[0].meta.command_id == second[0].meta.command_id


def test_misfits_are_what_the_household_brings_and_the_transport_does_not_take() -> None:
    family = Household(adults=1, children=2, pets=1, mobility_needs=False)

    assert misfits(["children", "pets"], family) == []
    assert misfits(["children"], family) == ["pets"]
    assert family.seats == 3
