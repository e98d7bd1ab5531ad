"""Keeping in touch: how often an active case must hear from its person, by urgency, and
what a silence means (contact overdue after one interval, possible lost contact after
three). The network sets the intervals; a case is never closed because it went quiet."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from domain.base import CoordinationError, InvalidCommand, Meta
from domain.follow_ups import MarkContactOverdue, SuspectLostContact
from domain.roles import policy_actor
from domain.vocabulary import Urgency

DEFAULT_CONTACT_INTERVALS: Mapping[Urgency, timedelta] = {
    Urgency.CRITICAL: timedelta(hours=1),
    Urgency.HIGH: timedelta(hours=4),
    Urgency.MEDIUM: timedelta(hours=24),
    Urgency.LOW: timedelta(hours=72),
}
"""How long an active case may go without contact before it is overdue, by urgency
(medium is the survey's "normal")."""

LOST_CONTACT_AFTER = 3
"""Missed intervals after which a supervisor is shown "possible lost contact"."""

CONTACT_STEP_EVENTS = frozenset({
    "AdviceGiven", "TransportArranged", "Departed", "CheckpointReached", "Stuck",
    "Returned", "BorderCrossed", "ArrivedSafe", "CannotLeave", "FollowUpRecorded",
    "TransportSeatsHeld", "TransportSeatsConfirmed"})
"""Steps of the journey that mean someone was in touch with the person: each counts as
contact, as does a ContactRecorded that reached them."""


class ContactChannel(StrEnum):
    """How a volunteer tried to reach the person (readable: an auditor sees how)."""

    PHONE = "phone"
    SMS = "sms"
    TELEGRAM = "telegram"
    VIBER = "viber"
    WHATSAPP = "whatsapp"
    SIGNAL = "signal"
    EMAIL = "email"
    WEB = "web"
    IN_PERSON = "in_person"
    OTHER = "other"


class ContactNotDue(CoordinationError):
    """A policy marks a case overdue (or possibly lost) only once its silence has lasted
    that long since the contact it names."""


def intervals_from(hours: Mapping[str, float]) -> dict[Urgency, timedelta]:
    """Contact intervals from hours by urgency name (the defaults for urgencies not named);
    InvalidCommand for an unknown urgency or an interval that is not positive."""
    intervals = dict(DEFAULT_CONTACT_INTERVALS)
    for name, value in hours.items():
        try:
            urgency = Urgency(name)
        except ValueError:
            raise InvalidCommand(f"unknown urgency {name!r} in contact intervals; known: "
                                 f"{', '.join(u.value for u in Urgency)}") from None
        if not value > 0:
            raise InvalidCommand(f"the contact interval for {name} must be positive")
        intervals[urgency] = timedelta(hours=value)
    return intervals


def missed_intervals(since: datetime, interval: timedelta, at: datetime) -> int:
    """Whole intervals gone by without contact at `at`, counted from the last contact."""
    if at <= since:
        return 0
    return int((at - since) / interval)


def due_at(since: datetime, interval: timedelta, missed: int = 1) -> datetime:
    """When the case has missed `missed` intervals since the contact at `since`."""
    return since + interval * missed


@dataclass(frozen=True)
class ContactWatch:
    """An active case as the silence watch sees it: its urgency, its last contact (or its
    intake) and whether it was marked overdue or possibly lost since then."""

    case_id: UUID
    urgency: Urgency
    since: datetime
    overdue_marked: bool = False
    lost_marked: bool = False


def watch_contact(watched: Iterable[ContactWatch], tick: Meta,
                  intervals: Mapping[Urgency, timedelta] = DEFAULT_CONTACT_INTERVALS,
                  ) -> list[MarkContactOverdue | SuspectLostContact]:
    """On a tick (meta.at = now): mark every active case silent for one interval of its
    urgency as contact overdue, and for LOST_CONTACT_AFTER intervals as possibly lost.

    Command ids derive from the case, its last contact and the mark, so every tick during
    one silence issues the same command for it (carried out once); a contact starts anew.
    """
    commands: list[MarkContactOverdue | SuspectLostContact] = []
    for case in watched:
        interval = intervals[case.urgency]
        missed = missed_intervals(case.since, interval, tick.at)
        if missed >= 1 and not case.overdue_marked:
            meta = _silence_meta(CONTACT_WATCH, tick, case, "overdue")
            commands.append(MarkContactOverdue(case_id=case.case_id, since=case.since,
                                               due_at=due_at(case.since, interval),
                                               meta=meta))
        if missed >= LOST_CONTACT_AFTER and not case.lost_marked:
            meta = _silence_meta(CONTACT_WATCH, tick, case, "lost")
            commands.append(SuspectLostContact(case_id=case.case_id, since=case.since,
                                               missed=missed, meta=meta))
    return commands


CONTACT_WATCH = "contact_watch"
"""The policy's name: its follow-ups are recorded as actor policy:contact_watch."""


def _silence_meta(policy: str, tick: Meta, case: ContactWatch, mark: str) -> Meta:
    trigger_id = uuid5(SILENCE_NAMESPACE, f"{case.case_id}/{case.since.isoformat()}/{mark}")
    command_id = uuid5(SILENCE_NAMESPACE, f"{policy}/{trigger_id}")
    return tick.caused_by_this(actor=policy_actor(policy), command_id=command_id)


SILENCE_NAMESPACE = uuid5(NAMESPACE_URL, "urn:corridor:policy:contact")
