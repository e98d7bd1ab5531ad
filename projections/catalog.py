"""The read models corridor keeps, each a pure projection function plus its tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from projections import audit_trail, case_board, referrals, resource_directory, routes, workload
from projections.changes import Change
from projections.records import EventRecord
from projections.schema import Table


@dataclass(frozen=True)
class Projection:
    """One read model: its name, tables and projection function.

    `version` changes whenever `project` or the tables change meaning; a live generation
    built by another version is reported as needing a rebuild.
    """

    name: str
    version: int
    tables: tuple[Table, ...]
    project: Callable[[EventRecord], list[Change]]
    summary: str

    def table(self, name: str) -> Table:
        """The table with this logical name."""
        return next(t for t in self.tables if t.name == name)


CASE_BOARD = Projection("case_board", 5, case_board.TABLES, case_board.project,
                        "open cases, waits, flags, relied-on resources (and their windows), "
                        "seats held, contact overdue and possible duplicates")
AUDIT_TRAIL = Projection("audit_trail", 1, audit_trail.TABLES, audit_trail.project,
                         "every event of every stream, in order")
VOLUNTEER_WORKLOAD = Projection("volunteer_workload", 3, workload.TABLES, workload.project,
                                "cases (and which are overdue for contact), shifts, standing "
                                "and seat holds per volunteer")
RESOURCE_DIRECTORY = Projection("resource_directory", 4, resource_directory.TABLES,
                                resource_directory.project,
                                "verified resources on offer, seats on transports, opening "
                                "windows, expiring verifications")

ROUTE_OUTCOMES = Projection("route_outcomes", 1, routes.TABLES, routes.project,
                            "journeys per route, corridor, crossing and checkpoint, and the "
                            "last incident on each")
REFERRALS = Projection("referrals", 1, referrals.TABLES, referrals.project,
                       "partner organisations, and each referral's consent, status and "
                       "packages handed out")

PROJECTIONS: tuple[Projection, ...] = (CASE_BOARD, AUDIT_TRAIL, VOLUNTEER_WORKLOAD,
                                       RESOURCE_DIRECTORY, ROUTE_OUTCOMES, REFERRALS)
BY_NAME = {p.name: p for p in PROJECTIONS}


def select(names: Sequence[str] | None) -> tuple[Projection, ...]:
    """The named projections (all when `names` is empty), or KeyError naming the unknown."""
    if not names:
        return PROJECTIONS
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise KeyError(f"unknown projections: {', '.join(unknown)}; "
                       f"known: {', '.join(BY_NAME)}")
    return tuple(BY_NAME[n] for n in names)
