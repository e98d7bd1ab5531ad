"""The reactions' part for issue 23: which active cases went silent (the contact watch on each
tick) and which new case matches another active one in the blind index (the duplicate watch
on each opening), and how their follow-ups are carried out on the cases.

Follow-ups are skipped, not refused, once they are out of date (a contact came in, a case
closed, a pair was told apart meanwhile): a rerun is answered from its receipt either way."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.base import Meta
from domain.case import Case
from domain.contact import (
    CONTACT_STEP_EVENTS,
    DEFAULT_CONTACT_INTERVALS,
    ContactWatch,
    watch_contact,
)
from domain.duplicates import match_duplicates
from domain.follow_ups import MarkContactOverdue, MarkPossibleDuplicate, SuspectLostContact
from domain.policies import event_id, meta_of
from domain.vocabulary import Urgency
from services.runtime.unit_of_work import UnitOfWork
from services.storage.blind_index import BlindIndex

SilenceFollowUp = MarkContactOverdue | SuspectLostContact | MarkPossibleDuplicate
SILENCE_FOLLOW_UPS: tuple[type[Any], ...] = (MarkContactOverdue, SuspectLostContact,
                                             MarkPossibleDuplicate)
MAX_REMEMBERED = 100_000

_WATCHED = ("CaseOpened", "CaseClosed", "CaseReopened", "ContactRecorded", "ContactOverdue",
            "LostContactSuspected", *CONTACT_STEP_EVENTS)


def silence_topics() -> list[str]:
    """The case events the contact and duplicate watches read."""
    return [get_topic(getattr(Case, name)) for name in _WATCHED]


@dataclass(frozen=True)
class _Silence:
    urgency: Urgency
    since: datetime
    overdue_marked: bool = False
    lost_marked: bool = False


class SilenceWatch:
    """Every active case's urgency and last contact, event by event; the contact marks due
    on a tick and the duplicate marks due on an opening. Bounded by what is live: a closed
    case leaves (a reopened one comes back, its urgency looked up by `urgency_of`)."""

    def __init__(self, intervals: Mapping[Urgency, timedelta] = DEFAULT_CONTACT_INTERVALS,
                 urgency_of: Callable[[UUID], Urgency] | None = None) -> None:
        self.intervals = dict(intervals)
        self.cases: dict[UUID, _Silence] = {}
        self.urgency_of = urgency_of
        self._sent: set[UUID] = set()
        self._opened: list[Any] = []

    @property
    def active(self) -> set[UUID]:
        """The active cases the watch follows."""
        return set(self.cases)

    def apply(self, stored: Any) -> None:
        if not isinstance(stored, Case.Event):
            return
        event: Any = stored
        name, case_id = type(event).__name__, event.originator_id
        if name == "CaseOpened":
            self.cases[case_id] = _Silence(Urgency(event.urgency), event.meta.at)
        elif name == "CaseReopened" and self.urgency_of is not None:
            self.cases[case_id] = _Silence(self.urgency_of(case_id), event.meta.at)
        known = self.cases.get(case_id)
        if known is None or name in ("CaseOpened", "CaseReopened"):
            return
        if name == "CaseClosed":
            del self.cases[case_id]
        elif name in CONTACT_STEP_EVENTS or (name == "ContactRecorded" and event.reached):
            self.cases[case_id] = _Silence(known.urgency, event.meta.at)
        elif name == "ContactOverdue" and event.last_contact_at == known.since:
            self.cases[case_id] = replace(known, overdue_marked=True)
        elif name == "LostContactSuspected" and event.last_contact_at == known.since:
            self.cases[case_id] = replace(known, lost_marked=True)

    def due_by(self, tick: Meta) -> list[MarkContactOverdue | SuspectLostContact]:
        """The marks a tick at tick.at issues (each sent once by this process)."""
        watched = [ContactWatch(case_id=c, urgency=s.urgency, since=s.since,
                                overdue_marked=s.overdue_marked, lost_marked=s.lost_marked)
                   for c, s in self.cases.items()]
        marks = [m for m in watch_contact(watched, tick, self.intervals)
                 if m.meta.command_id not in self._sent]
        if len(self._sent) > MAX_REMEMBERED:
            self._sent.clear()
        self._sent.update(m.meta.command_id for m in marks)
        return marks

    def notice(self, event: Any) -> None:
        """A new event (not one read again after a restart): openings are matched."""
        if isinstance(event, Case.Event) and type(event).__name__ == "CaseOpened":
            self._opened.append(event)

    def duplicates(self, blind_index: BlindIndex) -> list[MarkPossibleDuplicate]:
        """Mark each case opened since the last call, and every active case its blind index
        matches, as possible duplicates of each other (one query for all of them)."""
        opened, self._opened = self._opened, []
        found = blind_index.matches([e.originator_id for e in opened])
        commands: list[MarkPossibleDuplicate] = []
        for event in opened:
            matches = {other: kinds for other, kinds in
                       found.get(event.originator_id, {}).items() if other in self.cases}
            if matches and event.originator_id in self.cases:
                commands += match_duplicates(event.originator_id, matches, meta_of(event),
                                             event_id(event))
        return commands


def carry_out(command: SilenceFollowUp, uow: UnitOfWork, meta: Meta) -> UUID:
    """Carry out one follow-up of the watches on its case (skipped once out of date)."""
    case = uow.get(Case, command.case_id)
    if isinstance(command, MarkPossibleDuplicate):
        other = uow.find(Case, command.other_case_id)
        if (other is not None and other.is_active
                and case.may_be_marked_duplicate_of(other.id)):
            case.mark_possible_duplicate(other_case_id=other.id,
                                         matched_on=list(command.matched_on), meta=meta)
        return case.id
    if not case.is_active or case.contact_since != command.since:
        return case.id
    if isinstance(command, MarkContactOverdue):
        if case.contact_overdue_since is None:
            case.mark_contact_overdue(since=command.since, due_at=command.due_at, meta=meta)
    elif case.lost_contact_suspected_at is None:
        case.suspect_lost_contact(since=command.since, missed=command.missed, meta=meta)
    return case.id

