"""What the server helps decide with, where it has it: humanitarian corridors open by day
(opening windows, issue 22: /resources/set-window; one closes after shelling, and the cases
relying on it are flagged by the tick), and suggestions of who should take a case and which
transport fits it (GET /cases/{case_id}/suggestions)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from services.simulate.stories.common import Plot, Steps
from services.simulate.world import CaseFile, Member, ResourceFile, World

WINDOWS = "/resources/set-window"
SUGGESTIONS = "/cases/{case_id}/suggestions"
DAYLIGHT = {"daily_from": "07:00", "daily_until": "19:00", "time_zone": "Europe/Kyiv"}
"""A humanitarian corridor's hours: open by day, on Kyiv's clock."""
KYIV = ZoneInfo("Europe/Kyiv")


def corridors(world: World) -> bool:
    """True when the server knows corridors and their windows."""
    return world.can(WINDOWS)


def window_of(world: World, resource: ResourceFile) -> dict[str, Any]:
    """The `window` field of a corridor's report."""
    return {"window": DAYLIGHT} if resource.kind == "corridor" and corridors(world) else {}


def open_now(p: Plot, corridor: ResourceFile) -> bool:
    """What a volunteer knows of a corridor: open by day (until an hour before it closes),
    unless it was closed after shelling."""
    hour = p.world.at(p.now).astimezone(KYIV).hour
    return corridor.status == "available" and 7 <= hour < 18


def close_corridor(p: Plot, checker: Member, corridor: ResourceFile) -> Steps:
    """After shelling the corridor closes now: the cases relying on it are flagged (the tick
    flags what relies on a window that closed). True when it was closed."""
    answer = yield from p.do("close_corridor", WINDOWS, checker.actor, resource_id=corridor.id,
                             window={"closes_at": p.world.at(p.now).isoformat()})
    if answer.ok:
        corridor.status = "closed"
        p.world.tally.events["corridors closed after shelling"] += 1
    return answer.ok


def reopen_corridor(p: Plot, checker: Member, corridor: ResourceFile) -> Steps:
    """Back to its daylight hours once the road is cleared."""
    answer = yield from p.do("reopen_corridor", WINDOWS, checker.actor, resource_id=corridor.id,
                             window=DAYLIGHT)
    if answer.ok:
        corridor.status = "available"


def suggested(p: Plot, case: CaseFile, actor: Member, **wanted: Any) -> Steps:
    """The server's suggestions for the case (None when it has none or was not read)."""
    if not p.world.can(SUGGESTIONS):
        return None
    answer = yield from p.look(f"/cases/{case.id}/suggestions", actor.actor,
                               min_position=case.position, **wanted, **p.world.as_of(p.now))
    return answer.body if answer.ok and isinstance(answer.body, dict) else None


def first_known(world: World, rows: Iterable[dict[str, Any]], key: str,
                ) -> list[Member | ResourceFile]:
    """The suggested volunteers or resources the network's notes know, in the server's
    order."""
    known: list[Member | ResourceFile] = []
    for row in rows:
        found = world.members.get(UUID(row[key])) or world.resources.get(UUID(row[key]))
        if found is not None:
            known.append(found)
    return known
