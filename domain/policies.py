"""Reactions across aggregates: pure functions from an event (plus looked-up ids) to commands.

Each follow-up command carries `meta.caused_by_this(actor="policy:<name>", command_id=...)`
with a command id derived (uuid5) from the triggering event's id and the target's id, so
running a policy twice on the same event yields the same commands: they are idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Protocol
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import DomainEventProtocol

from domain.base import Meta
from domain.follow_ups import (
    ExpireVerification,
    FlagCase,
    FollowUpCommand,
    LapseHold,
    ReleaseCase,
    ReleaseHold,
    RetractResource,
)
from domain.resource import Resource
from domain.roles import policy_actor
from domain.volunteer import Volunteer
from domain.windows import Window

POLICY_NAMESPACE = uuid5(NAMESPACE_URL, "urn:corridor:policy")
RESOURCE_RECALL = "resource_recall"
VOLUNTEER_BAN = "volunteer_ban"
VERIFICATION_EXPIRY = "verification_expiry"
HOLD_LAPSE = "seat_hold_lapse"
WINDOW_WATCH = "window_watch"
WINDOW_LEAD = timedelta(minutes=60)
"""How long before a window closes the cases relying on it are flagged, unless the service
is told otherwise."""

Event = DomainEventProtocol[UUID]


class RecallReason(StrEnum):
    """Why a case was flagged by the recall policy."""

    UNSAFE = "resource_unsafe"
    FULL = "resource_full"
    CLOSED = "resource_closed"
    DESTROYED = "resource_destroyed"
    RETRACTED = "resource_retracted"
    REJECTED = "resource_rejected"
    EXPIRED = "verification_expired"


class WindowReason(StrEnum):
    """Why a case was flagged by the window watch: a window it relies on closes soon, or
    closed (the flag names the resource and carries the closing time)."""

    CLOSING = "window_closing"
    CLOSED = "window_closed"


RECALL_TRIGGERS: dict[str, RecallReason] = {
    "ResourceMarkedUnsafe": RecallReason.UNSAFE,
    "ResourceMarkedFull": RecallReason.FULL,
    "OccupancyUpdated": RecallReason.FULL,  # only when it reaches capacity
    "ResourceClosed": RecallReason.CLOSED,
    "ResourceDestroyed": RecallReason.DESTROYED,
    "ResourceRetracted": RecallReason.RETRACTED,
    "ResourceRejected": RecallReason.REJECTED,
    "VerificationExpired": RecallReason.EXPIRED,
}
"""Resource events that make every active case relying on the resource get flagged."""


def event_id_of(originator_id: UUID, originator_version: int) -> UUID:
    """A stable id for the event at this position of this aggregate's history."""
    return uuid5(POLICY_NAMESPACE, f"{originator_id}/{originator_version}")


def event_id(event: Event) -> UUID:
    """A stable id for a stored (or pending) event."""
    return event_id_of(event.originator_id, event.originator_version)


def follow_up_id(policy: str, trigger_id: UUID, target_id: UUID) -> UUID:
    """The deterministic command id of a policy's follow-up on one target."""
    return uuid5(POLICY_NAMESPACE, f"{policy}/{trigger_id}/{target_id}")


def follow_up_meta(policy: str, trigger: Meta, trigger_id: UUID, target_id: UUID) -> Meta:
    """Meta for a follow-up: same correlation and business time, actor policy:<name>."""
    command_id = follow_up_id(policy, trigger_id, target_id)
    return trigger.caused_by_this(actor=policy_actor(policy), command_id=command_id)


def meta_of(event: Event) -> Meta:
    """The Meta every corridor event carries."""
    meta = getattr(event, "meta", None)
    if not isinstance(meta, Meta):
        raise TypeError(f"{type(event).__qualname__} carries no Meta")
    return meta


def recall_reason(event: Event) -> RecallReason | None:
    """The reason to flag cases relying on the event's resource, or None for no recall."""
    if not isinstance(event, Resource.Event):
        return None
    name = type(event).__name__
    if name == "OccupancyUpdated" and getattr(event, "occupancy", 0) < getattr(
            event, "capacity", 1):
        return None
    return RECALL_TRIGGERS.get(name)


def _recall_detail(event: Event) -> str:
    if type(event).__name__ == "OccupancyUpdated":
        return f"{getattr(event, 'occupancy', '?')}/{getattr(event, 'capacity', '?')} taken"
    if type(event).__name__ == "VerificationExpired":
        return f"verification ran out at {getattr(event, 'expired_at', '?')}"
    return str(getattr(event, "reason", ""))


def recall_cases(event: Event, relying_case_ids: Iterable[UUID]) -> list[FlagCase]:
    """Flag every active case relying on a resource that became unusable."""
    reason = recall_reason(event)
    if reason is None:
        return []
    trigger, trigger_id = meta_of(event), event_id(event)
    commands = []
    for case_id in sorted(set(relying_case_ids)):
        meta = follow_up_meta(RESOURCE_RECALL, trigger, trigger_id, case_id)
        commands.append(FlagCase(
            case_id=case_id, flag_id=uuid5(meta.command_id, "flag"), reason=reason.value,
            detail=_recall_detail(event), resource_id=event.originator_id, meta=meta))
    return commands


def release_recalled_holds(event: Event, hold_ids: Iterable[UUID]) -> list[ReleaseHold]:
    """Free every seat held or confirmed on a transport that became unusable (its cases
    are flagged by recall_cases: they must find another way)."""
    if recall_reason(event) is None:
        return []
    trigger, trigger_id = meta_of(event), event_id(event)
    return [ReleaseHold(resource_id=event.originator_id, hold_id=hold_id,
                        meta=follow_up_meta(RESOURCE_RECALL, trigger, trigger_id, hold_id))
            for hold_id in sorted(set(hold_ids))]


def is_ban(event: Event) -> bool:
    """True for a VolunteerBanned event."""
    return isinstance(event, Volunteer.Event) and type(event).__name__ == "VolunteerBanned"


def on_volunteer_banned(
    event: Event, report_ids: Iterable[UUID], assigned_case_ids: Iterable[UUID]
) -> list[RetractResource | ReleaseCase]:
    """A banned volunteer's reports that still stand are retracted, verified ones too (what
    an abuser reported cannot be trusted because a checker once confirmed it: the phone or
    the car may be theirs), and their cases released. Each retraction is a recall: the cases
    relying on the resource are flagged and the seats held on it released (`react`)."""
    if not is_ban(event):
        return []
    trigger, trigger_id = meta_of(event), event_id(event)
    volunteer_id = event.originator_id
    commands: list[RetractResource | ReleaseCase] = [
        RetractResource(resource_id=r, reason="reporter banned",
                        meta=follow_up_meta(VOLUNTEER_BAN, trigger, trigger_id, r))
        for r in sorted(set(report_ids))]
    commands += [
        ReleaseCase(case_id=c, volunteer_id=volunteer_id, reason="volunteer banned",
                    meta=follow_up_meta(VOLUNTEER_BAN, trigger, trigger_id, c))
        for c in sorted(set(assigned_case_ids))]
    return commands


def expire_due(resources: Iterable[Resource], tick: Meta) -> list[ExpireVerification]:
    """On a tick (meta.at = now), expire every verification that has run out.

    The command id derives from the verification event being expired, so overlapping
    ticks issue the same command for the same verification.
    """
    commands = []
    for resource in resources:
        if not resource.is_expiry_due(tick.at) or resource.verified_version is None:
            continue
        trigger_id = event_id_of(resource.id, resource.verified_version)
        meta = follow_up_meta(VERIFICATION_EXPIRY, tick, trigger_id, resource.id)
        commands.append(ExpireVerification(resource_id=resource.id, meta=meta))
    return commands


def lapse_due(transports: Iterable[Resource], tick: Meta) -> list[LapseHold]:
    """On a tick (meta.at = now), lapse every unconfirmed hold whose time has run out.

    The command id derives from the hold, so overlapping ticks issue the same command.
    """
    commands = []
    for transport in transports:
        for hold_id in transport.lapse_due(tick.at):
            meta = follow_up_meta(HOLD_LAPSE, tick, hold_id, transport.id)
            commands.append(LapseHold(resource_id=transport.id, hold_id=hold_id, meta=meta))
    return commands


@dataclass(frozen=True)
class WatchedWindow:
    """A resource's window, its time zone, and the active cases relying on the resource
    (each with the time it began to)."""

    resource_id: UUID
    window: Window
    zone: tzinfo
    relying: Mapping[UUID, datetime]


def watch_windows(watched: Iterable[WatchedWindow], tick: Meta,
                  lead: timedelta = WINDOW_LEAD) -> list[FlagCase]:
    """On a tick (meta.at = now): flag every case relying on a window that closes within
    `lead`, and again once it has closed (a closing after the case began to rely on it).

    Each flag names the resource and the closing time; its command id derives from the
    resource, the closing and the case, so every tick before (or after) a closing issues the
    same command for it, carried out once.
    """
    commands = []
    for each in watched:
        state = each.window.state(tick.at, each.zone)
        alerts: list[tuple[WindowReason, datetime]] = []
        if state.is_open and state.closes_at is not None and state.closes_at - tick.at <= lead:
            alerts.append((WindowReason.CLOSING, state.closes_at))
        if state.closed_at is not None:
            alerts.append((WindowReason.CLOSED, state.closed_at))
        for reason, closes in alerts:
            trigger_id = uuid5(POLICY_NAMESPACE, f"window/{each.resource_id}/"
                                                 f"{closes.isoformat()}/{reason.value}")
            detail = _window_detail(each, reason, closes)
            for case_id, since in sorted(each.relying.items()):
                if reason is WindowReason.CLOSED and closes < since:
                    continue  # it closed before the case relied on it: nothing to tell
                meta = follow_up_meta(WINDOW_WATCH, tick, trigger_id, case_id)
                commands.append(FlagCase(
                    case_id=case_id, flag_id=uuid5(meta.command_id, "flag"),
                    reason=reason.value, detail=detail, resource_id=each.resource_id,
                    closes_at=closes, meta=meta))
    return commands


def _window_detail(each: WatchedWindow, reason: WindowReason, closes: datetime) -> str:
    local = closes.astimezone(each.zone).isoformat()
    verb = "closes" if reason is WindowReason.CLOSING else "closed"
    return f"the window ({each.window.describe()}) {verb} at {local}"


class PolicyLookups(Protocol):
    """What the application looks up (from projections) for the policies."""

    def active_cases_relying_on(self, resource_id: UUID) -> Iterable[UUID]:
        """Ids of active (not closed) cases whose steps rely on the resource."""
        ...

    def reports_by(self, volunteer_id: UUID) -> Iterable[UUID]:
        """Ids of resources the volunteer reported that still stand (not retracted or
        destroyed), verified or not."""
        ...

    def active_cases_of(self, volunteer_id: UUID) -> Iterable[UUID]:
        """Ids of active cases the volunteer is assigned to."""
        ...

    def holds_on(self, resource_id: UUID) -> Iterable[UUID]:
        """Ids of the seat holds (held or confirmed) on a transport now."""
        ...


def react(event: Event, lookups: PolicyLookups) -> list[FollowUpCommand]:
    """Every follow-up command any policy issues for one event (empty for most events)."""
    if recall_reason(event) is not None:
        resource_id = event.originator_id
        return [*recall_cases(event, lookups.active_cases_relying_on(resource_id)),
                *release_recalled_holds(event, lookups.holds_on(resource_id))]
    if is_ban(event):
        volunteer_id = event.originator_id
        return list(on_volunteer_banned(event, lookups.reports_by(volunteer_id),
                                        lookups.active_cases_of(volunteer_id)))
    return []
