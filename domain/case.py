"""A case: one person's (or family's) way out, from the intake survey to follow-up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.aggregate import CoordinationAggregate
from domain.base import InvalidCommand, Meta, PersonalData
from domain.contact import ContactChannel, ContactNotDue
from domain.duplicates import CannotMergeIntoItself, NotPossibleDuplicates
from domain.errors import (
    AlreadyInSupportGroup,
    CaseAlreadyTaken,
    CaseClosed,
    CaseNotClosed,
    CaseNotTaken,
    CaseStillHoldsSeats,
    FlagAlreadyRaised,
    FlagNotRaised,
    FlagsStillRaised,
    HoldAlreadyConfirmed,
    HoldNotHeld,
    NoSupportGroup,
    NotASupervisor,
    NotCaseAssignee,
    NothingToErase,
    NotPermitted,
    OutcomeContradictsJourney,
    SeatsAlreadyHeld,
    StepOutOfOrder,
    SupportGroupAlreadyFormed,
)
from domain.intake import Intake, assess_urgency
from domain.journey import JourneyStage, Step, ensure_step_allowed, stage_after
from domain.policies import RecallReason, WindowReason
from domain.referral import Referral, ReferralNotAccepted
from domain.resource import Resource
from domain.roles import STAFF_ROLES, Authority, Role, is_policy_actor
from domain.transport import Household
from domain.vocabulary import CaseOutcome, CaseStatus, HoldEnd, Urgency
from domain.volunteer import Volunteer
from domain.windows import ZoneLookup, utc_only

FLAG_VOCABULARY = frozenset(r.value for r in (*RecallReason, *WindowReason))
"""Flag reasons that are machine vocabulary (the recall policy's, the window watch's):
readable on the board."""
TYPED_FLAG_REASON = "caseworker_concern"
"""The board's reason for a flag whose reason a person typed; the typed text is sealed."""


def flag_reason(reason: str) -> tuple[str, dict[str, str]]:
    """(the reason kept readable, the typed reason to seal, if any)."""
    if reason in FLAG_VOCABULARY:
        return reason, {}
    return TYPED_FLAG_REASON, {"reason": reason}


def _legacy_text(*names: str) -> Any:
    """The upcast to the version that seals these free-text fields as `personal`. The old
    version stored them in plaintext; at read time there is no key to seal them with, so
    they are wrapped as legacy plaintext (see PersonalData.legacy), never re-sealed in place."""

    def upcast(state: dict[str, Any]) -> None:
        fields = {name: state.pop(name, "") for name in names}
        state["personal"] = PersonalData.from_legacy(state["originator_id"], **fields)

    return staticmethod(upcast)


class Case(CoordinationAggregate):
    """A request for help and everything done about it; personal details stay sealed."""

    class_version = 3
    """Snapshots: version 2 keeps the journal and seals the flags' texts; version 3 keeps
    the seats the case holds on transports."""

    # Contact and duplicates (issue 23): class-level defaults, so that cases and snapshots
    # from before them read as "never marked"; values are replaced, never mutated.
    last_contact_at: datetime | None = None
    """The last contact with the person (a step of the journey or a contact that reached
    them); None: none since the intake."""
    contact_overdue_since: datetime | None = None
    """When the case became overdue for contact (None: not overdue)."""
    lost_contact_suspected_at: datetime | None = None
    """When the silence watch suspected lost contact (None: not suspected)."""
    contact_attempts: Sequence[dict[str, Any]] = ()
    """Every contact recorded: {"at", "actor", "channel", "reached"} (the note is sealed in
    the journal)."""
    possible_duplicates: Sequence[dict[str, Any]] = ()
    """Active cases that may be the same person: {"case_id", "matched_on", "found_at"}."""
    told_apart: Sequence[UUID] = ()
    """Cases a supervisor said are not the same person."""
    merged_into: UUID | None = None
    merged_case_ids: Sequence[UUID] = ()

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A version 1 snapshot has no journal (its texts stay in the events) and flags with
        plaintext reasons and details: those become legacy plaintext of the person."""
        state["journal"] = []
        for flag in state["flags"]:
            flag["reason"], typed = flag_reason(flag["reason"])
            flag["personal"] = PersonalData.from_legacy(
                state["person_id"], **typed, detail=flag.pop("detail", ""))

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        """A version 2 snapshot predates seat holds: the case held none."""
        state["seat_holds"] = []

    @classmethod
    def open(cls, *, case_id: UUID, person_id: UUID, intake: Intake, meta: Meta) -> Case:
        """Open a case from the intake survey; urgency follows from the answers."""
        intake.validate()
        return cls(id=case_id, person_id=person_id, urgency=assess_urgency(intake).value,
                   personal=intake.personal_data(person_id), meta=meta,
                   **intake.readable_answers())

    @event("CaseOpened")
    def __init__(
        self, id: UUID, person_id: UUID, urgency: str, personal: PersonalData,
        safe_now: bool, region: str, destination: str, contact_channel: str, adults: int,
        children_ages: list[int], pets: int, mobility_needs: bool, medical_needs: bool,
        needs_medicine: bool, needs_food: bool, needs_clothes: bool, languages: list[str],
        meta: Meta,
    ) -> None:
        self.person_id = person_id
        self._urgency = urgency
        self.personal = personal
        self.safe_now, self.region, self.destination = safe_now, region, destination
        self.contact_channel, self.adults, self.pets = contact_channel, adults, pets
        self.children_ages, self.languages = list(children_ages), list(languages)
        self.mobility_needs, self.medical_needs = mobility_needs, medical_needs
        self.needs_medicine, self.needs_food = needs_medicine, needs_food
        self.needs_clothes = needs_clothes
        self.opened_at = meta.at
        self._status = CaseStatus.UNASSIGNED.value
        self.assignee_id: UUID | None = None
        self.assigned_at: datetime | None = None
        self._stage = JourneyStage.WAITING.value
        self.borders_crossed = 0
        self.last_step_at: datetime | None = None
        self.arrived_at: datetime | None = None
        self.resource_ids: list[UUID] = []
        self.flags: list[dict[str, Any]] = []
        self.journal: list[dict[str, Any]] = []
        """Free text recorded with each step (advice, places, reasons), sealed: one entry
        per event, {"event", "at", "personal"}."""
        self.notes: list[PersonalData] = []
        self.follow_ups: list[PersonalData] = []
        self.psychologist_id: UUID | None = None
        self.support_member_ids: list[UUID] = []
        self._outcome: str | None = None
        self.closed_at: datetime | None = None
        self.seat_holds: list[dict[str, Any]] = []
        """Seats the case holds on transports now: {"hold_id", "resource_id", "seats",
        "until", "confirmed", "held_at"} (the transport keeps the same holds)."""

    # --- queries ---------------------------------------------------------------------------

    @property
    def urgency(self) -> Urgency:
        """How soon the case needs a volunteer."""
        return Urgency(self._urgency)

    @property
    def status(self) -> CaseStatus:
        """Unassigned, assigned or closed."""
        return CaseStatus(self._status)

    @property
    def stage(self) -> JourneyStage:
        """Where the person is on the way out."""
        return JourneyStage(self._stage)

    @property
    def outcome(self) -> CaseOutcome | None:
        """How the case ended, while it is closed."""
        return None if self._outcome is None else CaseOutcome(self._outcome)

    @property
    def is_active(self) -> bool:
        """True unless closed: active cases are recalled when a resource changes."""
        return self._status != CaseStatus.CLOSED

    @property
    def has_support_group(self) -> bool:
        """True while a support group is formed."""
        return self.psychologist_id is not None

    @property
    def household(self) -> Household:
        """Who travels, from the intake: what a transport must seat and take."""
        return Household(adults=self.adults, children=len(self.children_ages), pets=self.pets,
                         mobility_needs=self.mobility_needs)

    def seat_hold(self, hold_id: UUID) -> dict[str, Any] | None:
        """The case's current hold with this id, or None."""
        return next((h for h in self.seat_holds if h["hold_id"] == hold_id), None)

    def relies_on(self, resource_id: UUID) -> bool:
        """True when a step of this (active) case relies on the resource."""
        return resource_id in self.resource_ids

    def is_assigned_to(self, volunteer_id: UUID) -> bool:
        """True when the volunteer is the case's assignee."""
        return self.assignee_id == volunteer_id

    @property
    def contact_since(self) -> datetime:
        """The last contact with the person, or the intake if there was none."""
        return self.last_contact_at or self.opened_at

    def is_possible_duplicate_of(self, case_id: UUID) -> bool:
        """True while the other case is marked as maybe the same person."""
        return any(d["case_id"] == case_id for d in self.possible_duplicates)

    # --- assignment ------------------------------------------------------------------------

    def take(self, *, volunteer: Volunteer, meta: Meta) -> None:
        """A cleared volunteer takes an unassigned case."""
        self._ensure_open()
        volunteer.ensure_cleared_for_casework()
        if self.assignee_id is not None:
            raise CaseAlreadyTaken(f"case {self.id} is held by {self.assignee_id}")
        self._record_taken(volunteer_id=volunteer.id, meta=meta)

    def assign(self, *, volunteer: Volunteer, by: Volunteer, meta: Meta) -> None:
        """A supervisor assigns or reassigns the case to a cleared volunteer."""
        self._ensure_open()
        by.ensure_acting_as(Role.SUPERVISOR)
        volunteer.ensure_cleared_for_casework()
        if self.assignee_id == volunteer.id:
            raise CaseAlreadyTaken(f"case {self.id} is already held by {volunteer.id}")
        self._record_assigned(volunteer_id=volunteer.id, previous_volunteer_id=self.assignee_id,
                              meta=meta)

    def release(self, *, reason: str, by: Volunteer | None, meta: Meta) -> None:
        """The assignee or a supervisor (or, with by=None, a policy) hands the case back."""
        self._ensure_open()
        if self.assignee_id is None:
            raise CaseNotTaken(f"case {self.id} has no assignee")
        self._ensure_may_work_or_policy(by, meta)
        self._record_released(volunteer_id=self.assignee_id, personal=self._said(reason=reason),
                              meta=meta)

    # --- journey ---------------------------------------------------------------------------

    def give_advice(self, *, text: str, by: Volunteer, meta: Meta,
                    resources: Sequence[Resource] = (), zones: ZoneLookup = utc_only) -> None:
        """Record advice, naming any resources it relies on: each usable and inside its
        window (a time zone by name from `zones`)."""
        self._ensure_may_work(by)
        if not text.strip():
            raise InvalidCommand("advice needs a text")
        ids = _usable_ids(resources, meta.at, zones)
        self._record_advice(personal=self._said(text=text), resource_ids=ids, meta=meta)

    def arrange_transport(self, *, resources: Sequence[Resource], description: str,
                          by: Volunteer, meta: Meta, zones: ZoneLookup = utc_only) -> None:
        """Record transport arranged on resources (driver, bus, route...), each usable and
        inside its window (a transport not left yet)."""
        self._ensure_may_work(by)
        if self.stage is JourneyStage.ARRIVED:
            raise StepOutOfOrder("TransportArranged", self._stage)
        if not resources:
            raise InvalidCommand("transport relies on at least one resource")
        ids = _usable_ids(resources, meta.at, zones)
        self._record_transport(personal=self._said(description=description), resource_ids=ids,
                               meta=meta)

    def record_departure(self, *, by: Volunteer, meta: Meta) -> None:
        """The person set off (again)."""
        self._ensure_step(Step.DEPARTED, by)
        self._record_departed(meta=meta)

    def record_checkpoint(self, *, checkpoint: str, by: Volunteer, meta: Meta) -> None:
        """The person reached a checkpoint on the way."""
        self._ensure_step(Step.CHECKPOINT_REACHED, by)
        self._record_checkpoint(personal=self._said(checkpoint=checkpoint), meta=meta)

    def record_stuck(self, *, place: str, reason: str, by: Volunteer, meta: Meta) -> None:
        """The person is stuck on the way (place is readable, e.g. a town or checkpoint)."""
        self._ensure_step(Step.STUCK, by)
        self._record_stuck(personal=self._said(place=place, reason=reason), meta=meta)

    def record_return(self, *, reason: str, by: Volunteer, meta: Meta) -> None:
        """The person turned back."""
        self._ensure_step(Step.RETURNED, by)
        self._record_returned(personal=self._said(reason=reason), meta=meta)

    def record_border_crossing(self, *, crossing: str, by: Volunteer, meta: Meta) -> None:
        """The person crossed a border (crossing is its readable name)."""
        self._ensure_step(Step.BORDER_CROSSED, by)
        self._record_border_crossed(personal=self._said(crossing=crossing), meta=meta)

    def record_arrival(self, *, place: str, by: Volunteer, meta: Meta) -> None:
        """The person arrived somewhere safe."""
        self._ensure_step(Step.ARRIVED_SAFE, by)
        self._record_arrived(personal=self._said(place=place), meta=meta)

    def record_cannot_leave(self, *, reason: str, by: Volunteer, meta: Meta) -> None:
        """The person cannot leave; the case now keeps them safe where they are."""
        self._ensure_step(Step.CANNOT_LEAVE, by)
        self._record_cannot_leave(personal=self._said(reason=reason), meta=meta)

    def add_note(self, *, text: str, by: Volunteer, meta: Meta) -> None:
        """A note about the person (personal data) by the assignee, a supervisor or group."""
        self._ensure_open()
        by.ensure_active()
        if not (by.id in self.support_member_ids or by.id == self.psychologist_id):
            self._ensure_may_work(by)
        self._record_note(note=PersonalData.of(self.person_id, text=text), meta=meta)

    # --- seats on transport ----------------------------------------------------------------
    # Seats move between a case and a transport in one unit of work (domain.seats): each side
    # checks its own rules first, then each records its own event.

    def ensure_may_hold_seats(self, *, hold_id: UUID, resource_id: UUID,
                              by: Volunteer) -> None:
        """Raise unless `by` may hold seats for this case on the transport: the assignee or
        a supervisor, an open case not arrived yet, one hold per transport."""
        self._ensure_may_work(by)
        if self.stage is JourneyStage.ARRIVED:
            raise StepOutOfOrder("TransportSeatsHeld", self._stage)
        if self.seat_hold(hold_id) is not None or any(
                h["resource_id"] == resource_id for h in self.seat_holds):
            raise SeatsAlreadyHeld(f"case {self.id} holds seats on transport {resource_id} "
                                   "already: release that hold to hold another number")

    def hold_seats(self, *, hold_id: UUID, resource_id: UUID, seats: int, until: datetime,
                   by: Volunteer, meta: Meta) -> None:
        """Record seats held for the case on a transport (the journey relies on it now)."""
        self.ensure_may_hold_seats(hold_id=hold_id, resource_id=resource_id, by=by)
        self._record_seats_held(resource_id=resource_id, hold_id=hold_id, seats=seats,
                                until=until, meta=meta)

    def ensure_may_confirm_seats(self, *, hold_id: UUID, by: Volunteer) -> dict[str, Any]:
        """The case's unconfirmed hold, if `by` may confirm it."""
        self._ensure_may_work(by)
        hold = self._current_seat_hold(hold_id)
        if hold["confirmed"]:
            raise HoldAlreadyConfirmed(f"hold {hold_id} is confirmed already")
        return hold

    def confirm_seats(self, *, hold_id: UUID, by: Volunteer, meta: Meta) -> None:
        """Record that the person takes the held seats."""
        hold = self.ensure_may_confirm_seats(hold_id=hold_id, by=by)
        self._record_seats_confirmed(resource_id=hold["resource_id"], hold_id=hold_id,
                                     seats=hold["seats"], meta=meta)

    def ensure_may_release_seats(self, *, hold_id: UUID, by: Volunteer | None,
                                 meta: Meta) -> dict[str, Any]:
        """The case's hold, if `by` (the assignee or a supervisor; None: a policy) may let
        it go."""
        self._ensure_may_work_or_policy(by, meta, closed_ok=by is None)
        return self._current_seat_hold(hold_id)

    def release_seats(self, *, hold_id: UUID, why: HoldEnd, by: Volunteer | None,
                      meta: Meta) -> None:
        """Record that the case's seats on a transport were freed, and why."""
        hold = self.ensure_may_release_seats(hold_id=hold_id, by=by, meta=meta)
        self._record_seats_released(resource_id=hold["resource_id"], hold_id=hold_id,
                                    seats=hold["seats"], confirmed=hold["confirmed"],
                                    why=HoldEnd(why).value, meta=meta)

    def ensure_may_lapse_seats(self, *, hold_id: UUID, meta: Meta) -> dict[str, Any]:
        """The case's hold, if a policy is lapsing it (the transport says whether it is due)."""
        if not is_policy_actor(meta):
            raise NotPermitted("only a policy lapses a hold")
        return self._current_seat_hold(hold_id)

    def record_seats_lapsed(self, *, hold_id: UUID, meta: Meta) -> None:
        """A policy records that the case's unconfirmed hold ran out (the transport says
        when; it lapses there in the same unit of work)."""
        hold = self.ensure_may_lapse_seats(hold_id=hold_id, meta=meta)
        self._record_seats_lapsed(resource_id=hold["resource_id"], hold_id=hold_id,
                                  seats=hold["seats"], meta=meta)

    # --- flags -----------------------------------------------------------------------------

    def flag(self, *, flag_id: UUID, reason: str, by: Volunteer | None, meta: Meta,
             detail: str = "", resource_id: UUID | None = None,
             closes_at: datetime | None = None) -> None:
        """Raise a flag (e.g. a resource it relies on became unsafe, or its window closes at
        `closes_at`); by=None for a policy."""
        self._ensure_open()
        self._ensure_may_work_or_policy(by, meta)
        if self._flag_index(flag_id) is not None:
            raise FlagAlreadyRaised(f"flag {flag_id} is already raised on case {self.id}")
        readable, typed = flag_reason(reason)
        self._record_flagged(flag_id=flag_id, reason=readable,
                             personal=self._said(**typed, detail=detail),
                             resource_id=resource_id, closes_at=closes_at, meta=meta)

    def clear_flag(self, *, flag_id: UUID, reason: str, by: Volunteer, meta: Meta) -> None:
        """Clear a raised flag, saying why."""
        self._ensure_may_work(by)
        if self._flag_index(flag_id) is None:
            raise FlagNotRaised(f"no flag {flag_id} on case {self.id}")
        self._record_flag_cleared(flag_id=flag_id, personal=self._said(reason=reason),
                                  meta=meta)

    # --- support group ---------------------------------------------------------------------

    def form_support_group(self, *, psychologist: Volunteer, members: Sequence[Volunteer],
                           by: Volunteer, meta: Meta) -> None:
        """Form a support group: a psychologist plus cleared volunteers."""
        self._ensure_may_work(by)
        if self.has_support_group:
            raise SupportGroupAlreadyFormed(f"case {self.id} has a support group")
        psychologist.ensure_acting_as(Role.PSYCHOLOGIST)
        for member in members:
            member.ensure_cleared_for_casework()
        member_ids = list(dict.fromkeys(m.id for m in members if m.id != psychologist.id))
        self._record_group_formed(psychologist_id=psychologist.id, member_ids=member_ids,
                                  meta=meta)

    def add_support_member(self, *, member: Volunteer, by: Volunteer, meta: Meta) -> None:
        """Add a cleared volunteer to the support group."""
        self._ensure_may_work(by)
        if not self.has_support_group:
            raise NoSupportGroup(f"case {self.id} has no support group")
        member.ensure_cleared_for_casework()
        if member.id in self.support_member_ids or member.id == self.psychologist_id:
            raise AlreadyInSupportGroup(f"volunteer {member.id} is in the group")
        self._record_group_member_added(member_id=member.id, meta=meta)

    def dissolve_support_group(self, *, reason: str, by: Volunteer, meta: Meta) -> None:
        """Dissolve the support group."""
        self._ensure_may_work(by)
        if not self.has_support_group:
            raise NoSupportGroup(f"case {self.id} has no support group")
        self._record_group_dissolved(personal=self._said(reason=reason), meta=meta)

    # --- closing ---------------------------------------------------------------------------

    def close(self, *, outcome: CaseOutcome, by: Volunteer, meta: Meta,
              referral: Referral | None = None) -> None:
        """Close with an outcome; 'evacuated' needs an arrival, 'stays' excludes one,
        'referred_elsewhere' a `referral` of this case that the partner accepted.

        'evacuated' and 'stays' say the person is safe (arrived, or kept safe where they
        are), so they need every raised flag cleared first (FlagsStillRaised): a recalled
        shelter or bus is checked, with a reason, not closed over. 'lost_contact' and
        'referred_elsewhere' claim nothing the network can still check: their flags stay
        raised on the closed case and are there again if it is reopened.
        """
        outcome = self.ensure_may_close(outcome=outcome, by=by, referral=referral)
        if self.seat_holds:
            raise CaseStillHoldsSeats(f"case {self.id} still holds seats: a closing "
                                      "releases them first (domain.seats.close_case)")
        self._record_closed(outcome=outcome.value, meta=meta)

    def ensure_may_close(self, *, outcome: CaseOutcome, by: Volunteer,
                         referral: Referral | None = None) -> CaseOutcome:
        """The outcome, if `by` may close the case with it now (see close)."""
        self._ensure_may_work(by)
        outcome = CaseOutcome(outcome)
        if outcome is CaseOutcome.REFERRED_ELSEWHERE and not (
                referral is not None and referral.case_id == self.id and referral.is_accepted):
            raise ReferralNotAccepted(f"case {self.id} closes as 'referred_elsewhere' only "
                                      "naming a referral of it that the partner accepted")
        arrived = self.stage is JourneyStage.ARRIVED
        if ((outcome is CaseOutcome.EVACUATED and not arrived)
                or (outcome is CaseOutcome.STAYS and arrived)):
            raise OutcomeContradictsJourney(f"'{outcome.value}' at stage '{self._stage}'")
        if outcome is CaseOutcome.MERGED:
            raise InvalidCommand("a case closes as merged only by a supervisor's merge "
                                 "(cases.merge), which names the case it is merged into")
        if outcome in (CaseOutcome.EVACUATED, CaseOutcome.STAYS) and self.flags:
            raise FlagsStillRaised(self.id, outcome.value,
                                   [(f["flag_id"], f["reason"]) for f in self.flags])
        return outcome

    def reopen(self, *, reason: str, by: Volunteer, meta: Meta) -> None:
        """Reopen a closed case; it stays with the assignee only if they reopen it."""
        if self.is_active:
            raise CaseNotClosed(f"case {self.id} is open")
        self._ensure_may_work(by, closed_ok=True)
        keep = self.assignee_id if by.id == self.assignee_id else None
        self._record_reopened(personal=self._said(reason=reason), assignee_id=keep, meta=meta)

    def record_follow_up(self, *, text: str, by: Volunteer, meta: Meta) -> None:
        """Keep in touch after arrival (open or closed case); the note is personal data."""
        self._ensure_may_work(by, closed_ok=True)
        if self.stage is not JourneyStage.ARRIVED:
            raise StepOutOfOrder("FollowUpRecorded", self._stage)
        self._record_follow_up(note=PersonalData.of(self.person_id, text=text), meta=meta)

    def erase_personal_data(self, *, subject_id: UUID, by: Authority, meta: Meta) -> None:
        """A supervisor or admin in good standing erases every piece of the subject's
        personal data on the case; the history stays. `by` is their authority now, not what
        an older token says: a demoted or banned supervisor erases nothing."""
        if not by.holds_any(STAFF_ROLES):
            raise NotASupervisor(f"{by.actor} does not act as a supervisor or admin: only "
                                 "they erase a person's data on a case")
        held = [self.personal, *self.notes, *self.follow_ups,
                *(entry["personal"] for entry in [*self.journal, *self.flags])]
        if not any(p.subject_id == subject_id and not p.erased for p in held):
            raise NothingToErase(f"case {self.id} holds no personal data of {subject_id}")
        self._record_personal_data_erased(subject_id=subject_id, meta=meta)

    # --- contact ---------------------------------------------------------------------------

    def record_contact(self, *, channel: ContactChannel, reached: bool, by: Volunteer,
                       meta: Meta, note: str = "") -> None:
        """Record a try to reach the person (the assignee or a supervisor), reached or not;
        one that reached them clears contact overdue and possible lost contact."""
        self._ensure_may_work(by)
        self._record_contact(channel=ContactChannel(channel).value, reached=reached,
                             personal=self._said(note=note), meta=meta)

    def ensure_silent_since(self, since: datetime, meta: Meta) -> None:
        """Raise unless a policy acts on an active case not heard from since `since`."""
        self._ensure_may_work_or_policy(None, meta)
        if self.contact_since != since:
            raise ContactNotDue(f"case {self.id} was in contact at {self.contact_since}")

    def mark_contact_overdue(self, *, since: datetime, due_at: datetime, meta: Meta) -> None:
        """The silence watch: the case has gone one interval without contact since `since`."""
        self.ensure_silent_since(since, meta)
        if due_at > meta.at:
            raise ContactNotDue(f"case {self.id} is due for contact only at {due_at}")
        self._record_contact_overdue(last_contact_at=since, due_at=due_at, meta=meta)

    def suspect_lost_contact(self, *, since: datetime, missed: int, meta: Meta) -> None:
        """The silence watch: `missed` intervals without contact; a supervisor should look.
        The case stays open: nobody is given up on by a clock."""
        self.ensure_silent_since(since, meta)
        self._record_lost_contact_suspected(last_contact_at=since, missed_intervals=missed,
                                            meta=meta)

    # --- duplicates ------------------------------------------------------------------------

    def may_be_marked_duplicate_of(self, other_case_id: UUID) -> bool:
        """Whether the duplicate watch may still mark this case against the other one."""
        return (self.is_active and other_case_id != self.id
                and not self.is_possible_duplicate_of(other_case_id)
                and other_case_id not in self.told_apart
                and other_case_id not in self.merged_case_ids)

    def mark_possible_duplicate(self, *, other_case_id: UUID, matched_on: Sequence[str],
                                meta: Meta) -> None:
        """The duplicate watch: the other active case's blind index matches this one's."""
        self._ensure_may_work_or_policy(None, meta)
        if other_case_id == self.id:
            raise CannotMergeIntoItself(f"case {self.id} is not a duplicate of itself")
        self._record_possible_duplicate(other_case_id=other_case_id,
                                        matched_on=sorted(matched_on), meta=meta)

    def tell_apart(self, *, other_case_id: UUID, by: Volunteer, meta: Meta) -> None:
        """A supervisor says the other case is not the same person."""
        by.ensure_acting_as(Role.SUPERVISOR)
        if not self.is_possible_duplicate_of(other_case_id):
            raise NotPossibleDuplicates(f"case {self.id} is not marked as a possible "
                                        f"duplicate of {other_case_id}")
        self._record_told_apart(other_case_id=other_case_id, meta=meta)

    def ensure_may_merge(self, *, other: Case, by: Volunteer) -> None:
        """Raise unless a supervisor may merge these two open cases (either way round)."""
        by.ensure_acting_as(Role.SUPERVISOR)
        if other.id == self.id:
            raise CannotMergeIntoItself(f"case {self.id} cannot be merged into itself")
        self._ensure_open()
        other._ensure_open()

    def merge_into(self, *, survivor: Case, by: Volunteer, meta: Meta) -> None:
        """This case is the same person as `survivor`: it closes as merged into it, holding
        no seats; both histories stay, each naming the other."""
        self.ensure_may_merge(other=survivor, by=by)
        if self.seat_holds:
            raise CaseStillHoldsSeats(f"case {self.id} still holds seats: release them "
                                      "before merging it into another case")
        self._record_merged_into(survivor_case_id=survivor.id, meta=meta)
        self._record_closed(outcome=CaseOutcome.MERGED.value, meta=meta)

    def take_in(self, *, merged: Case, by: Volunteer, meta: Meta) -> None:
        """Record on the surviving case that `merged` was merged into it."""
        if merged.merged_into != self.id:
            raise NotPossibleDuplicates(f"case {merged.id} was not merged into {self.id}")
        by.ensure_acting_as(Role.SUPERVISOR)
        self._record_merged_in(merged_case_id=merged.id, meta=meta)

    # --- guards ----------------------------------------------------------------------------

    def _ensure_open(self) -> None:
        if not self.is_active:
            raise CaseClosed(f"case {self.id} is closed")

    def _ensure_may_work(self, by: Volunteer, *, closed_ok: bool = False) -> None:
        if not closed_ok:
            self._ensure_open()
        by.ensure_active()
        if by.id != self.assignee_id and not by.has_role(Role.SUPERVISOR):
            raise NotCaseAssignee(f"volunteer {by.id} does not hold case {self.id}")

    def _ensure_may_work_or_policy(self, by: Volunteer | None, meta: Meta, *,
                                   closed_ok: bool = False) -> None:
        if by is not None:
            self._ensure_may_work(by)
        elif not is_policy_actor(meta):
            raise NotPermitted("only a policy may act without an acting volunteer")
        elif not closed_ok:
            self._ensure_open()

    def _current_seat_hold(self, hold_id: UUID) -> dict[str, Any]:
        hold = self.seat_hold(hold_id)
        if hold is None:
            raise HoldNotHeld(f"case {self.id} holds no seats under hold {hold_id}")
        return hold

    def _ensure_step(self, step: Step, by: Volunteer) -> None:
        self._ensure_may_work(by)
        ensure_step_allowed(self.stage, step)

    def _said(self, **free_text: str) -> PersonalData:
        """Free text a person typed about the case: personal data of the case's person. Once
        their data is erased, nothing more can be kept about them: the step is recorded, its
        text is not."""
        if self.personal.erased:
            return PersonalData.erased_for(self.person_id)
        return PersonalData.of(self.person_id, **free_text)

    def _flag_index(self, flag_id: UUID) -> int | None:
        return next((i for i, f in enumerate(self.flags) if f["flag_id"] == flag_id), None)

    # --- events: assignment ----------------------------------------------------------------

    @event("CaseTaken")
    def _record_taken(self, volunteer_id: UUID, meta: Meta) -> None:
        self._assign_to(volunteer_id, meta.at)

    @event("CaseAssigned")
    def _record_assigned(self, volunteer_id: UUID, previous_volunteer_id: UUID | None,
                         meta: Meta) -> None:
        self._assign_to(volunteer_id, meta.at)

    class CaseReleased(CoordinationAggregate.Event):
        """The assignee let go of the case. Version 2 added a reason, version 3 sealed it."""

        class_version = 3
        volunteer_id: UUID
        personal: PersonalData
        meta: Meta

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 releases carried no reason."""
            state["reason"] = "not recorded"

        upcast_v2_v3 = _legacy_text("reason")

    @event(CaseReleased)
    def _record_released(self, volunteer_id: UUID, personal: PersonalData, meta: Meta) -> None:
        self._write_down("CaseReleased", personal, meta)
        self._status = CaseStatus.UNASSIGNED.value
        self.assignee_id = None
        self.assigned_at = None

    def _assign_to(self, volunteer_id: UUID, at: datetime) -> None:
        self._status = CaseStatus.ASSIGNED.value
        self.assignee_id = volunteer_id
        self.assigned_at = at

    # --- events: journey -------------------------------------------------------------------
    # Version 2 of an event with free text seals it as `personal` (the case person's data);
    # version 1 stored it in plaintext and is upcast by _legacy_text.

    class AdviceGiven(CoordinationAggregate.Event):
        """Advice given, relying on resources. Version 2 sealed the text."""

        class_version = 2
        personal: PersonalData
        resource_ids: list[UUID]
        meta: Meta
        upcast_v1_v2 = _legacy_text("text")

    @event(AdviceGiven)
    def _record_advice(self, personal: PersonalData, resource_ids: list[UUID],
                       meta: Meta) -> None:
        self._rely_on(resource_ids)
        self._write_down("AdviceGiven", personal, meta)
        self._heard_from(meta.at)

    class TransportArranged(CoordinationAggregate.Event):
        """Transport arranged on resources. Version 2 sealed the description."""

        class_version = 2
        personal: PersonalData
        resource_ids: list[UUID]
        meta: Meta
        upcast_v1_v2 = _legacy_text("description")

    @event(TransportArranged)
    def _record_transport(self, personal: PersonalData, resource_ids: list[UUID],
                          meta: Meta) -> None:
        self._rely_on(resource_ids)
        self._write_down("TransportArranged", personal, meta)
        self._heard_from(meta.at)

    @event("Departed")
    def _record_departed(self, meta: Meta) -> None:
        self._moved(Step.DEPARTED, meta.at)

    class CheckpointReached(CoordinationAggregate.Event):
        """A checkpoint reached. Version 2 sealed its name."""

        class_version = 2
        personal: PersonalData
        meta: Meta
        upcast_v1_v2 = _legacy_text("checkpoint")

    @event(CheckpointReached)
    def _record_checkpoint(self, personal: PersonalData, meta: Meta) -> None:
        self._moved(Step.CHECKPOINT_REACHED, meta.at)
        self._write_down("CheckpointReached", personal, meta)

    class Stuck(CoordinationAggregate.Event):
        """Stuck on the way. Version 2 sealed the place and the reason."""

        class_version = 2
        personal: PersonalData
        meta: Meta
        upcast_v1_v2 = _legacy_text("place", "reason")

    @event(Stuck)
    def _record_stuck(self, personal: PersonalData, meta: Meta) -> None:
        self._moved(Step.STUCK, meta.at)
        self._write_down("Stuck", personal, meta)

    class Returned(CoordinationAggregate.Event):
        """Turned back. Version 2 sealed the reason."""

        class_version = 2
        personal: PersonalData
        meta: Meta
        upcast_v1_v2 = _legacy_text("reason")

    @event(Returned)
    def _record_returned(self, personal: PersonalData, meta: Meta) -> None:
        self._moved(Step.RETURNED, meta.at)
        self._write_down("Returned", personal, meta)

    class BorderCrossed(CoordinationAggregate.Event):
        """A border crossed. Version 2 sealed the crossing's name."""

        class_version = 2
        personal: PersonalData
        meta: Meta
        upcast_v1_v2 = _legacy_text("crossing")

    @event(BorderCrossed)
    def _record_border_crossed(self, personal: PersonalData, meta: Meta) -> None:
        self._moved(Step.BORDER_CROSSED, meta.at)
        self.borders_crossed += 1
        self._write_down("BorderCrossed", personal, meta)

    class ArrivedSafe(CoordinationAggregate.Event):
        """Arrived somewhere safe. Version 2 sealed the place."""

        class_version = 2
        personal: PersonalData
        meta: Meta
        upcast_v1_v2 = _legacy_text("place")

    @event(ArrivedSafe)
    def _record_arrived(self, personal: PersonalData, meta: Meta) -> None:
        self._moved(Step.ARRIVED_SAFE, meta.at)
        self.arrived_at = meta.at
        self._write_down("ArrivedSafe", personal, meta)

    class CannotLeave(CoordinationAggregate.Event):
        """The person cannot leave. Version 2 sealed the reason."""

        class_version = 2
        personal: PersonalData
        meta: Meta
        upcast_v1_v2 = _legacy_text("reason")

    @event(CannotLeave)
    def _record_cannot_leave(self, personal: PersonalData, meta: Meta) -> None:
        self._moved(Step.CANNOT_LEAVE, meta.at)
        self._write_down("CannotLeave", personal, meta)

    @event("NoteAdded")
    def _record_note(self, note: PersonalData, meta: Meta) -> None:
        self.notes.append(note)

    @event("TransportSeatsHeld")
    def _record_seats_held(self, resource_id: UUID, hold_id: UUID, seats: int,
                           until: datetime, meta: Meta) -> None:
        self._rely_on([resource_id])
        self.seat_holds.append({"hold_id": hold_id, "resource_id": resource_id,
                                "seats": seats, "until": until, "confirmed": False,
                                "held_at": meta.at})
        self._heard_from(meta.at)

    @event("TransportSeatsConfirmed")
    def _record_seats_confirmed(self, resource_id: UUID, hold_id: UUID, seats: int,
                                meta: Meta) -> None:
        self.seat_holds = [{**h, "confirmed": True} if h["hold_id"] == hold_id else h
                           for h in self.seat_holds]
        self._heard_from(meta.at)

    @event("TransportSeatsReleased")
    def _record_seats_released(self, resource_id: UUID, hold_id: UUID, seats: int,
                               confirmed: bool, why: str, meta: Meta) -> None:
        self.seat_holds = [h for h in self.seat_holds if h["hold_id"] != hold_id]

    @event("TransportSeatsLapsed")
    def _record_seats_lapsed(self, resource_id: UUID, hold_id: UUID, seats: int,
                             meta: Meta) -> None:
        self.seat_holds = [h for h in self.seat_holds if h["hold_id"] != hold_id]

    def _moved(self, step: Step, at: datetime) -> None:
        self._stage = stage_after(step).value
        self.last_step_at = at
        self._heard_from(at)

    def _heard_from(self, at: datetime) -> None:
        """Any step of the journey (domain.contact.CONTACT_STEP_EVENTS) is contact."""
        self.last_contact_at = at
        if self.contact_overdue_since is not None:  # only what changed enters the state
            self.contact_overdue_since = None       # (an audit's diff shows no no-ops)
        if self.lost_contact_suspected_at is not None:
            self.lost_contact_suspected_at = None

    def _rely_on(self, resource_ids: list[UUID]) -> None:
        self.resource_ids.extend(r for r in resource_ids if r not in self.resource_ids)

    def _write_down(self, event_name: str, personal: PersonalData, meta: Meta) -> None:
        self.journal.append({"event": event_name, "at": meta.at,
                             "personal": personal.belonging_to(self.person_id)})

    # --- events: flags and support group ---------------------------------------------------

    class CaseFlagged(CoordinationAggregate.Event):
        """A flag raised. Version 2 sealed the detail and any typed reason (see flag_reason);
        version 3 carries when the window it is about closes (or closed), readable."""

        class_version = 3
        flag_id: UUID
        reason: str
        personal: PersonalData
        resource_id: UUID | None
        closes_at: datetime | None
        meta: Meta

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 kept the reason and the detail in plaintext."""
            state["reason"], typed = flag_reason(state["reason"])
            state["personal"] = PersonalData.from_legacy(
                state["originator_id"], **typed, detail=state.pop("detail", ""))

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Version 2 flags were about no window."""
            state["closes_at"] = None

    @event(CaseFlagged)
    def _record_flagged(self, flag_id: UUID, reason: str, personal: PersonalData,
                        resource_id: UUID | None, closes_at: datetime | None,
                        meta: Meta) -> None:
        personal = personal.belonging_to(self.person_id)
        self.flags.append({"flag_id": flag_id, "reason": reason, "personal": personal,
                           "resource_id": resource_id, "raised_at": meta.at})
        self._write_down("CaseFlagged", personal, meta)

    class FlagCleared(CoordinationAggregate.Event):
        """A flag cleared. Version 2 sealed the reason."""

        class_version = 2
        flag_id: UUID
        personal: PersonalData
        meta: Meta
        upcast_v1_v2 = _legacy_text("reason")

    @event(FlagCleared)
    def _record_flag_cleared(self, flag_id: UUID, personal: PersonalData, meta: Meta) -> None:
        self.flags = [f for f in self.flags if f["flag_id"] != flag_id]
        self._write_down("FlagCleared", personal, meta)

    @event("SupportGroupFormed")
    def _record_group_formed(self, psychologist_id: UUID, member_ids: list[UUID],
                             meta: Meta) -> None:
        self.psychologist_id = psychologist_id
        self.support_member_ids = list(member_ids)

    @event("SupportGroupMemberAdded")
    def _record_group_member_added(self, member_id: UUID, meta: Meta) -> None:
        self.support_member_ids.append(member_id)

    class SupportGroupDissolved(CoordinationAggregate.Event):
        """The support group dissolved. Version 2 sealed the reason."""

        class_version = 2
        personal: PersonalData
        meta: Meta
        upcast_v1_v2 = _legacy_text("reason")

    @event(SupportGroupDissolved)
    def _record_group_dissolved(self, personal: PersonalData, meta: Meta) -> None:
        self.psychologist_id = None
        self.support_member_ids = []
        self._write_down("SupportGroupDissolved", personal, meta)

    # --- events: closing and erasure -------------------------------------------------------

    @event("CaseClosed")
    def _record_closed(self, outcome: str, meta: Meta) -> None:
        self._status = CaseStatus.CLOSED.value
        self._outcome = outcome
        self.closed_at = meta.at
        self.resource_ids = []

    class CaseReopened(CoordinationAggregate.Event):
        """A closed case reopened. Version 2 sealed the reason."""

        class_version = 2
        personal: PersonalData
        assignee_id: UUID | None
        meta: Meta
        upcast_v1_v2 = _legacy_text("reason")

    @event(CaseReopened)
    def _record_reopened(self, personal: PersonalData, assignee_id: UUID | None,
                         meta: Meta) -> None:
        self._write_down("CaseReopened", personal, meta)
        self._status = (CaseStatus.UNASSIGNED if assignee_id is None
                        else CaseStatus.ASSIGNED).value
        self.assignee_id = assignee_id
        self.assigned_at = self.assigned_at if assignee_id is not None else None
        self._outcome = None
        self.closed_at = None

    @event("FollowUpRecorded")
    def _record_follow_up(self, note: PersonalData, meta: Meta) -> None:
        self.follow_ups.append(note)
        self._heard_from(meta.at)

    @event("PersonalDataErased")
    def _record_personal_data_erased(self, subject_id: UUID, meta: Meta) -> None:
        def erased(data: PersonalData) -> PersonalData:
            return PersonalData.erased_for(subject_id) if data.subject_id == subject_id else data

        self.personal = erased(self.personal)
        self.notes = [erased(n) for n in self.notes]
        self.follow_ups = [erased(f) for f in self.follow_ups]
        self.journal = [{**e, "personal": erased(e["personal"])} for e in self.journal]
        self.flags = [{**f, "personal": erased(f["personal"])} for f in self.flags]

    # --- events: contact and duplicates (issue 23) -----------------------------------------

    @event("ContactRecorded")
    def _record_contact(self, channel: str, reached: bool, personal: PersonalData,
                        meta: Meta) -> None:
        self.contact_attempts = [*self.contact_attempts, {
            "at": meta.at, "actor": meta.actor, "channel": channel, "reached": reached}]
        self._write_down("ContactRecorded", personal, meta)
        if reached:
            self._heard_from(meta.at)

    @event("ContactOverdue")
    def _record_contact_overdue(self, last_contact_at: datetime, due_at: datetime,
                                meta: Meta) -> None:
        self.contact_overdue_since = due_at

    @event("LostContactSuspected")
    def _record_lost_contact_suspected(self, last_contact_at: datetime,
                                       missed_intervals: int, meta: Meta) -> None:
        self.lost_contact_suspected_at = meta.at

    @event("PossibleDuplicateFound")
    def _record_possible_duplicate(self, other_case_id: UUID, matched_on: list[str],
                                   meta: Meta) -> None:
        self.possible_duplicates = [*self.possible_duplicates, {
            "case_id": other_case_id, "matched_on": list(matched_on), "found_at": meta.at}]

    @event("DuplicateToldApart")
    def _record_told_apart(self, other_case_id: UUID, meta: Meta) -> None:
        self.possible_duplicates = [d for d in self.possible_duplicates
                                    if d["case_id"] != other_case_id]
        self.told_apart = [*self.told_apart, other_case_id]

    @event("CaseMergedInto")
    def _record_merged_into(self, survivor_case_id: UUID, meta: Meta) -> None:
        self.merged_into = survivor_case_id
        self.possible_duplicates = [d for d in self.possible_duplicates
                                    if d["case_id"] != survivor_case_id]

    @event("CaseMergedIn")
    def _record_merged_in(self, merged_case_id: UUID, meta: Meta) -> None:
        self.merged_case_ids = [*self.merged_case_ids, merged_case_id]
        self.possible_duplicates = [d for d in self.possible_duplicates
                                    if d["case_id"] != merged_case_id]


def _usable_ids(resources: Sequence[Resource], at: datetime, zones: ZoneLookup) -> list[UUID]:
    """The ids of the resources, once each is shown usable and open at `at` (else it
    raises: ResourceNotUsable, DepartureWindowPassed or WindowClosed)."""
    for resource in resources:
        resource.ensure_usable(at)
        resource.ensure_open(at, zones)
    return list(dict.fromkeys(r.id for r in resources))
