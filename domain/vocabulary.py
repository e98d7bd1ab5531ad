"""The domain's closed vocabularies. Events store their `.value` strings."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum


class Urgency(StrEnum):
    """How soon a case needs a volunteer, from the intake answers."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class CaseStatus(StrEnum):
    """Where a case is on the board."""

    UNASSIGNED = "unassigned"
    ASSIGNED = "assigned"
    CLOSED = "closed"


class CaseOutcome(StrEnum):
    """How a case ended."""

    EVACUATED = "evacuated"
    STAYS = "stays"
    LOST_CONTACT = "lost_contact"
    REFERRED_ELSEWHERE = "referred_elsewhere"
    MERGED = "merged"
    """The same person as another case, which goes on (Case.merged_into names it)."""


class Standing(StrEnum):
    """Whether a volunteer may act at all."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    BANNED = "banned"


class ResourceKind(StrEnum):
    """What a reported resource is."""

    SHELTER = "shelter"
    TRANSPORT = "transport"
    FOOD_POINT = "food_point"
    MEDICINE = "medicine"
    ROUTE = "route"
    BORDER_CROSSING = "border_crossing"
    CONTACT = "contact"
    CORRIDOR = "corridor"
    """A humanitarian corridor: a route agreed open for civilians, usually for hours."""
    CHECKPOINT = "checkpoint"
    CURFEW = "curfew"
    """A curfew: its window's hours are when it is in force (nobody moves), so it is open
    (a journey may rely on it) outside them."""


class Verification(StrEnum):
    """Where a resource stands with the fact-checkers."""

    UNVERIFIED = "unverified"
    VERIFIED = "verified"
    REJECTED = "rejected"
    EXPIRED = "expired"


class ResourceStatus(StrEnum):
    """What is known about a resource's condition."""

    AVAILABLE = "available"
    FULL = "full"
    UNSAFE = "unsafe"
    CLOSED = "closed"
    DESTROYED = "destroyed"
    RETRACTED = "retracted"


VERIFICATION_TTL: dict[ResourceKind, timedelta] = {
    ResourceKind.ROUTE: timedelta(hours=2),
    ResourceKind.BORDER_CROSSING: timedelta(hours=3),
    ResourceKind.SHELTER: timedelta(hours=6),
    ResourceKind.TRANSPORT: timedelta(hours=12),
    ResourceKind.FOOD_POINT: timedelta(hours=24),
    ResourceKind.MEDICINE: timedelta(hours=24),
    ResourceKind.CONTACT: timedelta(days=21),
    ResourceKind.CORRIDOR: timedelta(hours=2),
    ResourceKind.CHECKPOINT: timedelta(hours=3),
    ResourceKind.CURFEW: timedelta(hours=24),
}
"""How long a verification holds, by kind: the faster a thing goes stale, the shorter."""


class Accepts(StrEnum):
    """What a transport takes besides adults: the household must fit all it brings."""

    CHILDREN = "children"
    PETS = "pets"
    MOBILITY = "mobility"
    """Wheelchairs and people with reduced mobility."""
    LUGGAGE = "luggage"


class HoldEnd(StrEnum):
    """Why a seat hold ended before the journey did (HoldReleased.why)."""

    RELEASED = "released"
    """The caseworker let the seats go."""
    NO_SHOW = "no_show"
    """The person did not come: the seats are free for someone else."""
    RECALLED = "resource_recalled"
    """The transport was recalled (unsafe, full, fake, expired, rejected, ...)."""
    CASE_CLOSED = "case_closed"
