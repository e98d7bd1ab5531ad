"""Schema evolution (upcasting) and snapshots: what long-lived histories need."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from domain_builders import meta, taken_case
from domain_scenarios import destroyed_resource, whole_case, whole_resource, whole_volunteer
from domain_transcoding import loaded, mapper, stored

from domain.case import Case


def test_case_released_is_at_version_two() -> None:
    assert Case.CaseReleased.class_version == 2


def test_a_version_one_release_without_a_reason_still_loads() -> None:
    case, holder = taken_case()
    case.release(reason="off shift", by=holder, meta=meta())
    records = stored(case.collect_events())
    state = json.loads(records[-1].state)
    assert state.pop("class_version") == 2
    del state["reason"]
    v1 = replace(records[-1], state=json.dumps(state).encode())
    events = loaded([*records[:-1], v1])
    assert events[-1].reason == "not recorded"
    rebuilt = None
    for e in events:
        rebuilt = e.mutate(rebuilt)
    assert rebuilt is not None and rebuilt.assignee_id is None


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
                                  destroyed_resource])
@pytest.mark.parametrize("cut", [1, 2, 5, 9])
def test_a_snapshot_plus_later_events_equals_the_full_replay(make: Callable[[], Any],
                                                            cut: int) -> None:
    from_snapshot, from_scratch = _rebuilt_from_snapshot(make, cut)
    assert vars(from_snapshot) == vars(from_scratch)
    assert from_snapshot == from_scratch
