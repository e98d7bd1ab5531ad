"""Property-based: whatever two cases went through before a supervisor merges them, the merge
loses no event. Each stream keeps every event it had, in order and numbered without a gap,
gains only the merge's own events, replays to the same state, and the survivor names the
merged case, whose history is all still there."""

from __future__ import annotations

import contextlib
import copy
from typing import Any
from uuid import UUID

from domain_builders import later, meta, new_id, supervisor, taken_case
from domain_transcoding import round_trip
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.base import CoordinationError
from domain.case import Case
from domain.contact import CONTACT_WATCH, ContactChannel
from domain.duplicates import POSSIBLE_DUPLICATE
from domain.roles import policy_actor
from domain.volunteer import Volunteer

ACTIONS = ("contact", "missed", "advice", "note", "flag", "depart", "stuck", "overdue",
           "duplicate", "tell_apart", "close", "reopen")
steps = st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(0, 1), st.integers(1, 50)),
                 max_size=30)


def act(action: str, case: Case, other: Case, holder: Volunteer, boss: Volunteer,
        minute: int) -> None:
    at = meta(later(minutes=minute), actor=str(holder.id))
    policy = meta(later(minutes=minute), actor=policy_actor(CONTACT_WATCH))
    calls = {
        "contact": lambda: case.record_contact(channel=ContactChannel.PHONE, reached=True,
                                               by=holder, meta=at),
        "missed": lambda: case.record_contact(channel=ContactChannel.SMS, reached=False,
                                              by=holder, meta=at),
        "advice": lambda: case.give_advice(text="stay put", by=holder, meta=at),
        "note": lambda: case.add_note(text="called her sister", by=holder, meta=at),
        "flag": lambda: case.flag(flag_id=new_id(), reason="no answer", by=holder, meta=at),
        "depart": lambda: case.record_departure(by=holder, meta=at),
        "stuck": lambda: case.record_stuck(place="Chop", reason="queue", by=holder, meta=at),
        "overdue": lambda: case.mark_contact_overdue(since=case.contact_since,
                                                     due_at=case.contact_since, meta=policy),
        "duplicate": lambda: case.mark_possible_duplicate(
            other_case_id=other.id, matched_on=["phone"],
            meta=meta(later(minutes=minute), actor=policy_actor(POSSIBLE_DUPLICATE))),
        "tell_apart": lambda: case.tell_apart(other_case_id=other.id, by=boss, meta=at),
        "close": lambda: case.close(outcome="lost_contact", by=holder, meta=at),
        "reopen": lambda: case.reopen(reason="she wrote", by=holder, meta=at),
    }
    with contextlib.suppress(CoordinationError):  # refused: nothing recorded (checked below)
        calls[action]()


def state_of(aggregate: Any) -> dict[str, Any]:
    return copy.deepcopy({k: v for k, v in vars(aggregate).items() if k != "_pending_events"})


@settings(max_examples=60, deadline=None)
@given(steps, st.booleans())
def test_a_merge_never_loses_an_event(history: list[tuple[str, int, int]],
                                      second_survives: bool) -> None:
    (first, holder), boss = taken_case(), supervisor()
    second, _ = taken_case(holder)
    cases = [first, second]
    logs: dict[UUID, list[Any]] = {c.id: list(c.collect_events()) for c in cases}
    for action, which, minute in history:
        act(action, cases[which], cases[1 - which], holder, boss, minute)
        for case in cases:
            logs[case.id] += case.collect_events()
    before = {i: list(events) for i, events in logs.items()}
    survivor, merged = (second, first) if second_survives else (first, second)

    try:
        merged.merge_into(survivor=survivor, by=boss, meta=meta(later(minutes=60)))
        survivor.take_in(merged=merged, by=boss, meta=meta(later(minutes=60)))
        done = True
    except CoordinationError:
        done = False
    for case in cases:
        logs[case.id] += case.collect_events()

    for case in cases:
        events = logs[case.id]
        assert events[:len(before[case.id])] == before[case.id]
        assert [e.originator_version for e in events] == list(range(1, len(events) + 1))
        rebuilt = None
        for event in round_trip(events):
            rebuilt = event.mutate(rebuilt)
        assert state_of(rebuilt) == state_of(case)
    added = {i: [type(e).__name__ for e in logs[i][len(before[i]):]] for i in logs}
    if done:
        assert added == {merged.id: ["CaseMergedInto", "CaseClosed"],
                         survivor.id: ["CaseMergedIn"]}
        assert survivor.merged_case_ids == [merged.id] and merged.merged_into == survivor.id
        assert not merged.is_active and survivor.is_active
    else:
        assert added == {merged.id: [], survivor.id: []}
