"""Seats between a case and a transport: hold, confirm, release, lapse, and what a recall or
a closing does to them.

The transport (a Resource) owns the seat count: every hold is an event on its stream, so
holds on one transport are serialised by its stream version whatever the concurrency (the
writer runs a batch's commands one after another on the cached aggregate, and another writer
changing the stream first fails the whole unit of work). The case records its side in the
same unit of work, so both streams change together or not at all. Each function checks
every rule on both sides before either side records anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from uuid import UUID

from domain.base import InvalidCommand, Meta
from domain.case import Case
from domain.referral import Referral
from domain.resource import Resource
from domain.transport import DEFAULT_HOLD, MAX_HOLD, hold_ends
from domain.vocabulary import CaseOutcome, HoldEnd
from domain.volunteer import Volunteer


def hold_seats(*, case: Case, transport: Resource, hold_id: UUID, by: Volunteer, meta: Meta,
               seats: int | None = None, hold_for: timedelta = DEFAULT_HOLD) -> None:
    """Hold seats on a transport for a case (its household by default) for `hold_for`, or
    until the transport stops leaving if sooner."""
    household = case.household
    wanted = household.seats if seats is None else seats
    if not 1 <= wanted <= household.seats:
        raise InvalidCommand(f"hold 1 to {household.seats} seats: the household is "
                             f"{household.seats} people")
    if not timedelta(0) < hold_for <= MAX_HOLD:
        raise InvalidCommand(f"a hold lasts up to {MAX_HOLD}")
    case.ensure_may_hold_seats(hold_id=hold_id, resource_id=transport.id, by=by)
    transport.ensure_may_hold(hold_id=hold_id, household=household, seats=wanted, at=meta.at)
    until = hold_ends(meta.at, hold_for, transport.departs_until)
    transport.hold_seats(hold_id=hold_id, case_id=case.id, household=household, seats=wanted,
                         until=until, by=by, meta=meta)
    case.hold_seats(hold_id=hold_id, resource_id=transport.id, seats=wanted, until=until,
                    by=by, meta=meta)


def confirm_seats(*, case: Case, transport: Resource, hold_id: UUID, by: Volunteer,
                  meta: Meta) -> None:
    """The person takes the held seats: confirmed seats no longer lapse."""
    case.ensure_may_confirm_seats(hold_id=hold_id, by=by)
    transport.ensure_may_confirm(hold_id=hold_id, at=meta.at)
    transport.confirm_hold(hold_id=hold_id, by=by, meta=meta)
    case.confirm_seats(hold_id=hold_id, by=by, meta=meta)


def release_seats(*, case: Case, transport: Resource, hold_id: UUID, why: HoldEnd,
                  by: Volunteer | None, meta: Meta) -> None:
    """Free a hold's seats (held or confirmed) on both sides: let go, a no-show, a recall."""
    case.ensure_may_release_seats(hold_id=hold_id, by=by, meta=meta)
    transport.ensure_may_release(hold_id=hold_id, by=by, meta=meta)
    transport.release_hold(hold_id=hold_id, why=why, by=by, meta=meta)
    case.release_seats(hold_id=hold_id, why=why, by=by, meta=meta)


def lapse_seats(*, case: Case, transport: Resource, hold_id: UUID, meta: Meta) -> None:
    """A policy records that an unconfirmed hold ran out, on both sides."""
    transport.ensure_lapse_due(hold_id=hold_id, at=meta.at)
    case.ensure_may_lapse_seats(hold_id=hold_id, meta=meta)
    transport.lapse_hold(hold_id=hold_id, meta=meta)
    case.record_seats_lapsed(hold_id=hold_id, meta=meta)


def close_case(*, case: Case, transports: Mapping[UUID, Resource], outcome: CaseOutcome,
               by: Volunteer, meta: Meta, referral: Referral | None = None) -> None:
    """Close a case, first freeing every seat it holds (held or confirmed): a closed case
    needs no seat, and whoever else does should get it now, not when a hold lapses.
    `transports` holds the transport of each of the case's holds; `referral` is the
    accepted referral a 'referred_elsewhere' closing names."""
    case.ensure_may_close(outcome=outcome, by=by, referral=referral)
    for hold in case.seat_holds:
        transports[hold["resource_id"]].ensure_may_release(hold_id=hold["hold_id"], by=by,
                                                            meta=meta)
    for hold in list(case.seat_holds):
        release_seats(case=case, transport=transports[hold["resource_id"]],
                      hold_id=hold["hold_id"], why=HoldEnd.CASE_CLOSED, by=by, meta=meta)
    case.close(outcome=outcome, by=by, meta=meta, referral=referral)
