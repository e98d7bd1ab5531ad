"""The reactions' index holds what is live, not what happened: closed cases, ended holds and
withdrawn resources leave it, so its size does not grow with the network's history."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain_builders import fact_checker, meta, open_case, reported, transport, volunteer

from domain.seats import close_case, confirm_seats, hold_seats, release_seats
from domain.vocabulary import CaseOutcome, HoldEnd, ResourceKind
from services.runtime.reactions import PolicyIndex
from services.runtime.writer import is_retired


def applied(index: PolicyIndex, *aggregates: Any) -> None:
    """Apply the aggregates' new events (each aggregate's in order) and mark them seen."""
    for aggregate in aggregates:
        for event in aggregate.collect_events():
            index.apply(event)


def a_days_cases(index: PolicyIndex, car: Any, shelter: Any, count: int) -> list[Any]:
    """Cases opened, taken, relying on a transport and a shelter, with seats held (half
    confirmed, a few let go): all still open."""
    cases = []
    for n in range(count):
        case, worker = open_case(), volunteer()
        case.take(volunteer=worker, meta=meta())
        case.arrange_transport(resources=[car, shelter], description="car to Lviv", by=worker,
                               meta=meta())
        hold = case.id  # any id unique per case
        hold_seats(case=case, transport=car, hold_id=hold, by=worker, meta=meta())
        if n % 2:
            confirm_seats(case=case, transport=car, hold_id=hold, by=worker, meta=meta())
        elif n % 5 == 0:
            release_seats(case=case, transport=car, hold_id=hold, why=HoldEnd.RELEASED,
                          by=worker, meta=meta())
        applied(index, case, car)
        cases.append((case, worker))
    return cases


def closed(index: PolicyIndex, car: Any, cases: Iterable[Any]) -> None:
    for case, worker in cases:
        close_case(case=case, transports={car.id: car}, outcome=CaseOutcome.STAYS,
                   by=worker, meta=meta())
        applied(index, case, car)


def test_closing_every_case_leaves_the_index_at_its_size_before() -> None:
    index = PolicyIndex()
    car, shelter = transport(seats=500), reported(ResourceKind.SHELTER)
    shelter.verify(by=fact_checker(), meta=meta())
    applied(index, car, shelter)
    before = index.size()

    cases = a_days_cases(index, car, shelter, 60)
    grown = index.size()
    closed(index, car, cases)

    assert grown > before + 60 * 4  # relying, resources, assignee, holds per open case
    assert index.size() == before
    assert not index.relying and not index.assigned and not index.holds


def test_withdrawn_reports_leave_the_index_with_their_reporter() -> None:
    index = PolicyIndex()
    reporter = volunteer()
    standing = reported(ResourceKind.SHELTER, reporter=reporter)
    applied(index, standing)
    before = index.size()
    gone = [reported(ResourceKind.SHELTER, reporter=reporter) for _ in range(20)]
    for n, resource in enumerate(gone):
        if n % 2:
            resource.retract(reason="a fake", by=fact_checker(), meta=meta())
        else:
            resource.destroy(reason="shelled", by=fact_checker(), meta=meta())
        applied(index, resource)

    assert index.size() == before
    assert set(index.reports_by(reporter.id)) == {standing.id}


def test_the_writer_lets_closed_cases_and_withdrawn_resources_leave_its_cache() -> None:
    case, worker = open_case(), volunteer()
    case.take(volunteer=worker, meta=meta())
    shelter, gone = reported(ResourceKind.SHELTER), reported(ResourceKind.SHELTER)
    gone.destroy(reason="shelled", by=fact_checker(), meta=meta())
    assert not is_retired(case) and not is_retired(shelter) and not is_retired(worker)

    case.record_cannot_leave(reason="stays with her mother", by=worker, meta=meta())
    close_case(case=case, transports={}, outcome=CaseOutcome.STAYS, by=worker, meta=meta())

    assert is_retired(case) and is_retired(gone)
