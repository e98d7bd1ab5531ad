"""Follow-up commands that policies issue; the application carries each out on one aggregate.

How each maps onto the aggregates (by=None marks the policy as the actor; meta.actor says
which policy):
- FlagCase           -> Case.flag(flag_id=, reason=, detail=, resource_id=, closes_at=,
                        by=None, meta=)
- ReleaseCase        -> Case.release(reason=, by=None, meta=)  (skip unless still theirs:
                        case.is_assigned_to(volunteer_id))
- RetractResource    -> Resource.retract(reason=, by=None, meta=)
- ExpireVerification -> Resource.expire(meta=)
- ReleaseHold        -> domain.seats.release_seats(why=HoldEnd.RECALLED, by=None, meta=) on the
                        transport and the hold's case (skip once the hold is gone)
- LapseHold          -> domain.seats.lapse_seats(meta=) on the transport and the hold's case
                        (skip once the hold is gone or confirmed)
- MarkContactOverdue -> Case.mark_contact_overdue(since=, due_at=, meta=)  (skip unless the
                        case is active, still silent since `since` and not marked yet)
- SuspectLostContact -> Case.suspect_lost_contact(since=, missed=, meta=)  (the same)
- MarkPossibleDuplicate -> Case.mark_possible_duplicate(other_case_id=, matched_on=, meta=)
                        (skip unless both are active, not linked or told apart already)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.base import Meta


@dataclass(frozen=True)
class FlagCase:
    """Flag an active case because a resource it relies on changed (or its window closes)."""

    case_id: UUID
    flag_id: UUID
    reason: str
    detail: str
    resource_id: UUID
    meta: Meta
    closes_at: datetime | None = None
    """When the window the flag is about closes (or closed); None for a recall."""


@dataclass(frozen=True)
class ReleaseCase:
    """Hand a case back to the board for reassignment (its volunteer was banned)."""

    case_id: UUID
    volunteer_id: UUID
    reason: str
    meta: Meta


@dataclass(frozen=True)
class RetractResource:
    """Retract a resource (its reporter was banned before it was verified)."""

    resource_id: UUID
    reason: str
    meta: Meta


@dataclass(frozen=True)
class ExpireVerification:
    """Record that a resource's verification ran out."""

    resource_id: UUID
    meta: Meta


@dataclass(frozen=True)
class ReleaseHold:
    """Free the seats a hold keeps on a recalled transport."""

    resource_id: UUID
    hold_id: UUID
    meta: Meta


@dataclass(frozen=True)
class LapseHold:
    """Record that an unconfirmed hold ran out (the tick's time is meta.at)."""

    resource_id: UUID
    hold_id: UUID
    meta: Meta


@dataclass(frozen=True)
class MarkContactOverdue:
    """Record that an active case has gone one contact interval without contact."""

    case_id: UUID
    since: datetime
    """The last contact the policy saw: nothing is marked if there was one since."""
    due_at: datetime
    meta: Meta


@dataclass(frozen=True)
class SuspectLostContact:
    """Record that an active case has missed several contact intervals: a supervisor should
    look (the case is never closed for it)."""

    case_id: UUID
    since: datetime
    missed: int
    meta: Meta


@dataclass(frozen=True)
class MarkPossibleDuplicate:
    """Mark an active case as possibly the same person as another active case (their blind
    indexes matched on the kinds named)."""

    case_id: UUID
    other_case_id: UUID
    matched_on: tuple[str, ...]
    meta: Meta


FollowUpCommand = (FlagCase | ReleaseCase | RetractResource | ExpireVerification | ReleaseHold
                   | LapseHold | MarkContactOverdue | SuspectLostContact
                   | MarkPossibleDuplicate)
