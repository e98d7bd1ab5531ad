"""Seats on a transport: what it offers, who fits in it, how long a hold lasts (pure values and
functions; the Resource keeps the offer and its holds, domain.seats moves seats between a
transport and a case). Read models and suggestions use the same functions, so nobody's
idea of "fits" or "free" can drift from the rules the commands enforce."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.errors import InvalidTransportOffer
from domain.vocabulary import Accepts

DEFAULT_HOLD = timedelta(minutes=30)
"""How long seats stay held for a case unless the hold says otherwise: long enough to call
the person and the driver, short enough that a seat nobody confirms goes to someone else."""
MAX_HOLD = timedelta(hours=24)
MAX_SEATS = 1000
"""A train or a convoy of buses; more is a typing error."""


@dataclass(frozen=True)
class TransportOffer:
    """What a transport (a driver, a bus, a train, a private car) offers: seats, what it
    takes besides adults, when it leaves (from, until) and where from and to. The departure
    window may be open-ended; places are readable (they are handed out with the transport)."""

    seats: int
    accepts: frozenset[Accepts] = frozenset()
    departs_from: datetime | None = None
    departs_until: datetime | None = None
    origin: str = ""
    destination: str = ""

    def validate(self, at: datetime) -> None:
        """Raise InvalidTransportOffer unless it makes sense at `at` (the report's time)."""
        if not 1 <= self.seats <= MAX_SEATS:
            raise InvalidTransportOffer(f"a transport offers 1 to {MAX_SEATS} seats")
        for moment in (self.departs_from, self.departs_until):
            if moment is not None and moment.utcoffset() is None:
                raise InvalidTransportOffer("departure times need a time zone")
        if (self.departs_from is not None and self.departs_until is not None
                and self.departs_until <= self.departs_from):
            raise InvalidTransportOffer("the departure window must end after it starts")
        if self.departs_until is not None and self.departs_until <= at:
            raise InvalidTransportOffer("the departure window is over already")

    def as_event(self) -> dict[str, Any]:
        """The offer as an event's fields (JSON-friendly: `accepts` a sorted list)."""
        return {"seats": self.seats, "accepts": sorted(a.value for a in self.accepts),
                "departs_from": self.departs_from, "departs_until": self.departs_until,
                "origin": self.origin, "destination": self.destination}


@dataclass(frozen=True)
class Household:
    """Who travels on a case, from the intake: adults, children, pets, mobility needs."""

    adults: int
    children: int = 0
    pets: int = 0
    mobility_needs: bool = False

    @property
    def seats(self) -> int:
        """Seats the household needs: one per adult and per child (pets travel along)."""
        return self.adults + self.children


def misfits(accepts: Iterable[str], household: Household) -> list[str]:
    """What the household brings that a transport taking `accepts` does not take, in the
    vocabulary of Accepts ('children', 'pets', 'mobility'); empty when it fits."""
    taken = set(accepts)
    brought = [(Accepts.CHILDREN, household.children > 0), (Accepts.PETS, household.pets > 0),
               (Accepts.MOBILITY, household.mobility_needs)]
    return [what.value for what, needed in brought if needed and what.value not in taken]


def departure_passed(departs_until: datetime | None, at: datetime) -> bool:
    """True once a transport's departure window is over at `at` (never, if it has no end)."""
    return departs_until is not None and at >= departs_until


def hold_ends(at: datetime, hold_for: timedelta, departs_until: datetime | None) -> datetime:
    """When a hold made at `at` runs out: after `hold_for`, or when the transport stops
    leaving if that is sooner (seats on a car that has left are no use to anyone)."""
    until = at + hold_for
    return until if departs_until is None else min(until, departs_until)


@dataclass(frozen=True)
class SeatCount:
    """The seats of a transport: offered, held (not yet confirmed) and confirmed."""

    offered: int
    held: int = 0
    confirmed: int = 0

    @property
    def taken(self) -> int:
        """Held plus confirmed: never more than offered."""
        return self.held + self.confirmed

    @property
    def free(self) -> int:
        """Seats nobody holds."""
        return max(self.offered - self.taken, 0)

    @classmethod
    def of(cls, offered: int, holds: Iterable[Mapping[str, Any]]) -> SeatCount:
        """Count a transport's current holds (each {"seats", "confirmed", ...})."""
        held = confirmed = 0
        for hold in holds:
            if hold["confirmed"]:
                confirmed += hold["seats"]
            else:
                held += hold["seats"]
        return cls(offered, held, confirmed)
