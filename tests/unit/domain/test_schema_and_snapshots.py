"""Schema evolution (upcasting) and snapshots: what long-lived histories need."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from domain_builders import meta, taken_case
from domain_scenarios import (
    destroyed_resource,
    whole_case,
    whole_resource,
    whole_transport,
    whole_volunteer,
)
from domain_transcoding import loaded, mapper, stored

from domain.base import PersonalData
from domain.case import Case


def test_case_released_is_at_version_three() -> None:
    assert Case.CaseReleased.class_version == 3


def _released_as(version: int, **old_fields: Any) -> tuple[Case, list[Any]]:
    """A release stored as an older version would have stored it (no `personal`)."""
    case, holder = taken_case()
    case.release(reason="off shift", by=holder, meta=meta())
    records = stored(case.collect_events())
    state = json.loads(records[-1].state)
    assert state.pop("class_version") == 3
    del state["personal"]
    state.update(old_fields, **({"class_version": version} if version > 1 else {}))
    old = replace(records[-1], state=json.dumps(state).encode())
    return case, loaded([*records[:-1], old])


def test_a_version_one_release_without_a_reason_still_loads() -> None:
    case, events = _released_as(1)
    assert events[-1].personal == PersonalData.from_legacy(case.id, reason="not recorded")
    rebuilt = None
    for e in events:
        rebuilt = e.mutate(rebuilt)
    assert rebuilt is not None and rebuilt.assignee_id is None


def test_a_version_two_release_keeps_its_plaintext_reason_as_the_persons_legacy_data() -> None:
    case, events = _released_as(2, reason="off shift")
    assert events[-1].personal.legacy and events[-1].personal.fields == {"reason": "off shift"}
    rebuilt = None
    for e in events:
        rebuilt = e.mutate(rebuilt)
    assert rebuilt is not None
    assert rebuilt.journal[-1]["personal"] == PersonalData(
        subject_id=case.person_id, fields={"reason": "off shift"}, legacy=True)


def _rebuilt_from_snapshot(make: Callable[[], Any], cut: int) -> tuple[Any, Any]:
    """(from snapshot at event `cut` + later events, from all events), both via JSON."""
    original = make()
    events = list(original.collect_events())
    head = None
    for e in events[:cut]:
        head = e.mutate(head)
    snapshot = type(original).Snapshot.take(head)
    m = mapper()
    restored = m.to_domain_event(m.to_stored_event(snapshot))
    from_snapshot = restored.mutate(None)
    for e in loaded(stored(events[cut:])):
        from_snapshot = e.mutate(from_snapshot)
    from_scratch = None
    for e in loaded(stored(events)):
        from_scratch = e.mutate(from_scratch)
    return from_snapshot, from_scratch


@pytest.mark.parametrize("make", [whole_case, whole_volunteer, whole_resource,
                                  destroyed_resource, whole_transport])
@pytest.mark.parametrize("cut", [1, 2, 5, 9])
def test_a_snapshot_plus_later_events_equals_the_full_replay(make: Callable[[], Any],
                                                            cut: int) -> None:
    from_snapshot, from_scratch = _rebuilt_from_snapshot(make, cut)
    assert vars(from_snapshot) == vars(from_scratch)
    assert from_snapshot == from_scratch
