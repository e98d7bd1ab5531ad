"""How a rebuild's fill is split between processes: whole read models by cost, then the
audit trail dealt out by position so the heaviest and the lightest process even out."""

from __future__ import annotations

from projections.catalog import AUDIT_TRAIL, CASE_BOARD, PROJECTIONS, RESOURCE_DIRECTORY
from projections.parallel import COST, balanced
from projections.rebuild import SLICES, Share
from projections.records import EventRecord
from projections.tracking import Target


def _targets() -> list[Target]:
    return [Target(p, 2) for p in PROJECTIONS]


def _load(group_targets: list[Target], shares: dict[str, Share]) -> float:
    total = 0.0
    for t in group_targets:
        share = shares.get(t.name)
        part = 1.0 if share is None else (share.end - share.first) / SLICES
        total += COST[t.name] * part
    return total


def test_the_audit_trail_is_dealt_out_so_both_processes_carry_about_the_same_cost() -> None:
    plan = balanced(_targets(), 2)

    assert len(plan) == 2
    low, high = sorted((g.shares[AUDIT_TRAIL.name] for g in plan), key=lambda s: s.first)
    assert (low.first, low.end, high.first, high.end) == (0, low.end, low.end, SLICES)
    assert 0 < low.end < SLICES
    loads = [_load(g.targets, g.shares) for g in plan]
    assert abs(loads[0] - loads[1]) < COST[AUDIT_TRAIL.name] / SLICES * 2
    every = {t.name for g in plan for t in g.targets}
    assert every == {p.name for p in PROJECTIONS}


def test_without_a_shareable_read_model_the_groups_stay_whole() -> None:
    plan = balanced([Target(CASE_BOARD, 2), Target(RESOURCE_DIRECTORY, 2)], 2)

    assert [g.shares for g in plan] == [{}, {}]
    assert sorted(len(g.targets) for g in plan) == [1, 1]


def test_one_process_takes_everything_unshared() -> None:
    plan = balanced(_targets(), 1)

    assert len(plan) == 1 and plan[0].shares == {}


def test_shares_of_a_shared_read_model_cover_every_event_once() -> None:
    first, second = Share(0, 21, bits=2), Share(21, SLICES, bits=2)
    records = [EventRecord(*([None] * len(EventRecord._fields)))._replace(position=p)
               for p in range(1, 5_000)]

    mine, theirs = first.owned(records), second.owned(records)

    assert mine and theirs
    assert sorted(r.position for r in mine + theirs) == list(range(1, 5_000))
