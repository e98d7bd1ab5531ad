"""Seat commands: a transport's offer of seats, and holding, confirming and releasing seats
on it for a case. Each hold changes the transport's stream (which owns the seat count) and
the case's stream in one unit of work (domain.seats)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.base import Meta
from domain.case import Case
from domain.resource import Resource
from domain.seats import confirm_seats, hold_seats, release_seats
from domain.transport import MAX_SEATS, TransportOffer
from domain.vocabulary import Accepts, HoldEnd
from projections.views.common import Moment
from services.auth import CallerRole as R
from services.commands.common import Flag, OptionalText, Whole, acting
from services.commands.registry import CommandBody, command
from services.runtime.unit_of_work import UnitOfWork

CASEWORKERS = {R.VOLUNTEER, R.SUPERVISOR}
FIELD_STAFF = {R.VOLUNTEER, R.SUPERVISOR, R.FACT_CHECKER}


class SeatOffer(BaseModel):
    """What a transport offers: seats, what it takes besides adults, when it leaves (a
    window from..until, either end open) and where from and to (readable places)."""

    model_config = ConfigDict(extra="forbid")

    seats: Whole = Field(ge=1, le=MAX_SEATS)
    accepts: list[Accepts] = Field(default_factory=list, max_length=len(Accepts),
                                   description="children, pets, mobility (a wheelchair or "
                                               "reduced mobility), luggage")
    departs_from: Moment | None = None
    departs_until: Moment | None = Field(default=None, description="after this it has left: "
                                         "no more holds, unconfirmed ones lapse")
    origin: OptionalText = ""
    destination: OptionalText = ""

    def to_domain(self) -> TransportOffer:
        return TransportOffer(seats=self.seats, accepts=frozenset(self.accepts),
                              departs_from=self.departs_from, departs_until=self.departs_until,
                              origin=self.origin, destination=self.destination)


class OfferSeats(CommandBody):
    resource_id: UUID
    offer: SeatOffer


@command("resources.offer_seats", "/resources/offer-seats", FIELD_STAFF)
def offer_seats(body: OfferSeats, uow: UnitOfWork, meta: Meta) -> UUID:
    """State a transport's offer of seats anew (never fewer seats than are held on it)."""
    transport = uow.get(Resource, body.resource_id)
    transport.offer_seats(offer=body.offer.to_domain(), by=acting(uow, meta), meta=meta)
    return transport.id


class HoldSeats(CommandBody):
    case_id: UUID
    resource_id: UUID = Field(description="the transport")
    hold_id: UUID = Field(description="caller-chosen id of the hold (confirm and release "
                                      "name it)")
    seats: Whole | None = Field(default=None, ge=1, le=MAX_SEATS, description="default: the "
                                "household (adults + children)")
    hold_minutes: Whole | None = Field(default=None, ge=1, le=24 * 60,
                                       description="how long the seats stay held unless "
                                       "confirmed (never past the transport's departure "
                                       "window); default: the network's CORRIDOR_HOLD_MINUTES")


@command("cases.hold_seats", "/cases/hold-seats", CASEWORKERS)
def hold(body: HoldSeats, uow: UnitOfWork, meta: Meta) -> UUID:
    """Hold seats on a verified transport for a case, for a limited time: refused when it is
    not usable, has left, does not take the household, or has too few seats free."""
    transport = uow.get(Resource, body.resource_id)  # first: its events are stored first
    case = uow.get(Case, body.case_id)
    hold_for = (uow.defaults.hold_for if body.hold_minutes is None
                else timedelta(minutes=body.hold_minutes))
    hold_seats(case=case, transport=transport, hold_id=body.hold_id, by=acting(uow, meta),
               seats=body.seats, hold_for=hold_for, meta=meta)
    return case.id


class SeatHold(CommandBody):
    case_id: UUID
    hold_id: UUID


class ReleaseSeats(SeatHold):
    no_show: Flag = Field(default=False, description="the person did not come")


def _transport_of(uow: UnitOfWork, case: Case, hold_id: UUID) -> Resource | None:
    found = case.seat_hold(hold_id)
    return None if found is None else uow.get(Resource, found["resource_id"])


@command("cases.confirm_seats", "/cases/confirm-seats", CASEWORKERS)
def confirm(body: SeatHold, uow: UnitOfWork, meta: Meta) -> UUID:
    """The person takes the held seats: confirmed seats do not lapse."""
    case = uow.get(Case, body.case_id)
    transport = _transport_of(uow, case, body.hold_id)
    by = acting(uow, meta)
    if transport is None:  # the case's own rule names the missing hold
        case.confirm_seats(hold_id=body.hold_id, by=by, meta=meta)
        return case.id
    confirm_seats(case=case, transport=transport, hold_id=body.hold_id, by=by, meta=meta)
    return case.id


@command("cases.release_seats", "/cases/release-seats", CASEWORKERS)
def release(body: ReleaseSeats, uow: UnitOfWork, meta: Meta) -> UUID:
    """Free a case's seats on a transport, held or confirmed (no_show: the person did not
    come)."""
    case = uow.get(Case, body.case_id)
    transport = _transport_of(uow, case, body.hold_id)
    by = acting(uow, meta)
    why = HoldEnd.NO_SHOW if body.no_show else HoldEnd.RELEASED
    if transport is None:
        case.release_seats(hold_id=body.hold_id, why=why, by=by, meta=meta)
        return case.id
    release_seats(case=case, transport=transport, hold_id=body.hold_id, why=why, by=by,
                  meta=meta)
    return case.id
