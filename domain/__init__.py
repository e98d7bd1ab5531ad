"""The pure domain of corridor: aggregates, value objects, rules and policies. No I/O.

Modules:
- base: Meta, PersonalData and the root errors (CoordinationError, NotFound, InvalidCommand).
- aggregate: CoordinationAggregate, the base of the aggregates (caller-chosen ids; each
  event's timestamp is its command's business time meta.at).
- case: the Case aggregate, from intake survey to follow-up.
- intake: the Intake survey value object and assess_urgency(intake) -> Urgency.
- journey: the journey stages and which movement step may follow which.
- volunteer: the Volunteer aggregate (roles, training, shifts, standing).
- workload: hours on shift in a window or a calendar day (pure).
- resource: the Resource aggregate (reported, verified with expiry, recalled).
- partner, referral: partner organisations, and a case handed on to one under the
  person's consent (ConsentScope), answered by the partner.
- vocabulary: enums (Urgency, CaseStatus, CaseOutcome, Standing, ResourceKind,
  Verification, ResourceStatus) and the verification time-to-live table.
- roles: the Role enum and how a policy is named as an actor.
- errors: one CoordinationError subclass per rule.
- commands: the follow-up commands policies issue (FlagCase, ReleaseCase, ...).
- policies: pure reactions across aggregates (recall, ban, expiry).

The domain imports only the standard library and eventsourcing.domain: no clock, no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.aggregate import CoordinationAggregate


def aggregates() -> tuple[type[CoordinationAggregate], ...]:
    """Every aggregate class (e.g. for snapshotting intervals)."""
    from domain.case import Case
    from domain.partner import Partner
    from domain.referral import Referral
    from domain.resource import Resource
    from domain.volunteer import Volunteer

    return (Case, Volunteer, Resource, Partner, Referral)
