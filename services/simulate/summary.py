"""The end of the day in figures a coordinator reads: requests and outcomes, how long people
waited for a volunteer and for a first call, flags and how fast they were acted on, stale
resources caught before use, volunteers on shift more than 12 hours; as text and as JSON."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.simulate.world import World

LONG_DAY_MINUTES = 12 * 60


def percentile(values: list[int], share: float) -> int | None:
    """The nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ranked = sorted(values)
    return ranked[max(0, math.ceil(share * len(ranked)) - 1)]


def spread(values: list[int]) -> dict[str, int | None]:
    return {"count": len(values), "p50_minutes": percentile(values, 0.5),
            "p90_minutes": percentile(values, 0.9)}


@dataclass
class Summary:
    """A simulated day, summed up."""

    seed: int
    hours: float
    started_at: datetime
    clock: str
    """'told' when the server's business time followed the day, else 'system'."""
    speed_asked: float
    speed_reached: float
    cases: dict[str, int]
    to_volunteer: dict[str, int | None]
    to_first_contact: dict[str, int | None]
    flags: dict[str, Any]
    stale_resources_caught: dict[str, int]
    volunteers: dict[str, Any]
    happenings: dict[str, int]
    commands: dict[str, Any]
    board: dict[str, Any] = field(default_factory=dict)
    """The server's own board counts at the end (GET /board/counts), when read."""

    def as_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "hours": self.hours,
                "started_at": self.started_at.isoformat(), "clock": self.clock,
                "speed": {"asked": self.speed_asked, "reached": round(self.speed_reached, 1)},
                "cases": self.cases, "to_volunteer": self.to_volunteer,
                "to_first_contact": self.to_first_contact, "flags": self.flags,
                "stale_resources_caught": self.stale_resources_caught,
                "volunteers": self.volunteers, "happenings": self.happenings,
                "commands": self.commands, "board": self.board}


def summarize(world: World, *, seed: int, minutes: int, speed_asked: float,
              speed_reached: float) -> Summary:
    tally = world.tally
    opened = [c for c in world.cases.values() if c.opened]
    outcomes = Counter(c.outcome for c in opened if c.outcome is not None)
    workers = [m for m in world.members.values() if m.shifts]
    long_days = sorted((m.longest_day(minutes) for m in workers), reverse=True)
    stale = dict(sorted(tally.stale_caught.items()))
    return Summary(
        seed=seed, hours=minutes / 60, started_at=world.start,
        clock="told" if world.told_clock else "system", speed_asked=speed_asked,
        speed_reached=speed_reached,
        cases={"opened": len(opened), "evacuated": outcomes["evacuated"],
               "stays": outcomes["stays"], "lost_contact": outcomes["lost_contact"],
               "referred_elsewhere": outcomes["referred_elsewhere"],
               "still_open": len(opened) - sum(outcomes.values()),
               "never_reached_a_volunteer": sum(c.to_volunteer is None for c in opened)},
        to_volunteer=spread(tally.to_volunteer), to_first_contact=spread(tally.to_contact),
        flags={"raised": tally.flags_seen, "acted_on": len(tally.flag_reactions),
               **{k: v for k, v in spread(tally.flag_reactions).items() if k != "count"}},
        stale_resources_caught={"total": sum(stale.values()), **stale},
        volunteers={"worked_shifts": len(workers),
                    "over_12_hours": sum(d > LONG_DAY_MINUTES for d in long_days),
                    "longest_day_hours": round(long_days[0] / 60, 1) if long_days else 0.0},
        happenings=dict(sorted((k, v) for k, v in tally.events.items() if v)),
        commands={"sent": sum(tally.sent.values()), "refused": sum(tally.refused.values()),
                  "refused_by_rule": dict(tally.refused.most_common()),
                  "unreached": tally.unreached})


def _minutes(spread_of: dict[str, Any]) -> str:
    if not spread_of.get("p50_minutes") and spread_of.get("p50_minutes") != 0:
        return "none yet"
    return f"p50 {spread_of['p50_minutes']} min, p90 {spread_of['p90_minutes']} min"


def lines(summary: Summary) -> list[tuple[str, str]]:
    """The summary as (label, text) rows, in the order a coordinator reads them."""
    c, f, v = summary.cases, summary.flags, summary.volunteers
    stale = summary.stale_resources_caught
    reasons = ", ".join(f"{k} {n}" for k, n in stale.items() if k != "total")
    refused = ", ".join(f"{k} {n}" for k, n in
                        list(summary.commands["refused_by_rule"].items())[:6])
    rows = [
        ("Requests for help", f"{c['opened']} opened: {c['evacuated']} evacuated, "
         f"{c['stays']} kept safe where they are, {c['lost_contact']} lost contact, "
         f"{c['referred_elsewhere']} referred elsewhere; {c['still_open']} still open"),
        ("To a volunteer", f"{_minutes(summary.to_volunteer)} from the request "
         f"({c['never_reached_a_volunteer']} still waiting)"),
        ("To a first call", f"{_minutes(summary.to_first_contact)} from the request"),
        ("Flags", f"{f['raised']} raised, {f['acted_on']} checked and cleared: "
         + (f"p50 {f['p50_minutes']} min, p90 {f['p90_minutes']} min after raised"
            if f.get("p50_minutes") is not None else "none yet")),
        ("Stale resources caught", f"{stale['total']} refused before use"
         + (f" ({reasons})" if reasons else "")),
        ("Volunteers over 12 hours", f"{v['over_12_hours']} of {v['worked_shifts']} on shift "
         f"(longest day {v['longest_day_hours']} h)"),
        ("The day", ", ".join(f"{n} {k}" for k, n in summary.happenings.items()) or "quiet"),
        ("Commands", f"{summary.commands['sent']:,} sent, {summary.commands['refused']} "
         f"refused" + (f" ({refused})" if refused else "")
         + f", {summary.commands['unreached']} never reached the server"),
        ("Clock", "told: the server's business time followed the simulated day"
         if summary.clock == "told" else "system: the server stamped real time (start it "
         "with CORRIDOR_CLOCK=told to let simulated hours pass)"),
        ("Speed", f"{summary.speed_reached:,.0f}x real time (asked {summary.speed_asked:,.0f}x)"),
    ]
    if summary.board:
        by_status = summary.board.get("by_status", {})
        rows.append(("On the board now", f"{by_status.get('unassigned', 0)} unassigned, "
                     f"{by_status.get('assigned', 0)} assigned, "
                     f"{by_status.get('closed', 0)} closed; "
                     f"{summary.board.get('flagged', 0)} flagged"))
    return rows
