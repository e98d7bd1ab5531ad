"""The reactions' contact and duplicate watches (services/runtime/silence.py), fed domain
events in memory, and the blind index's normalising of what identifies a person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.base import Meta
from domain.case import Case
from domain.contact import ContactChannel
from domain.follow_ups import MarkContactOverdue, MarkPossibleDuplicate, SuspectLostContact
from domain.intake import Intake
from domain.roles import Authority, Role
from domain.vocabulary import CaseOutcome
from domain.volunteer import Volunteer
from services.runtime.silence import SilenceWatch
from services.storage.blind_index import identifiers, normalise_phone

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def meta(minutes: float = 0) -> Meta:
    return Meta(actor="admin", at=T0 + timedelta(minutes=minutes), command_id=uuid4(),
                correlation_id=uuid4())


def critical_case() -> Case:
    return Case.open(case_id=uuid4(), person_id=uuid4(), meta=meta(), intake=Intake(
        safe_now=False, region="Kharkiv", destination="Lviv", contact_channel="phone",
        children_ages=[3]))


def cleared_supervisor() -> Volunteer:
    operator = Authority(actor="admin:test", roles=frozenset({Role.ADMIN}))
    boss = Volunteer.register(volunteer_id=uuid4(), display_name="S", languages=["uk"],
                              time_zone="UTC", roles=[Role.VOLUNTEER, Role.SUPERVISOR],
                              by=operator, meta=meta())
    boss.log_training(minutes=300, topic="basics", by=operator, meta=meta())
    return boss


def watched(*cases: Case) -> SilenceWatch:
    watch = SilenceWatch()
    for case in cases:
        for event in case.collect_events():
            watch.apply(event)
    return watch


def test_a_silent_case_is_due_once_and_a_reached_contact_starts_anew() -> None:
    case = critical_case()
    watch = watched(case)

    assert watch.due_by(meta(59)) == []
    [mark] = watch.due_by(meta(61))
    assert isinstance(mark, MarkContactOverdue) and mark.case_id == case.id
    assert watch.due_by(meta(62)) == []  # sent already: the receipt would answer it
    assert [type(m) for m in watch.due_by(meta(181))] == [SuspectLostContact]


def test_a_contact_that_reached_the_person_resets_the_silence() -> None:
    case = critical_case()
    watch = watched(case)
    boss = cleared_supervisor()
    case.record_contact(channel=ContactChannel.PHONE, reached=True, by=boss, meta=meta(50))
    for event in case.collect_events():
        watch.apply(event)

    assert watch.due_by(meta(100)) == []
    assert [m.since for m in watch.due_by(meta(111))] == [T0 + timedelta(minutes=50)]


def test_a_closed_case_leaves_the_watch_and_a_reopened_one_comes_back() -> None:
    case, boss = critical_case(), cleared_supervisor()
    case.take(volunteer=boss, meta=meta())
    case.close(outcome=CaseOutcome.LOST_CONTACT, by=boss, meta=meta(10))
    watch = watched(case)
    watch.urgency_of = lambda _: case.urgency

    assert watch.cases == {} and watch.due_by(meta(600)) == []
    case.reopen(reason="she wrote again", by=boss, meta=meta(700))
    for event in case.collect_events():
        watch.apply(event)
    assert [m.since for m in watch.due_by(meta(761))] == [T0 + timedelta(minutes=700)]


class FakeBlindIndex:
    def __init__(self, found: dict[UUID, dict[UUID, set[str]]]) -> None:
        self.found = found

    def matches(self, case_ids: list[UUID]) -> dict[UUID, dict[UUID, set[str]]]:
        return {c: self.found[c] for c in case_ids if c in self.found}


def test_an_opening_matching_an_active_case_marks_both_and_a_closed_one_nothing() -> None:
    earlier, closed, new = critical_case(), critical_case(), critical_case()
    watch = watched(earlier, closed)
    del watch.cases[closed.id]
    [opening] = new.collect_events()
    watch.apply(opening)
    watch.notice(opening)
    index: Any = FakeBlindIndex({new.id: {earlier.id: {"phone"}, closed.id: {"handle"}}})

    marks = watch.duplicates(index)

    assert all(isinstance(m, MarkPossibleDuplicate) for m in marks)
    assert {(m.case_id, m.other_case_id) for m in marks} == {(new.id, earlier.id),
                                                            (earlier.id, new.id)}
    assert watch.duplicates(index) == []  # each opening is matched once


@pytest.mark.parametrize("written", ["+380 67 123 45 67", "0671234567", "00380671234567",
                                     "(067) 123-45-67", "+380-67-123-4567"])
def test_one_phone_written_many_ways_is_one_number(written: str) -> None:
    assert normalise_phone(written, "UA") == "+380671234567"


def test_what_identifies_a_person_is_normalised_by_kind() -> None:
    assert identifiers(name="Olena", contact_handle="@Olena_K", birth_year=None,
                       region="UA") == {"handle": "olena_k"}
    assert identifiers(name="Olena Koval", contact_handle="067 123 45 67", birth_year=1980,
                       region="UA") == {"phone": "+380671234567",
                                        "name_birth_year": "olena koval|1980"}
    assert identifiers(name="", contact_handle="", birth_year=1980, region="UA") == {}


def test_the_watches_follow_ups_travel_to_the_writer_process_unchanged() -> None:
    from services.runtime.ipc import _adapter
    from services.runtime.reactions import FOLLOW_UPS

    case_id, other = uuid4(), uuid4()
    sent = [MarkContactOverdue(case_id=case_id, since=T0, due_at=T0 + timedelta(hours=1),
                               meta=meta(61)),
            SuspectLostContact(case_id=case_id, since=T0, missed=3, meta=meta(181)),
            MarkPossibleDuplicate(case_id=case_id, other_case_id=other,
                                  matched_on=("handle", "phone"), meta=meta())]
    for command in sent:
        kind = FOLLOW_UPS[type(command).__name__]
        body = _adapter(kind).dump_json(command)
        assert _adapter(kind).validate_json(body) == command
