"""Histories that exercise every event of each aggregate (for convention and replay tests)."""

from __future__ import annotations

from datetime import time

from domain_builders import (
    OPERATOR,
    admin,
    fact_checker,
    later,
    meta,
    new_id,
    offer,
    open_case,
    reported,
    supervisor,
    transport,
    verified,
    volunteer,
)

from domain.case import Case
from domain.contact import CONTACT_WATCH, ContactChannel
from domain.duplicates import POSSIBLE_DUPLICATE
from domain.policies import HOLD_LAPSE
from domain.resource import Resource
from domain.roles import Role, policy_actor
from domain.seats import confirm_seats, hold_seats, lapse_seats, release_seats
from domain.vocabulary import CaseOutcome, HoldEnd, ResourceKind
from domain.volunteer import Volunteer
from domain.windows import Window


def whole_case() -> Case:
    """A case through every kind of event."""
    case, holder, other, boss = open_case(children_ages=[2]), volunteer(), volunteer(), \
        supervisor()
    shelter, bus = verified(), verified(ResourceKind.TRANSPORT)
    case.take(volunteer=holder, meta=meta())
    case.release(reason="off shift", by=holder, meta=meta())
    case.assign(volunteer=other, by=boss, meta=meta())
    case.assign(volunteer=holder, by=boss, meta=meta())
    case.give_advice(text="stay in the shelter tonight", resources=[shelter], by=holder,
                     meta=meta())
    case.arrange_transport(resources=[bus], description="bus 14:00", by=holder, meta=meta())
    seats_through_every_step(case, transport(), holder)
    case.add_note(text="her mother is bedridden", by=holder, meta=meta())
    flag_id = new_id()
    case.flag(flag_id=flag_id, reason="resource_unsafe", detail="shelled", by=None,
              resource_id=shelter.id, meta=meta(actor=policy_actor("resource_recall")))
    case.clear_flag(flag_id=flag_id, reason="moved on", by=holder, meta=meta())
    case.record_cannot_leave(reason="mother bedridden", by=holder, meta=meta())
    case.form_support_group(psychologist=volunteer(Role.PSYCHOLOGIST), members=[other],
                            by=holder, meta=meta())
    case.add_support_member(member=volunteer(), by=holder, meta=meta())
    case.dissolve_support_group(reason="she decided to go", by=holder, meta=meta())
    case.record_departure(by=holder, meta=meta())
    case.record_checkpoint(checkpoint="Vinnytsia", by=holder, meta=meta())
    case.record_stuck(place="Chop", reason="queue", by=holder, meta=meta())
    case.record_return(reason="border closed", by=holder, meta=meta())
    case.record_departure(by=holder, meta=meta())
    case.record_border_crossing(crossing="Medyka", by=holder, meta=meta())
    case.record_arrival(place="Krakow", by=holder, meta=meta())
    case.close(outcome=CaseOutcome.EVACUATED, by=holder, meta=meta())
    case.reopen(reason="needs housing help", by=holder, meta=meta())
    case.record_follow_up(text="found a flat", by=holder, meta=meta())
    silence_and_duplicates(case, holder, boss)
    case.erase_personal_data(subject_id=case.person_id, by=OPERATOR, meta=meta())
    return case


def silence_and_duplicates(case: Case, holder: Volunteer, boss: Volunteer) -> None:
    """Contact tried and made, the silence watch's marks, duplicates found, told apart, one
    merged in, and the case itself merged into another (it closes)."""
    watch = policy_actor(CONTACT_WATCH)
    case.record_contact(channel=ContactChannel.PHONE, reached=False, by=holder, meta=meta())
    since = case.contact_since
    case.mark_contact_overdue(since=since, due_at=later(hours=1),
                              meta=meta(later(hours=2), actor=watch))
    case.suspect_lost_contact(since=since, missed=3, meta=meta(later(hours=3), actor=watch))
    case.record_contact(channel=ContactChannel.TELEGRAM, reached=True, note="all well",
                        by=holder, meta=meta(later(hours=4)))
    twin, other, survivor = open_case(), open_case(), open_case()
    duplicate = policy_actor(POSSIBLE_DUPLICATE)
    for found in (twin, other):
        case.mark_possible_duplicate(other_case_id=found.id, matched_on=["phone"],
                                     meta=meta(actor=duplicate))
    case.tell_apart(other_case_id=other.id, by=boss, meta=meta())
    twin.merge_into(survivor=case, by=boss, meta=meta())
    case.take_in(merged=twin, by=boss, meta=meta())
    case.merge_into(survivor=survivor, by=boss, meta=meta())


def seats_through_every_step(case: Case, car: Resource, holder: Volunteer) -> None:
    """Seats held, confirmed, released as a no-show, held again and lapsed (at T0 + 1 h)."""
    first, second = new_id(), new_id()
    hold_seats(case=case, transport=car, hold_id=first, by=holder, meta=meta())
    confirm_seats(case=case, transport=car, hold_id=first, by=holder, meta=meta())
    release_seats(case=case, transport=car, hold_id=first, why=HoldEnd.NO_SHOW, by=holder,
                  meta=meta())
    hold_seats(case=case, transport=car, hold_id=second, by=holder, meta=meta())
    lapse_seats(case=case, transport=car, hold_id=second,
                meta=meta(later(hours=1), actor=policy_actor(HOLD_LAPSE)))


def whole_transport() -> Resource:
    """A transport through every seat event: offered (twice), held, confirmed, released,
    held again and lapsed."""
    car = transport()
    car.offer_seats(offer=offer(seats=5), by=volunteer(), meta=meta())
    holder = volunteer()
    case = open_case(children_ages=[6])
    case.take(volunteer=holder, meta=meta())
    seats_through_every_step(case, car, holder)
    return car


def whole_volunteer() -> Volunteer:
    """A volunteer through every kind of event."""
    v, boss, root = volunteer(cleared=False), supervisor(), admin()
    v.grant_role(role=Role.FACT_CHECKER, by=root, meta=meta())
    v.revoke_role(role=Role.FACT_CHECKER, by=root, meta=meta())
    v.log_training(minutes=300, topic="casework", by=OPERATOR, meta=meta())
    v.start_shift(meta=meta(later(hours=1)))
    v.end_shift(meta=meta(later(hours=9)))
    v.suspend(reason="complaint", by=boss, meta=meta())
    v.reinstate(reason="resolved", by=boss, meta=meta())
    v.ban(reason="threats", by=boss, meta=meta())
    v.erase_personal_data(by=OPERATOR, meta=meta())
    return v


def whole_resource() -> Resource:
    """A shelter through every kind of event."""
    r = Resource.report(
        resource_id=new_id(), kind=ResourceKind.SHELTER, region="Lviv oblast",
        place="Lviv", details="gym", reporter=volunteer(), capacity=4,
        contact={"name": "Taras", "phone": "+380..."}, meta=meta())
    r.reject(reason="unconfirmed", by=fact_checker(), meta=meta())
    r.verify(by=fact_checker(), meta=meta())
    r.expire(meta=meta(later(hours=6)))
    r.verify(by=fact_checker(), meta=meta(later(hours=7)))
    for change in ("mark_full", "mark_unsafe", "close"):
        getattr(r, change)(reason=change, by=volunteer(), meta=meta(later(hours=8)))
        r.reopen(reason="ok again", by=supervisor(), meta=meta(later(hours=8)))
    r.update_occupancy(occupancy=4, by=volunteer(), meta=meta(later(hours=8)))
    r.set_window(window=Window(daily_from=time(8), daily_until=time(20)), by=supervisor(),
                 meta=meta(later(hours=8)))
    r.set_window(window=None, by=fact_checker(), meta=meta(later(hours=8)))
    r.erase_personal_data(subject_id=r.id, by=OPERATOR, meta=meta(later(hours=8)))
    r.retract(reason="fake", by=supervisor(), meta=meta(later(hours=9)))
    return r


def destroyed_resource() -> Resource:
    """A resource destroyed (the one event whole_resource cannot also have)."""
    r = reported(ResourceKind.FOOD_POINT)
    r.destroy(reason="strike", by=volunteer(), meta=meta())
    return r
