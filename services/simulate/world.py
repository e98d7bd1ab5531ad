"""What the simulated network knows: its people, cases and resources as the simulator's own
notes (never read from corridor's internals), and the tallies the summary is made of."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from services.simulate.commands import Actor
from services.simulate.engine import Process
from services.simulate.people import Person

MAX_CASES = 10
"""Cases a volunteer holds at once before the dispatcher passes them by."""


@dataclass(eq=False)
class Member:
    """A registered member of the network (volunteer, supervisor, fact-checker, psychologist,
    or a troll who joined as a volunteer)."""

    id: UUID
    name: str
    roles: tuple[str, ...]
    time_zone: str
    languages: tuple[str, ...]
    trained: bool = False
    shifts: list[tuple[int, int | None]] = field(default_factory=list)
    """(start minute, end minute or None while running) of each shift."""
    leaving: bool = False
    """The shift is ending: hand back cases nobody has set off on yet."""
    standing: str = "active"
    cases: set[UUID] = field(default_factory=set)
    _actor: Actor | None = field(default=None, repr=False)

    @property
    def actor(self) -> Actor:
        if self._actor is None or self._actor.roles != self.roles:
            self._actor = Actor(str(self.id), self.roles)
        return self._actor

    @property
    def on_shift(self) -> bool:
        return bool(self.shifts) and self.shifts[-1][1] is None

    def started_shift(self, minute: int) -> None:
        self.shifts.append((minute, None))

    def ended_shift(self, minute: int) -> None:
        if self.on_shift:
            self.shifts[-1] = (self.shifts[-1][0], minute)

    def longest_day(self, until: int) -> int:
        """The most minutes on shift in any one day (minutes 0-1439, 1440-2879, ...) of the
        simulated time up to `until`."""
        worked: dict[int, int] = {}
        for start, end in self.shifts:
            end = until if end is None else min(end, until)
            while start < end:
                day_end = (start // 1440 + 1) * 1440
                worked[start // 1440] = worked.get(start // 1440, 0) + min(end, day_end) - start
                start = day_end
        return max(worked.values(), default=0)

    def can_take(self) -> bool:
        return (self.trained and self.on_shift and not self.leaving
                and self.standing == "active" and len(self.cases) < MAX_CASES)


@dataclass(eq=False)
class Flag:
    """A flag on a case, as the volunteer saw it on the board."""

    flag_id: UUID
    reason: str
    resource_id: UUID | None
    raised: int
    """Minute it was raised (the board's time on a told clock, else when it was seen)."""


@dataclass(eq=False)
class CaseFile:
    """One request for help as the network follows it."""

    id: UUID
    person_id: UUID
    region: str
    destination: str
    urgent: bool
    household: int
    mobility: bool
    medical: bool
    languages: tuple[str, ...]
    requested: int
    """Minute the person asked for help (the intake bot opened the case)."""
    opened: bool = False
    asked_before: bool = False
    """The same person asked before (another channel): a supervisor may merge this case."""
    assignee: Member | None = None
    to_volunteer: int | None = None
    """Minutes from the request until a volunteer held the case (first time)."""
    to_contact: int | None = None
    """Minutes from the request until a volunteer first spoke with the person."""
    stage: str = "waiting"
    relies_on: set[UUID] = field(default_factory=set)
    flags: dict[UUID, Flag] = field(default_factory=dict)
    cleared: set[UUID] = field(default_factory=set)
    """Flags already checked and cleared (a board read that lags still shows them)."""
    outcome: str | None = None
    version: int = 0
    position: int = 0
    support_group: bool = False
    needs: frozenset[str] = frozenset()
    """What the household brings besides adults (children, pets, mobility): a transport
    must take all of it."""
    hold: tuple[UUID, ResourceFile] | None = None
    """(hold id, transport) of the seats held for the household, while held."""
    story: Process | None = None
    """The case's story, woken when its volunteer sees a flag on the board."""


@dataclass(eq=False)
class ResourceFile:
    """A reported resource as the network knows it."""

    id: UUID
    kind: str
    region: str
    reporter: Member
    capacity: int | None = None
    occupancy: int = 0
    contact_id: UUID | None = None
    """The contact person's id (a driver, a host), whose data may be erased on request."""
    details: str = ""
    seats: int | None = None
    """Seats a transport offers (None: no seats stated)."""
    accepts: frozenset[str] = frozenset()
    taken: int = 0
    """Seats held or confirmed on it, as far as the notes go."""
    fake: bool = False
    verified: bool = False
    status: str = "available"
    withdrawn: bool = False
    """Retracted, rejected or destroyed: never usable again."""
    checked: int = -10_000
    """Minute a fact-checker last verified (or decided to let go) it."""

    def learn(self, reason: str) -> None:
        """The server refused to hand it out, saying why: note it until it is checked again."""
        if reason in ("expired", "unverified", "rejected"):
            self.verified = False
        elif reason in ("retracted", "destroyed"):
            self.withdrawn = True
        elif reason == "full" and self.capacity is not None:
            self.occupancy = self.capacity
        else:
            self.status = reason

    @property
    def usable(self) -> bool:
        """As far as the network's notes go (the server may know better: stale)."""
        full = self.capacity is not None and self.occupancy >= self.capacity
        return self.verified and self.status == "available" and not self.withdrawn and not full


@dataclass
class Tally:
    """What happened, for the coordinator's summary."""

    outcomes: Counter[str] = field(default_factory=Counter)
    to_volunteer: list[int] = field(default_factory=list)
    to_contact: list[int] = field(default_factory=list)
    flags_seen: int = 0
    flag_reactions: list[int] = field(default_factory=list)
    """Minutes from a flag being raised until its volunteer acted on it."""
    stale_caught: Counter[str] = field(default_factory=Counter)
    """Advice or transport refused because a resource was no longer usable, by reason."""
    events: Counter[str] = field(default_factory=Counter)
    """Things that happened in the story: shelling, routes bombed, trolls banned, ..."""
    sent: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    """Refusals by rule (or HTTP status when none is named)."""
    unreached: int = 0
    """Commands the server could not be reached for (network errors after retries)."""


@dataclass
class World:
    """The network's notes: members, cases, resources, and the day's clock."""

    start: datetime
    """The moment minute 0 stands for (the server's business time when told by ticks)."""
    rng: random.Random
    members: dict[UUID, Member] = field(default_factory=dict)
    cases: dict[UUID, CaseFile] = field(default_factory=dict)
    resources: dict[UUID, ResourceFile] = field(default_factory=dict)
    tally: Tally = field(default_factory=Tally)
    personal: set[str] = field(default_factory=set)
    """Every personal value the simulator sent (names, phones, addresses, health, notes,
    free text): the privacy checks look for each of them in plaintext."""
    surge: dict[str, int] = field(default_factory=dict)
    """Region -> minute until which requests from it surge (after shelling)."""
    working: dict[UUID, Member] = field(default_factory=dict)
    """Members on shift now, in the order they started."""
    told_clock: bool = False
    """True when the server's business time follows the ticks (minute m = start + m)."""
    reads: bool = True
    """False in the benchmark's closed loop: stories then act on their own notes."""
    capabilities: frozenset[str] = frozenset()
    """The command paths the server offers (from its OpenAPI document): stories use a
    capability that came later (seats, ...) only where the server has it."""
    partners: list[UUID] = field(default_factory=list)
    """Partner organisations registered (cases are referred to them)."""
    asked: list[Person] = field(default_factory=list)
    """People who asked for help: a few ask again in another channel."""

    def can(self, path: str) -> bool:
        """True when the server takes the command at `path` (e.g. /cases/hold-seats)."""
        return path in self.capabilities

    def at(self, minute: int) -> datetime:
        return self.start + timedelta(minutes=minute)

    def as_of(self, minute: int) -> dict[str, str]:
        """The `now` a view is asked for: the simulated moment when the server's clock
        follows the day, else nothing (the server's own time)."""
        return {"now": self.at(minute).isoformat()} if self.told_clock else {}

    def minute_of(self, moment: datetime) -> int:
        return int((moment - self.start).total_seconds() // 60)

    def by_role(self, role: str) -> list[Member]:
        return [m for m in self.members.values() if role in m.roles]

    def on_shift(self, role: str) -> list[Member]:
        return [m for m in self.working.values() if role in m.roles and m.standing == "active"]

    def keep_personal(self, *values: str) -> None:
        self.personal.update(v for v in values if v)

    def usable(self, kind: str, region: str | None = None) -> list[ResourceFile]:
        """Resources of a kind the notes say may be handed out (in a region, else anywhere),
        in report order."""
        found = [r for r in self.resources.values() if r.kind == kind and r.usable]
        near = [r for r in found if r.region == region]
        return near or found

    def dispatch(self, case: CaseFile) -> Member | None:
        """The volunteer who takes the case now: on shift, trained, with room; someone who
        speaks the person's language first, then the least loaded (ties by id)."""
        free = [m for m in self.working.values() if "volunteer" in m.roles and m.can_take()]
        if not free:
            return None
        return min(free, key=lambda m: (not set(m.languages) & set(case.languages),
                                        len(m.cases), str(m.id)))
