"""A resource (shelter, transport, route, ...): reported, verified with an expiry, recalled."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.aggregate import CoordinationAggregate
from domain.base import Meta, PersonalData
from domain.errors import (
    CannotVerifyOwnReport,
    DepartureWindowPassed,
    HoldAlreadyConfirmed,
    HoldExpired,
    HoldNotDue,
    HoldNotHeld,
    InvalidResource,
    InvalidWindow,
    NoSeatsOffered,
    NotAnAdmin,
    NotAShelter,
    NotATransport,
    NotEnoughSeats,
    NothingToErase,
    NotPermitted,
    OccupancyExceedsCapacity,
    ResourceNotUsable,
    ResourceStatusUnchanged,
    ResourceWithdrawn,
    SeatsAlreadyHeld,
    SeatsStillHeld,
    ShelterFull,
    TransportDoesNotFit,
    VerificationNotDue,
    WindowClosed,
)
from domain.roles import ROLE_GRANTER, Authority, Role, is_policy_actor
from domain.transport import Household, SeatCount, TransportOffer, departure_passed, misfits
from domain.vocabulary import (
    VERIFICATION_TTL,
    HoldEnd,
    ResourceKind,
    ResourceStatus,
    Verification,
)
from domain.volunteer import Volunteer
from domain.windows import Window, ZoneLookup, utc_only

WITHDRAWN = frozenset({ResourceStatus.RETRACTED.value, ResourceStatus.DESTROYED.value})


class Resource(CoordinationAggregate):
    """Checked information about something people can use; it goes stale by design."""

    class_version = 3
    """Snapshots: version 2 keeps a transport's seat offer and the holds on it, version 3
    the resource's opening window."""

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A version 1 snapshot predates seats: nothing offered, nothing held."""
        state.update(seats=None, accepts=[], departs_from=None, departs_until=None,
                     origin="", destination="", holds=[])

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        """A version 2 snapshot predates windows: open whenever it is usable."""
        state["window"] = None

    @classmethod
    def report(
        cls, *, resource_id: UUID, kind: ResourceKind, region: str, place: str,
        details: str, reporter: Volunteer, capacity: int | None = None,
        contact: Mapping[str, str] | None = None, contact_subject_id: UUID | None = None,
        transport: TransportOffer | None = None, window: Window | None = None, meta: Meta,
    ) -> Resource:
        """Report a resource; a contact person's name/phone (a driver's) stays personal
        data. A transport may come with its offer of seats (TransportOffered follows), any
        resource with its opening window (WindowSet follows)."""
        reporter.ensure_active()
        kind = ResourceKind(kind)
        _ensure_capacity_fits_kind(kind, capacity)
        if not region.strip():
            raise InvalidResource("a resource needs a region")
        if transport is not None:
            _ensure_transport_kind(kind, resource_id)
            transport.validate(meta.at)
        if window is not None:
            window = _as_kind_says(kind, window)
            window.validate()
        personal = None if not contact else PersonalData.of(
            contact_subject_id or resource_id, **contact)
        resource = cls(id=resource_id, kind=kind.value, region=region, place=place,
                       details=details, capacity=capacity, contact=personal,
                       reported_by=reporter.id, meta=meta)
        if transport is not None:
            resource._record_transport_offered(**transport.as_event(), meta=meta)
        if window is not None:
            resource._record_window_set(**window.as_event(), meta=meta)
        return resource

    @event("ResourceReported")
    def __init__(self, id: UUID, kind: str, region: str, place: str, details: str,
                 capacity: int | None, contact: PersonalData | None, reported_by: UUID,
                 meta: Meta) -> None:
        self._kind = kind
        self.region = region
        self.place = place
        self.details = details
        self.capacity = capacity
        self.occupancy = 0
        self.contact = contact
        self.reported_by = reported_by
        self.reported_at = meta.at
        self._verification = Verification.UNVERIFIED.value
        self.verified_by: UUID | None = None
        self.verified_at: datetime | None = None
        self.verified_version: int | None = None
        self.expires_at: datetime | None = None
        self._status = ResourceStatus.AVAILABLE.value
        self.status_reason = ""
        self.seats: int | None = None
        """Seats a transport offers (None: no offer of seats recorded)."""
        self.accepts: list[str] = []
        self.departs_from: datetime | None = None
        self.departs_until: datetime | None = None
        self.origin = ""
        self.destination = ""
        self.holds: list[dict[str, Any]] = []
        """Current seat holds: {"hold_id", "case_id", "seats", "until", "confirmed",
        "held_by", "held_at"}; released and lapsed ones are gone."""
        self.window: dict[str, Any] | None = None
        """The opening window's fields (Window.as_event), or None: open whenever usable."""

    # --- queries ---------------------------------------------------------------------------

    @property
    def kind(self) -> ResourceKind:
        """What the resource is."""
        return ResourceKind(self._kind)

    @property
    def verification(self) -> Verification:
        """Unverified, verified, rejected or expired (as recorded by events)."""
        return Verification(self._verification)

    @property
    def status(self) -> ResourceStatus:
        """Available, full, unsafe, closed, destroyed or retracted."""
        return ResourceStatus(self._status)

    @property
    def is_withdrawn(self) -> bool:
        """True once retracted or destroyed: it can never be used again."""
        return self._status in WITHDRAWN

    @property
    def is_shelter_full(self) -> bool:
        """True for a shelter marked full or with no free place."""
        at_capacity = self.capacity is not None and self.occupancy >= self.capacity
        return self.kind is ResourceKind.SHELTER and (
            at_capacity or self._status == ResourceStatus.FULL)

    def unusable_reason(self, at: datetime) -> str | None:
        """Why the resource may not be handed out at `at`, or None when it may."""
        return unusable_reason(status=self._status,
                               verification=self._verification, expires_at=self.expires_at,
                               capacity=self.capacity, occupancy=self.occupancy, at=at)

    def is_usable(self, at: datetime) -> bool:
        """True when the resource may be handed out at `at`."""
        return self.unusable_reason(at) is None

    def ensure_usable(self, at: datetime) -> None:
        """Raise ResourceNotUsable (ShelterFull for a full shelter) unless usable at `at`."""
        reason = self.unusable_reason(at)
        if reason is None:
            return
        if reason == ResourceStatus.FULL and self.kind is ResourceKind.SHELTER:
            raise ShelterFull(self.id, reason)
        raise ResourceNotUsable(self.id, reason)

    @property
    def opening_window(self) -> Window | None:
        """When it may be relied on, or None: whenever it is usable."""
        return Window.from_event(self.window)

    def ensure_open(self, at: datetime, zones: ZoneLookup = utc_only) -> None:
        """Raise unless something may rely on it at `at` as far as time goes: a transport
        that has not left (DepartureWindowPassed), inside its opening window (WindowClosed,
        with the window and when it opens next)."""
        self._ensure_not_left(at)
        window = self.opening_window
        if window is None:
            return
        zone = zones(window.time_zone)
        state = window.state(at, zone)
        if not state.is_open:  # say when it opens on the window's own clock
            opens_at = None if state.opens_at is None else state.opens_at.astimezone(zone)
            raise WindowClosed(self.id, window.as_json(), window.describe(), opens_at)

    @property
    def seat_count(self) -> SeatCount:
        """Seats offered, held and confirmed now."""
        return SeatCount.of(self.seats or 0, self.holds)

    def hold(self, hold_id: UUID) -> dict[str, Any] | None:
        """The current hold with this id, or None."""
        return next((h for h in self.holds if h["hold_id"] == hold_id), None)

    def lapse_due(self, at: datetime) -> list[UUID]:
        """Unconfirmed holds whose time has run out at `at` (the tick lapses them)."""
        return [h["hold_id"] for h in self.holds if not h["confirmed"] and at >= h["until"]]

    def ensure_may_hold(self, *, hold_id: UUID, household: Household, seats: int,
                        at: datetime) -> None:
        """Raise unless `seats` may be held at `at` for a household: a transport offering
        seats, usable (verified, fresh, available), not left yet, taking what the household
        brings, with that many seats free. The error says which rule failed."""
        self._ensure_offers_seats()
        self.ensure_usable(at)
        self._ensure_not_left(at)
        missing = misfits(self.accepts, household)
        if missing:
            raise TransportDoesNotFit(self.id, missing)
        if self.hold(hold_id) is not None:
            raise SeatsAlreadyHeld(f"hold {hold_id} is held on transport {self.id} already")
        count = self.seat_count
        if seats > count.free:
            raise NotEnoughSeats(self.id, seats, count.offered, count.held, count.confirmed)

    def is_expiry_due(self, now: datetime) -> bool:
        """True when a verification has run out but no VerificationExpired is recorded yet."""
        return (self._verification == Verification.VERIFIED and self.expires_at is not None
                and now >= self.expires_at)

    # --- commands --------------------------------------------------------------------------

    def verify(self, *, by: Volunteer, meta: Meta) -> None:
        """A fact-checker (not the reporter) verifies it; re-verification renews the expiry."""
        self._ensure_checker(by)
        self._ensure_not_withdrawn()
        expires_at = meta.at + VERIFICATION_TTL[self.kind]
        self._record_verified(verified_by=by.id, expires_at=expires_at, meta=meta)

    def reject(self, *, reason: str, by: Volunteer, meta: Meta) -> None:
        """A fact-checker (not the reporter) finds it false or unconfirmable."""
        self._ensure_checker(by)
        self._ensure_not_withdrawn()
        self._record_rejected(rejected_by=by.id, reason=reason, meta=meta)

    def expire(self, *, meta: Meta) -> None:
        """Record that the verification ran out, as of the tick's time meta.at."""
        if not self.is_expiry_due(meta.at) or self.expires_at is None:
            raise VerificationNotDue(f"resource {self.id} has no verification due to expire")
        self._record_expired(expired_at=self.expires_at, meta=meta)

    def mark_full(self, *, reason: str, by: Volunteer, meta: Meta) -> None:
        """Someone on the ground reports it full."""
        self._ensure_status_change(by, ResourceStatus.FULL)
        self._record_full(reason=reason, meta=meta)

    def mark_unsafe(self, *, reason: str, by: Volunteer, meta: Meta) -> None:
        """Someone reports it unsafe (e.g. shelled)."""
        self._ensure_status_change(by, ResourceStatus.UNSAFE)
        self._record_unsafe(reason=reason, meta=meta)

    def close(self, *, reason: str, by: Volunteer, meta: Meta) -> None:
        """Someone reports it closed."""
        self._ensure_status_change(by, ResourceStatus.CLOSED)
        self._record_closed(reason=reason, meta=meta)

    def destroy(self, *, reason: str, by: Volunteer, meta: Meta) -> None:
        """Someone reports it destroyed; it is withdrawn for good."""
        self._ensure_status_change(by, ResourceStatus.DESTROYED)
        self._record_destroyed(reason=reason, meta=meta)

    def reopen(self, *, reason: str, by: Volunteer, meta: Meta) -> None:
        """A fact-checker or supervisor confirms it is available again (full/unsafe/closed)."""
        _ensure_checker_or_supervisor(by)
        self._ensure_status_change(by, ResourceStatus.AVAILABLE)
        self._record_reopened(reason=reason, meta=meta)

    def update_occupancy(self, *, occupancy: int, by: Volunteer, meta: Meta) -> None:
        """Report how many places of a shelter are taken (0..capacity)."""
        by.ensure_active()
        self._ensure_not_withdrawn()
        if self.kind is not ResourceKind.SHELTER or self.capacity is None:
            raise NotAShelter(f"resource {self.id} is a {self.kind.value}, not a shelter")
        if not 0 <= occupancy <= self.capacity:
            raise OccupancyExceedsCapacity(f"occupancy must be 0..{self.capacity}")
        self._record_occupancy(occupancy=occupancy, capacity=self.capacity, meta=meta)

    def offer_seats(self, *, offer: TransportOffer, by: Volunteer, meta: Meta) -> None:
        """Someone in touch with the driver states the transport's offer anew (seats, what
        it takes, when it leaves, from and to); never fewer seats than are held now."""
        by.ensure_active()
        self._ensure_not_withdrawn()
        _ensure_transport_kind(self.kind, self.id)
        offer.validate(meta.at)
        taken = self.seat_count.taken
        if offer.seats < taken:
            raise SeatsStillHeld(f"transport {self.id} has {taken} seats held or confirmed; "
                                 f"it cannot offer {offer.seats}: release holds first")
        self._record_transport_offered(**offer.as_event(), meta=meta)

    def hold_seats(self, *, hold_id: UUID, case_id: UUID, household: Household, seats: int,
                   until: datetime, by: Volunteer, meta: Meta) -> None:
        """Hold seats for a case until a time (see ensure_may_hold); use domain.seats, which
        records the case's side in the same unit of work."""
        by.ensure_active()
        self.ensure_may_hold(hold_id=hold_id, household=household, seats=seats, at=meta.at)
        self._record_seats_held(hold_id=hold_id, case_id=case_id, seats=seats, until=until,
                                held_by=by.id, meta=meta)

    def ensure_may_confirm(self, *, hold_id: UUID, at: datetime) -> dict[str, Any]:
        """The hold, unless it cannot be confirmed at `at`: gone, confirmed already, run
        out, or on a transport no longer usable or gone."""
        hold = self._current_hold(hold_id)
        if hold["confirmed"]:
            raise HoldAlreadyConfirmed(f"hold {hold_id} is confirmed already")
        if at >= hold["until"]:
            raise HoldExpired(hold_id, hold["until"])
        self.ensure_usable(at)
        self._ensure_not_left(at)
        return hold

    def confirm_hold(self, *, hold_id: UUID, by: Volunteer, meta: Meta) -> None:
        """The person will come: the held seats are confirmed (they no longer lapse)."""
        by.ensure_active()
        hold = self.ensure_may_confirm(hold_id=hold_id, at=meta.at)
        self._record_hold_confirmed(hold_id=hold_id, case_id=hold["case_id"],
                                    seats=hold["seats"], meta=meta)

    def ensure_may_release(self, *, hold_id: UUID, by: Volunteer | None,
                           meta: Meta) -> dict[str, Any]:
        """The hold, unless it is gone or nobody entitled releases it (by=None: a policy)."""
        if by is not None:
            by.ensure_active()
        elif not is_policy_actor(meta):
            raise NotPermitted("only a policy may release seats without an acting volunteer")
        return self._current_hold(hold_id)

    def release_hold(self, *, hold_id: UUID, why: HoldEnd, by: Volunteer | None,
                     meta: Meta) -> None:
        """Free a hold's seats, held or confirmed: let go, a no-show, a recall, a closing."""
        hold = self.ensure_may_release(hold_id=hold_id, by=by, meta=meta)
        self._record_hold_released(hold_id=hold_id, case_id=hold["case_id"],
                                   seats=hold["seats"], confirmed=hold["confirmed"],
                                   why=HoldEnd(why).value, meta=meta)

    def ensure_lapse_due(self, *, hold_id: UUID, at: datetime) -> dict[str, Any]:
        """The hold, if it is unconfirmed and its time has run out at `at`."""
        hold = self._current_hold(hold_id)
        if hold["confirmed"] or at < hold["until"]:
            raise HoldNotDue(f"hold {hold_id} is confirmed or runs until "
                             f"{hold['until'].isoformat()}")
        return hold

    def lapse_hold(self, *, hold_id: UUID, meta: Meta) -> None:
        """Record that an unconfirmed hold ran out, as of the tick's time meta.at."""
        hold = self.ensure_lapse_due(hold_id=hold_id, at=meta.at)
        self._record_hold_lapsed(hold_id=hold_id, case_id=hold["case_id"],
                                 seats=hold["seats"], meta=meta)

    def set_window(self, *, window: Window | None, by: Volunteer, meta: Meta) -> None:
        """A fact-checker or supervisor states when it may be relied on (a corridor agreed
        for tomorrow 10:00-16:00, a checkpoint's hours, a curfew), or that it no longer has
        a window (None)."""
        _ensure_checker_or_supervisor(by)
        self._ensure_not_withdrawn()
        if window is None:
            if self.window is None:
                raise InvalidWindow(f"resource {self.id} has no window to clear")
            self._record_window_cleared(meta=meta)
            return
        window = _as_kind_says(self.kind, window)
        window.validate()
        self._record_window_set(**window.as_event(), meta=meta)

    def retract(self, *, reason: str, by: Volunteer | None, meta: Meta) -> None:
        """Retract it as fake: by a fact-checker or supervisor, or (by=None) a policy."""
        if by is not None:
            _ensure_checker_or_supervisor(by)
        elif not is_policy_actor(meta):
            raise NotPermitted("only a policy may retract without an acting volunteer")
        self._ensure_not_withdrawn()
        self._record_retracted(reason=reason, meta=meta)

    def erase_personal_data(self, *, subject_id: UUID, by: Authority, meta: Meta) -> None:
        """An admin in good standing erases the contact person's data on request; the rest
        of the history stays."""
        if not by.holds_any({ROLE_GRANTER}):
            raise NotAnAdmin(f"{by.actor} does not act as an admin: only an admin erases a "
                             "resource contact's personal data")
        if self.contact is None or self.contact.erased or self.contact.subject_id != subject_id:
            raise NothingToErase(f"resource {self.id} holds no personal data of {subject_id}")
        self._record_personal_data_erased(subject_id=subject_id, meta=meta)

    # --- guards ----------------------------------------------------------------------------

    def _ensure_checker(self, by: Volunteer) -> None:
        """A fact-checker in good standing who did not report it. The reporter hears the
        own-report rule even without the role: no role would let them check their own
        report, so naming the role would send them after one that cannot help. Standing
        comes first: a banned or suspended volunteer checks nothing at all."""
        by.ensure_active()
        if by.id == self.reported_by:
            raise CannotVerifyOwnReport(
                f"volunteer {by.id} reported resource {self.id}: nobody verifies or rejects "
                "their own report; another fact-checker must")
        by.ensure_acting_as(Role.FACT_CHECKER)

    def _ensure_not_withdrawn(self) -> None:
        if self.is_withdrawn:
            raise ResourceWithdrawn(f"resource {self.id} is {self._status}")

    def _ensure_offers_seats(self) -> None:
        _ensure_transport_kind(self.kind, self.id)
        if self.seats is None:
            raise NoSeatsOffered(f"transport {self.id} has no seats on offer")

    def _ensure_not_left(self, at: datetime) -> None:
        if self.departs_until is not None and departure_passed(self.departs_until, at):
            raise DepartureWindowPassed(self.id, self.departs_until)

    def _current_hold(self, hold_id: UUID) -> dict[str, Any]:
        hold = self.hold(hold_id)
        if hold is None:
            raise HoldNotHeld(f"transport {self.id} has no current hold {hold_id}")
        return hold

    def _ensure_status_change(self, by: Volunteer, status: ResourceStatus) -> None:
        by.ensure_active()
        self._ensure_not_withdrawn()
        if self._status == status:
            raise ResourceStatusUnchanged(f"resource {self.id} is already {status.value}")

    # --- events ----------------------------------------------------------------------------

    @event("ResourceVerified")
    def _record_verified(self, verified_by: UUID, expires_at: datetime, meta: Meta) -> None:
        self._verification = Verification.VERIFIED.value
        self.verified_by = verified_by
        self.verified_at = meta.at
        self.verified_version = self.version + 1
        self.expires_at = expires_at

    @event("ResourceRejected")
    def _record_rejected(self, rejected_by: UUID, reason: str, meta: Meta) -> None:
        self._verification = Verification.REJECTED.value
        self.verified_by = None
        self.expires_at = None

    @event("VerificationExpired")
    def _record_expired(self, expired_at: datetime, meta: Meta) -> None:
        self._verification = Verification.EXPIRED.value

    @event("ResourceMarkedFull")
    def _record_full(self, reason: str, meta: Meta) -> None:
        self._set_status(ResourceStatus.FULL, reason)

    @event("ResourceMarkedUnsafe")
    def _record_unsafe(self, reason: str, meta: Meta) -> None:
        self._set_status(ResourceStatus.UNSAFE, reason)

    @event("ResourceClosed")
    def _record_closed(self, reason: str, meta: Meta) -> None:
        self._set_status(ResourceStatus.CLOSED, reason)

    @event("ResourceDestroyed")
    def _record_destroyed(self, reason: str, meta: Meta) -> None:
        self._set_status(ResourceStatus.DESTROYED, reason)

    @event("ResourceReopened")
    def _record_reopened(self, reason: str, meta: Meta) -> None:
        self._set_status(ResourceStatus.AVAILABLE, reason)

    @event("OccupancyUpdated")
    def _record_occupancy(self, occupancy: int, capacity: int, meta: Meta) -> None:
        self.occupancy = occupancy

    @event("ResourceRetracted")
    def _record_retracted(self, reason: str, meta: Meta) -> None:
        self._set_status(ResourceStatus.RETRACTED, reason)

    @event("PersonalDataErased")
    def _record_personal_data_erased(self, subject_id: UUID, meta: Meta) -> None:
        self.contact = PersonalData.erased_for(subject_id)

    @event("WindowSet")
    def _record_window_set(self, opens_at: datetime | None, closes_at: datetime | None,
                           daily_from: str | None, daily_until: str | None, time_zone: str,
                           closed_within: bool, meta: Meta) -> None:
        self.window = {"opens_at": opens_at, "closes_at": closes_at, "daily_from": daily_from,
                       "daily_until": daily_until, "time_zone": time_zone,
                       "closed_within": closed_within}

    @event("WindowCleared")
    def _record_window_cleared(self, meta: Meta) -> None:
        self.window = None

    @event("TransportOffered")
    def _record_transport_offered(self, seats: int, accepts: list[str],
                                  departs_from: datetime | None, departs_until: datetime | None,
                                  origin: str, destination: str, meta: Meta) -> None:
        self.seats = seats
        self.accepts = list(accepts)
        self.departs_from, self.departs_until = departs_from, departs_until
        self.origin, self.destination = origin, destination

    @event("SeatsHeld")
    def _record_seats_held(self, hold_id: UUID, case_id: UUID, seats: int, until: datetime,
                           held_by: UUID, meta: Meta) -> None:
        self.holds.append({"hold_id": hold_id, "case_id": case_id, "seats": seats,
                           "until": until, "confirmed": False, "held_by": held_by,
                           "held_at": meta.at})

    @event("HoldConfirmed")
    def _record_hold_confirmed(self, hold_id: UUID, case_id: UUID, seats: int,
                               meta: Meta) -> None:
        self.holds = [{**h, "confirmed": True} if h["hold_id"] == hold_id else h
                      for h in self.holds]

    @event("HoldReleased")
    def _record_hold_released(self, hold_id: UUID, case_id: UUID, seats: int, confirmed: bool,
                              why: str, meta: Meta) -> None:
        self.holds = [h for h in self.holds if h["hold_id"] != hold_id]

    @event("HoldLapsed")
    def _record_hold_lapsed(self, hold_id: UUID, case_id: UUID, seats: int,
                            meta: Meta) -> None:
        self.holds = [h for h in self.holds if h["hold_id"] != hold_id]

    def _set_status(self, status: ResourceStatus, reason: str) -> None:
        self._status = status.value
        self.status_reason = reason


def unusable_reason(*, status: str | None, verification: str | None,
                    expires_at: datetime | None, capacity: int | None, occupancy: int | None,
                    at: datetime) -> str | None:
    """Why a resource in this condition may not be handed out at `at` (its status,
    'unverified', 'rejected', 'expired' or 'full'), or None when it may. The aggregate's rule,
    and read models' too (they hold the same facts in rows)."""
    status = status or ResourceStatus.AVAILABLE.value
    if status not in (ResourceStatus.AVAILABLE, ResourceStatus.FULL):
        return status
    if verification != Verification.VERIFIED:
        return verification or Verification.UNVERIFIED.value
    if expires_at is None or at >= expires_at:
        return Verification.EXPIRED.value
    no_place_left = capacity is not None and (occupancy or 0) >= capacity  # only shelters
    if status == ResourceStatus.FULL or no_place_left:                       # have capacity
        return ResourceStatus.FULL.value
    return None


def _ensure_capacity_fits_kind(kind: ResourceKind, capacity: int | None) -> None:
    if kind is ResourceKind.SHELTER and (capacity is None or capacity < 1):
        raise InvalidResource("a shelter needs a capacity of at least one place")
    if kind is not ResourceKind.SHELTER and capacity is not None:
        raise NotAShelter("only shelters have a capacity")


def _as_kind_says(kind: ResourceKind, window: Window) -> Window:
    """A curfew's hours are when it is in force (closed); every other window's, when open."""
    return replace(window, closed_within=kind is ResourceKind.CURFEW)


def _ensure_transport_kind(kind: ResourceKind, resource_id: UUID) -> None:
    if kind is not ResourceKind.TRANSPORT:
        raise NotATransport(f"resource {resource_id} is a {kind.value}: only a transport "
                            "offers seats")


def _ensure_checker_or_supervisor(by: Volunteer) -> None:
    if by.has_role(Role.SUPERVISOR):
        by.ensure_acting_as(Role.SUPERVISOR)
    else:
        by.ensure_acting_as(Role.FACT_CHECKER)
