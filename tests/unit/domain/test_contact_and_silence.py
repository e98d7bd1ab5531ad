"""Keeping in touch: contact recorded (reached or not), steps count as contact, and the
silence watch's marks after one and after three missed intervals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from domain_builders import T0, later, meta, new_id, open_case, supervisor, taken_case, volunteer

from domain.base import InvalidCommand
from domain.contact import (
    CONTACT_WATCH,
    DEFAULT_CONTACT_INTERVALS,
    ContactChannel,
    ContactNotDue,
    ContactWatch,
    intervals_from,
    missed_intervals,
    watch_contact,
)
from domain.errors import NotCaseAssignee, NotPermitted
from domain.follow_ups import MarkContactOverdue, SuspectLostContact
from domain.roles import policy_actor
from domain.vocabulary import Urgency

WATCH = policy_actor(CONTACT_WATCH)


def test_an_unreached_attempt_is_recorded_with_who_when_and_how_but_is_no_contact() -> None:
    case, holder = taken_case()
    case.record_contact(channel=ContactChannel.VIBER, reached=False, by=holder,
                        meta=meta(later(hours=2), actor=str(holder.id)))
    assert case.contact_attempts == [{"at": later(hours=2), "actor": str(holder.id),
                                      "channel": "viber", "reached": False}]
    assert case.contact_since == T0


def test_a_contact_that_reached_the_person_clears_overdue_and_lost_contact() -> None:
    case, holder = taken_case()
    case.mark_contact_overdue(since=T0, due_at=later(hours=1),
                              meta=meta(later(hours=1), actor=WATCH))
    case.suspect_lost_contact(since=T0, missed=3, meta=meta(later(hours=3), actor=WATCH))
    assert case.contact_overdue_since == later(hours=1)
    assert case.lost_contact_suspected_at == later(hours=3)
    case.record_contact(channel=ContactChannel.PHONE, reached=True, by=holder,
                        meta=meta(later(hours=4)))
    assert (case.contact_overdue_since, case.lost_contact_suspected_at) == (None, None)
    assert case.contact_since == later(hours=4)


def test_any_step_of_the_journey_counts_as_contact() -> None:
    case, holder = taken_case()
    case.mark_contact_overdue(since=T0, due_at=later(hours=1),
                              meta=meta(later(hours=1), actor=WATCH))
    case.record_departure(by=holder, meta=meta(later(hours=5)))
    assert case.contact_overdue_since is None
    assert case.contact_since == later(hours=5)


def test_only_the_assignee_or_a_supervisor_records_contact() -> None:
    case, _ = taken_case()
    with pytest.raises(NotCaseAssignee):
        case.record_contact(channel=ContactChannel.PHONE, reached=True, by=volunteer(),
                            meta=meta())
    case.record_contact(channel=ContactChannel.PHONE, reached=True, by=supervisor(),
                        meta=meta())


def test_a_stale_overdue_mark_is_refused_once_contact_was_made() -> None:
    case, holder = taken_case()
    case.record_contact(channel=ContactChannel.SMS, reached=True, by=holder,
                        meta=meta(later(minutes=30)))
    with pytest.raises(ContactNotDue):
        case.mark_contact_overdue(since=T0, due_at=later(hours=1),
                                  meta=meta(later(hours=1), actor=WATCH))


def test_only_a_policy_marks_contact_overdue() -> None:
    case = open_case()
    with pytest.raises(NotPermitted):
        case.mark_contact_overdue(since=T0, due_at=later(hours=1), meta=meta(later(hours=2)))


def test_missed_intervals_count_whole_intervals_since_the_last_contact() -> None:
    hour = timedelta(hours=1)
    assert missed_intervals(T0, hour, later(minutes=59)) == 0
    assert missed_intervals(T0, hour, later(hours=1)) == 1
    assert missed_intervals(T0, hour, later(hours=3, minutes=5)) == 3
    assert missed_intervals(T0, hour, T0 - hour) == 0


def test_the_watch_marks_overdue_after_one_interval_and_lost_after_three() -> None:
    critical, low = new_id(), new_id()
    watched = [ContactWatch(case_id=critical, urgency=Urgency.CRITICAL, since=T0),
               ContactWatch(case_id=low, urgency=Urgency.LOW, since=T0)]
    assert watch_contact(watched, meta(later(minutes=59))) == []
    [overdue] = watch_contact(watched, meta(later(hours=1)))
    assert isinstance(overdue, MarkContactOverdue)
    assert (overdue.case_id, overdue.due_at, overdue.since) == (critical, later(hours=1), T0)
    marks = watch_contact(watched, meta(later(hours=3)))
    assert [type(m) for m in marks] == [MarkContactOverdue, SuspectLostContact]
    assert all(m.meta.actor == WATCH for m in marks)


def test_the_watch_marks_nothing_twice_and_gives_a_rerun_the_same_command_ids() -> None:
    case_id = new_id()
    watched = [ContactWatch(case_id=case_id, urgency=Urgency.HIGH, since=T0)]
    first = watch_contact(watched, meta(later(hours=4)))
    again = watch_contact(watched, meta(later(hours=5)))
    assert [c.meta.command_id for c in first] == [c.meta.command_id for c in again]
    marked = [ContactWatch(case_id=case_id, urgency=Urgency.HIGH, since=T0,
                           overdue_marked=True, lost_marked=True)]
    assert watch_contact(marked, meta(later(hours=30))) == []


def test_a_new_contact_starts_a_new_silence_with_new_command_ids() -> None:
    case_id = new_id()
    before = watch_contact([ContactWatch(case_id, Urgency.HIGH, T0)], meta(later(hours=4)))
    after = watch_contact([ContactWatch(case_id, Urgency.HIGH, later(hours=4))],
                          meta(later(hours=8)))
    assert {c.meta.command_id for c in before}.isdisjoint(c.meta.command_id for c in after)


def test_intervals_are_configurable_per_urgency_with_defaults_for_the_rest() -> None:
    intervals = intervals_from({"critical": 0.5})
    assert intervals[Urgency.CRITICAL] == timedelta(minutes=30)
    assert intervals[Urgency.LOW] == DEFAULT_CONTACT_INTERVALS[Urgency.LOW] == timedelta(hours=72)
    with pytest.raises(InvalidCommand, match="unknown urgency"):
        intervals_from({"urgent": 1})
    with pytest.raises(InvalidCommand, match="positive"):
        intervals_from({"high": 0})


def test_a_case_is_never_closed_by_the_silence_watch() -> None:
    case, _ = taken_case()
    case.suspect_lost_contact(since=T0, missed=9, meta=meta(later(days=30), actor=WATCH))
    assert case.is_active
