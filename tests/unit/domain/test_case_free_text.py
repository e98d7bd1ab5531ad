"""Free text typed about a case (advice, places, reasons, details) is the person's personal
data: sealed with their key, kept in the case's journal, erased with them. What the board
needs (stage, times, counts, ids, machine reasons) stays readable."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from domain_builders import OPERATOR, meta, new_id, replay, taken_case, verified, volunteer
from domain_transcoding import loaded, mapper, stored

from domain.base import PersonalData
from domain.case import TYPED_FLAG_REASON, Case
from domain.journey import JourneyStage
from domain.roles import Role, policy_actor
from domain.vocabulary import CaseOutcome, ResourceKind
from domain.volunteer import Volunteer

MARK = "ZZ-UNIQUE Saltivka 7"
Step = Callable[[Case, Volunteer], None]


def _to_arrival(case: Case, by: Volunteer) -> None:
    case.record_departure(by=by, meta=meta())
    case.record_arrival(place=MARK, by=by, meta=meta())


STEPS: dict[str, tuple[Step, dict[str, str]]] = {
    "AdviceGiven": (lambda c, v: c.give_advice(text=MARK, by=v, meta=meta()), {"text": MARK}),
    "TransportArranged": (lambda c, v: c.arrange_transport(
        resources=[verified(ResourceKind.TRANSPORT)], description=MARK, by=v, meta=meta()),
        {"description": MARK}),
    "CheckpointReached": (lambda c, v: (c.record_departure(by=v, meta=meta()),
                                        c.record_checkpoint(checkpoint=MARK, by=v, meta=meta())),
                          {"checkpoint": MARK}),
    "Stuck": (lambda c, v: (c.record_departure(by=v, meta=meta()),
                            c.record_stuck(place=MARK, reason="queue", by=v, meta=meta())),
              {"place": MARK, "reason": "queue"}),
    "Returned": (lambda c, v: (c.record_departure(by=v, meta=meta()),
                               c.record_return(reason=MARK, by=v, meta=meta())),
                 {"reason": MARK}),
    "BorderCrossed": (lambda c, v: (c.record_departure(by=v, meta=meta()),
                                    c.record_border_crossing(crossing=MARK, by=v, meta=meta())),
                      {"crossing": MARK}),
    "ArrivedSafe": (_to_arrival, {"place": MARK}),
    "CannotLeave": (lambda c, v: c.record_cannot_leave(reason=MARK, by=v, meta=meta()),
                    {"reason": MARK}),
    "CaseReleased": (lambda c, v: c.release(reason=MARK, by=v, meta=meta()), {"reason": MARK}),
    "CaseFlagged": (lambda c, v: c.flag(flag_id=new_id(), reason="resource_unsafe",
                                        detail=MARK, by=v, meta=meta()), {"detail": MARK}),
    "FlagCleared": (lambda c, v: (c.flag(flag_id=new_id(), reason="resource_unsafe", by=v,
                                         meta=meta()),
                                  c.clear_flag(flag_id=c.flags[0]["flag_id"], reason=MARK,
                                               by=v, meta=meta())), {"reason": MARK}),
    "SupportGroupDissolved": (lambda c, v: (
        c.form_support_group(psychologist=volunteer(Role.PSYCHOLOGIST), members=[], by=v,
                             meta=meta()),
        c.dissolve_support_group(reason=MARK, by=v, meta=meta())), {"reason": MARK}),
    "CaseReopened": (lambda c, v: (_to_arrival(c, v),
                                   c.close(outcome=CaseOutcome.EVACUATED, by=v, meta=meta()),
                                   c.reopen(reason=MARK, by=v, meta=meta())),
                     {"reason": MARK}),
}


def _text_in_the_clear(event: Any) -> list[str]:
    return [k for k, v in vars(event).items() if isinstance(v, str) and MARK in v]


@pytest.mark.parametrize("name", sorted(STEPS))
def test_free_text_is_recorded_only_as_the_persons_personal_data(name: str) -> None:
    case, holder = taken_case()
    step, fields = STEPS[name]
    step(case, holder)
    event = next(e for e in reversed(case.collect_events()) if type(e).__name__ == name)
    assert _text_in_the_clear(event) == []
    assert event.personal == PersonalData.of(case.person_id, **fields)
    assert case.journal[-1] == {"event": name, "at": event.meta.at, "personal": event.personal}


def test_a_machine_flag_reason_stays_readable_and_a_typed_one_is_sealed() -> None:
    case, holder = taken_case()
    case.flag(flag_id=new_id(), reason="resource_unsafe", detail="shelled", by=None,
              meta=meta(actor=policy_actor("resource_recall")))
    case.flag(flag_id=new_id(), reason="refuses to move, " + MARK, by=holder, meta=meta())
    machine, typed = case.collect_events()[-2:]
    assert machine.reason == "resource_unsafe"
    assert machine.personal.fields == {"detail": "shelled"}
    assert typed.reason == TYPED_FLAG_REASON
    assert typed.personal.fields == {"reason": "refuses to move, " + MARK, "detail": ""}
    assert [f["reason"] for f in case.flags] == ["resource_unsafe", TYPED_FLAG_REASON]


def test_erasure_erases_the_journal_and_the_flags_texts() -> None:
    case, holder = taken_case()
    case.give_advice(text=MARK, by=holder, meta=meta())
    case.flag(flag_id=new_id(), reason="worried", detail=MARK, by=holder, meta=meta())
    case.erase_personal_data(subject_id=case.person_id, by=OPERATOR, meta=meta())
    erased = PersonalData.erased_for(case.person_id)
    assert [e["personal"] for e in case.journal] == [erased, erased]
    assert case.flags[0]["personal"] == erased
    assert case.flags[0]["reason"] == TYPED_FLAG_REASON


def test_after_erasure_a_step_is_recorded_without_its_text() -> None:
    case, holder = taken_case()
    case.erase_personal_data(subject_id=case.person_id, by=OPERATOR, meta=meta())
    case.record_departure(by=holder, meta=meta())
    case.record_stuck(place=MARK, reason=MARK, by=holder, meta=meta())
    stuck = case.collect_events()[-1]
    assert stuck.personal == PersonalData.erased_for(case.person_id)
    assert case.stage is JourneyStage.STUCK


def _as_version_one(records: list[Any], index: int, **plain: Any) -> list[Any]:
    """The stored events with event `index` as version 1 stored it: plaintext fields."""
    index %= len(records)
    state = json.loads(records[index].state)
    state.pop("class_version")
    del state["personal"]
    state.update(plain)
    return [*records[:index], replace(records[index], state=json.dumps(state).encode()),
            *records[index + 1:]]


def test_a_version_one_step_replays_with_its_text_as_the_persons_legacy_data() -> None:
    case, holder = taken_case()
    case.record_departure(by=holder, meta=meta())
    case.record_stuck(place="Chop", reason="queue", by=holder, meta=meta())
    records = _as_version_one(stored(case.collect_events()), -1, place="Chop",
                              reason="queue")
    events = loaded(records)
    assert events[-1].personal == PersonalData.from_legacy(case.id, place="Chop",
                                                           reason="queue")
    rebuilt = replay(events)
    assert rebuilt.stage is JourneyStage.STUCK
    legacy = rebuilt.journal[-1]["personal"]
    assert (legacy.subject_id, legacy.legacy) == (case.person_id, True)
    rebuilt.erase_personal_data(subject_id=case.person_id, by=OPERATOR, meta=meta())
    assert rebuilt.journal[-1]["personal"] == PersonalData.erased_for(case.person_id)


def test_a_version_one_flag_keeps_a_machine_reason_and_seals_a_typed_one() -> None:
    case, holder = taken_case()
    case.flag(flag_id=new_id(), reason="resource_unsafe", detail="shelled", by=holder,
              meta=meta())
    case.flag(flag_id=new_id(), reason="x", by=holder, meta=meta())
    records = stored(case.collect_events())
    records = _as_version_one(records, -2, reason="resource_unsafe", detail="shelled")
    records = _as_version_one(records, -1, reason="refuses to move", detail="")
    machine, typed = loaded(records)[-2:]
    assert (machine.reason, machine.personal.fields) == ("resource_unsafe",
                                                         {"detail": "shelled"})
    assert (typed.reason, typed.personal.fields) == (
        TYPED_FLAG_REASON, {"reason": "refuses to move", "detail": ""})


def test_a_version_one_snapshot_loads_with_an_empty_journal_and_legacy_flag_texts() -> None:
    case, holder = taken_case()
    case.flag(flag_id=new_id(), reason="no answer", detail="since Monday", by=holder,
              meta=meta())
    m = mapper()
    record = m.to_stored_event(Case.Snapshot.take(replay(case.collect_events())))
    state = json.loads(record.state)
    state["state"].pop("class_version")
    del state["state"]["journal"]
    flag = state["state"]["flags"][0]
    del flag["personal"]
    flag.update(reason="no answer", detail="since Monday")
    old = m.to_domain_event(replace(record, state=json.dumps(state).encode()))
    restored: Any = old.mutate(None)  # type: ignore[attr-defined]
    assert restored.journal == []
    assert restored.flags[0]["reason"] == TYPED_FLAG_REASON
    assert restored.flags[0]["personal"] == PersonalData(
        subject_id=case.person_id, fields={"reason": "no answer", "detail": "since Monday"},
        legacy=True)
